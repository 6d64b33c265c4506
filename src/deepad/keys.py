"""Every cache key of the package: what makes a result, a trained network or a run's scores
reusable. One owner, so the rules are stated once:

- `run_key(cfg)`, a run's result (`metrics.json`): the resolved config less paths, logger and
  display keys; the code; the library versions; for a folder, its files' fingerprint.
- `network_key(cfg, x)`, a trained network (`cache/models/<model>-<key>.pt`): the images; `model`
  less scoring-only keys; `trainer` less display keys; the seed; the libraries; the training code.
- `scores_path(cache, cfg, x)`, a run's scores for ensembles (`cache/scores/<features>-<key>.npy`):
  the images; `model`, `features`, `detector`, `trainer`; the seed; the libraries; the code.

"Code" is `code_hash`: the syntax tree of the modules that compute, without comments,
docstrings or layout, so editing prose keeps every key and editing arithmetic changes them.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from deepad.data import folders
from deepad.store import library_versions

PACKAGE = Path(__file__).resolve().parent
MODELS = PACKAGE / "models"  # the training code: a network is keyed by it alone
DISPLAY = {"trainer": ("progress_bar",), "dataset": ("exclude",)}  # never change a number
NOT_RUN = ("paths", "logger", "rerun", "threads", "profile")  # top-level keys outside a result
SCORING_ONLY = ("a2_layers",)  # model keys that change the features, not the trained network
SCORE_GROUPS = ("model", "features", "detector", "trainer")  # with seed and images: the scores


def _digest(obj: object) -> str:
    blob = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _without_docstrings(tree: ast.AST) -> ast.AST:
    """The tree less every module, class and function docstring (comments are never in it)."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        scoped = isinstance(
            node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef
        )
        if scoped and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def source_digest(text: str) -> str:
    """What a module computes, as text: its syntax tree without docstrings, positions or comments."""
    tree = _without_docstrings(ast.parse(text))
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


@functools.cache
def code_hash(root: Path = PACKAGE) -> str:
    """Hash of the code under `root` (default: the package; `MODELS` for a network): a result or a
    network is reused only if made by code that computes the same, whatever its comments say."""
    h = hashlib.sha256()
    for path in sorted(Path(root).rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(source_digest(path.read_text()).encode() + b"\0")
    return h.hexdigest()[:16]


def data_key(x: torch.Tensor) -> str:
    """Hash of the images a network is trained on (their float32 bytes and shape)."""
    h = hashlib.sha256(str(tuple(x.shape)).encode())
    h.update(x.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _without_display(tree: dict) -> dict:
    """A resolved config tree less its display-only keys (`DISPLAY`), in place."""
    for group, keys in DISPLAY.items():
        for k in keys:
            tree.get(group, {}).pop(k, None)
    return tree


def _groups(cfg: DictConfig, names: tuple[str, ...]) -> dict:
    """These config groups, resolved, less their display-only keys."""
    return _without_display({k: OmegaConf.to_container(cfg[k], resolve=True) for k in names})


def run_key(cfg: DictConfig) -> str:
    """The key of one run's result: the resolved config less what never changes a number, the
    package's code, the library versions and, for a folder, its files' fingerprint."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    for k in NOT_RUN:
        resolved.pop(k, None)
    _without_display(resolved)
    files = folders.fingerprint(cfg.dataset)
    resolved.update(code=code_hash(), libraries=library_versions(), files=files)
    return _digest(resolved)


def network_key(cfg: DictConfig, x: torch.Tensor) -> str:
    """The key of a trained network: the images, the model and trainer configs (less scoring-only
    keys), the seed, the library versions and the training code (`deepad/models/`)."""
    parts = _groups(cfg, ("model", "trainer"))
    for k in SCORING_ONLY:  # read when features are extracted, not when training
        parts["model"].pop(k, None)
    parts.update(seed=int(cfg.seed), libraries=library_versions(), data=data_key(x))
    parts["code"] = code_hash(MODELS)
    return _digest(parts)


def network_path(cache: str | Path, cfg: DictConfig, key: str) -> Path:
    """Where the network of this key is cached under a cache folder."""
    return Path(cache) / "models" / f"{cfg.model.name}-{key}.pt"


def curves_path(network: Path) -> Path:
    """The per-epoch training curves kept beside a cached network."""
    return network.with_suffix(".curves.json")


def scores_path(cache: str | Path, cfg: DictConfig, x: torch.Tensor) -> Path:
    """Where a run's scores of these images are kept for ensembles: keyed by the model, features,
    detector and trainer configs, the seed, the images, the library versions and the package's
    code, so an ensemble reuses a member's run, never a stale one."""
    parts = _groups(cfg, SCORE_GROUPS)
    parts.update(seed=int(cfg.seed), libraries=library_versions(), data=data_key(x))
    parts["code"] = code_hash()
    return Path(cache) / "scores" / f"{cfg.features.name}-{_digest(parts)}.npy"
