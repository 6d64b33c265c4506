"""Check a composed run config before any work: unknown keys (typos added with `+`), values out
of range, paths that cannot be written. Each problem is one `ConfigError` line that names the key,
the value and what is allowed; `experiments/run.py` and `deepad score` print it and exit 2.

The schema is the config tree itself: the keys a group may hold are those of its option files of
the same name in conf/<group>/ (conf/config.yaml and conf/profile/ for the top level), so a new
option file extends it and nothing is declared twice.
"""

from __future__ import annotations

import functools
import numbers
import os
import tempfile
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from deepad.config import CONF, check_method, choices

GROUPS = ("dataset", "model", "features", "detector", "trainer", "logger")
CLASSES = {"mnist": 10, "fashion_mnist": 10, "cats_dogs": 2, "synthetic": 10}  # labels 0..n-1


class ConfigError(ValueError):
    """A config key or value a run cannot use; the message names the key, the value and the fix."""


def _union(trees: list) -> dict | None:
    """Merge the key trees of several option files: a dict where any of them has a dict."""
    dicts = [t for t in trees if isinstance(t, dict)]
    if not dicts:
        return None
    keys = sorted({k for d in dicts for k in d})
    return {k: _union([d[k] for d in dicts if k in d]) for k in keys}


def _load(path: Path) -> dict:
    """An option file's keys, its parents' (`defaults: [mnist, _self_]`) merged in."""
    conf = OmegaConf.load(path)
    parents = [d for d in conf.pop("defaults", []) if isinstance(d, str) and d != "_self_"]
    conf = OmegaConf.merge(*[OmegaConf.load(path.parent / f"{d}.yaml") for d in parents], conf)
    tree = OmegaConf.to_container(conf, resolve=False)
    tree.pop("defaults", None)
    return tree


@functools.cache
def group_schema(group: str, name: str) -> dict:
    """The keys a `group` config named `name` may hold: the union of the option files of that name
    (clutter_mnist and mnist are both `mnist`), or of every option file if none has the name."""
    trees = [_load(p) for p in sorted((CONF / group).glob("*.yaml"))]
    named = [t for t in trees if t.get("name") == name]
    if group == "logger":  # experiment files set logger.group / tags, read or not (logger=none)
        return _union(trees)
    return _union(named or trees)


@functools.cache
def _top() -> dict:
    top = _load(CONF / "config.yaml")
    top.pop("hydra", None)
    profiles = [_load(p) for p in sorted((CONF / "profile").glob("*.yaml"))]
    top["profile"] = _union([p.get("profile") for p in profiles])
    top.update({k: None for p in profiles for k in p if k not in ("profile", *top)})
    return top


def schema(cfg: DictConfig) -> dict:
    """The keys this run config may hold, as a tree (None = a leaf, any value)."""
    tree = dict(_top())
    for group in GROUPS:
        node = cfg.get(group)
        tree[group] = group_schema(group, str(node.get("name")) if node is not None else "")
    return tree


def _unknown_keys(cfg: DictConfig, tree: dict, prefix: str = "") -> None:
    for key in cfg:
        name = f"{prefix}{key}"
        if key not in tree:
            raise ConfigError(
                f"unknown key {name} (a typo?); {prefix.rstrip('.') or 'the config'} has the keys: "
                + ", ".join(sorted(tree))
            )
        node = OmegaConf.select(cfg, str(key), throw_on_missing=False)
        if isinstance(tree[key], dict) and isinstance(node, DictConfig):
            _unknown_keys(node, tree[key], name + ".")


def _value(cfg: DictConfig, key: str):
    """The value at a dotted key; a mandatory value left as ??? is a ConfigError."""
    parent, _, leaf = key.rpartition(".")
    node = OmegaConf.select(cfg, parent, throw_on_missing=False) if parent else cfg
    if isinstance(node, DictConfig) and leaf in node.keys() and OmegaConf.is_missing(node, leaf):
        raise ConfigError(f"{key} is not set: {_HINTS.get(key, 'give it a value')}")
    return OmegaConf.select(cfg, key)


_HINTS = {
    "dataset.root": "give the folder of images, e.g. dataset.root=/path/to/images",
    "dataset.nominal": "give the nominal class names, e.g. dataset.nominal=[daisy,valley]",
}


def _whole(cfg: DictConfig, key: str, low: int, allow_none: bool = False, what: str = "") -> None:
    value = _value(cfg, key)
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        extra = " or null" if allow_none else ""
        raise ConfigError(
            f"{key}={value!r}: need a whole number >= {low}{extra}" + (f" ({what})" if what else "")
        )


def _number(cfg: DictConfig, key: str, low: float, high: float, what: str = "") -> None:
    value = _value(cfg, key)
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and low <= value <= high
    if not ok:
        raise ConfigError(
            f"{key}={value!r}: need a number from {low} to {high}" + (f" ({what})" if what else "")
        )


def _classes(cfg: DictConfig, key: str, n: int) -> None:
    value = _value(cfg, key)
    values = list(value) if OmegaConf.is_list(value) else [value]
    bad = [v for v in values if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v < n]
    if bad or not values:
        raise ConfigError(
            f"{key}={OmegaConf.to_container(value) if OmegaConf.is_list(value) else value!r}: "
            f"{cfg.dataset.get('source') or cfg.dataset.name}'s classes are the whole numbers "
            f"0..{n - 1}, "
            f"given as a list, e.g. {key}=[7]"
        )


def check_dataset(cfg: DictConfig) -> None:
    ds = cfg.dataset
    name = ds.get("source") or ds.name  # clutter_mnist is built from mnist
    if ds.get("fit_split") not in (None, "train", "test", "all"):
        raise ConfigError(
            f"dataset.fit_split={ds.fit_split}: choose train, test or all (the split the network "
            "and detector are fit on), or null to fit on the scored set"
        )
    if name in ("folder", "image_folder"):
        root = _value(cfg, "dataset.root")
        if not Path(str(root)).is_dir():
            raise ConfigError(f"dataset.root={root}: no such folder; give a folder of images")
        _whole(cfg, "dataset.size", 1, what="images are resized to size x size")
        _whole(cfg, "dataset.max_pixels", 1, allow_none=True)
    if name == "image_folder":
        _value(cfg, "dataset.nominal")
    if name in CLASSES:
        _classes(cfg, "dataset.nominal", CLASSES[name])
        if ds.get("anomaly") is not None:
            _classes(cfg, "dataset.anomaly", CLASSES[name])
    if name == "folder" and ds.get("contamination") is not None:
        raise ConfigError(
            f"dataset.contamination={ds.contamination}: a folder (dataset=folder) is ranked as it "
            "is, with no anomalies drawn into it; leave dataset.contamination unset (null)"
        )
    if name != "folder":
        _number(cfg, "dataset.contamination", 0.0, 0.5, "p = anomalies / (nominal + anomalies)")
        _whole(cfg, "dataset.cap", 2, allow_none=True, what="nominal images kept")
    if ds.get("clutter"):
        _number(cfg, "dataset.clutter.share", 0.0, 1.0, "share of nominal images given clutter")
        _number(cfg, "dataset.clutter.strength", 0.0, 1.0, "background brightness")


def check_paths(cfg: DictConfig) -> None:
    """Every folder a run writes to can be made and written: else one line naming the path."""
    places = {"paths.output_dir": cfg.paths.output_dir, "paths.cache": cfg.paths.cache}
    if cfg.logger.name == "wandb":
        places["logger.dir"] = cfg.logger.dir
    for key, place in places.items():
        writable(Path(str(place)), key)


def writable(path: Path, key: str) -> Path:
    """Make `path` (a folder) if needed and check a file can be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".deepad-write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        block = next((p for p in [path, *path.parents] if p.exists()), None)
        why = (
            f"{block} is a file, not a folder"
            if block is not None and not block.is_dir()
            else (err.strerror or str(err)).lower()
        )
        raise ConfigError(
            f"{key}={path}: cannot write there ({why}); choose another folder"
        ) from err
    return path


def check(cfg: DictConfig) -> None:
    """Every check above, in the order a user would fix them: keys, values, paths."""
    _unknown_keys(cfg, schema(cfg))
    _whole(cfg, "seed", 0)
    _whole(cfg, "threads", 1, allow_none=True)
    _whole(cfg, "trainer.max_epochs", 1)
    _whole(cfg, "trainer.batch_size", 1)
    if "batch_size" in cfg.model:  # a model's own batch size (null: the trainer's)
        _whole(cfg, "model.batch_size", 1, allow_none=True)
    _number(cfg, "trainer.val_fraction", 0.0, 0.9)
    if cfg.model.get("stop_patience") is not None:
        _whole(cfg, "model.stop_patience", 0)
        _number(cfg, "model.stop_min_delta", 0.0, 1.0, "relative improvement per epoch")
    if cfg.model.get("stop_min_epochs") is not None:
        _whole(cfg, "model.stop_min_epochs", 0)
    try:
        check_method(cfg)  # a named method runs its own model, features and detector
    except ValueError as err:
        raise ConfigError(str(err)) from None
    check_ensemble(cfg)
    check_dataset(cfg)
    check_paths(cfg)


def check_ensemble(cfg: DictConfig) -> None:
    """features=ensemble: every member a method of conf/method/, one weight >= 0 per member."""
    if cfg.features.get("name") != "ensemble":
        return
    members, weights = list(cfg.features.members or []), cfg.features.get("weights")
    known = choices("method")
    for name in members:
        if name not in known or name.startswith("ensemble"):
            raise ConfigError(
                f"features.members: {name!r} is not a method; choose from conf/method/: "
                f"{[k for k in known if not k.startswith('ensemble')]}"
            )
    k = cfg.features.get("member_k")
    if k is not None and not 0 < float(k) < 1:
        raise ConfigError(f"features.member_k={k}: give a share of n between 0 and 1, or null")
    if not members or (weights is not None and len(weights) != len(members)):
        raise ConfigError(
            f"features.members={members}, features.weights={weights}: give at least one member "
            "and, if weights, one weight >= 0 per member (null = equal); the paper's ensemble is "
            "the method: +method=ensemble (Detector(method='ensemble'))"
        )
