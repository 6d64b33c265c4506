"""`Detector`: the paper's scores as an estimator in the scikit-learn / PyOD habit.

    from deepad import Detector
    det = Detector(model="ae_h2o", features="a2", detector="iforest", seed=0).fit(images)
    det.decision_scores_          # (N,) higher = more anomalous, for the images it was fit on
    det.decision_function(new)    # (M,) scores of other images, by the same network and detector
    det.labels_, det.threshold_   # 1 = among the `contamination` share with the highest scores

A network (conf/model/) is trained on the images (unsupervised, as in the proposal's Step 1), each
image becomes a feature (conf/features/: RE, A1, A2, free energy, raw pixels; Step 2) and a
detector scores the features (conf/detector/: Isolation Forest, kNN, LOF, one-class SVM; Step 3).
`pipeline.run` (every run of the paper) and `deepad score` fit a Detector: one path, not two.

Images: uint8 or float arrays / tensors (N, H, W) or (N, C, H, W) (floats in [0, 1], or in
[0, 255] if any value is above 1), a list of image paths, or a folder (read at `size`, grey or RGB).
Nothing is written unless `cache` is a directory: trained networks are then saved there (keyed by
the images, the model, trainer and seed configs and the library versions) beside their per-epoch
training curves; `cache=True` keeps them in this process only and `cache=False` always trains.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sys
import time
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf

from deepad import detect, features, models
from deepad.data import sources
from deepad.models import training
from deepad.store import code_hash, library_versions, write_atomic, write_json, write_npy

# This process's networks, by key, the most recently used last; a sweep worker keeps a few.
_FITTED: OrderedDict[str, tuple[pl.LightningModule, list[dict]]] = OrderedDict()
FITTED_MAX = 8


def compose(
    model: str, features_: str, detector: str, seed: int, overrides: Sequence[str] = ()
) -> DictConfig:
    """The repository's config (conf/) with these groups chosen and any Hydra overrides."""
    choice = [f"model={model}", f"features={features_}", f"detector={detector}", f"seed={seed}"]
    return compose_overrides([*choice, "logger=none", *overrides])


def compose_method(name: str, seed: int, overrides: Sequence[str] = ()) -> DictConfig:
    """The config of a named method (conf/method/NAME.yaml: its model, features and detector)."""
    from deepad.validate import CONF

    if not (CONF / "method" / f"{name}.yaml").is_file():
        known = sorted(p.stem for p in (CONF / "method").glob("*.yaml"))
        raise ValueError(
            f"unknown method {name!r} (conf/method/{name}.yaml); choose one of {known}"
        )
    return compose_overrides([f"+method={name}", f"seed={seed}", "logger=none", *overrides])


def compose_overrides(choice: Sequence[str]) -> DictConfig:
    """The repository's config (conf/) with these Hydra overrides."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from deepad.validate import CONF

    choice = list(choice)
    if GlobalHydra.instance().is_initialized():  # inside a Hydra app or another compose
        return hydra_compose("config", overrides=choice)
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return hydra_compose("config", overrides=choice)


def as_images(images, size: int = 28, grey: bool = True) -> tuple[torch.Tensor, list[str] | None]:
    """Any accepted image input -> (N, C, H, W) float32 in [0, 1], and the file of each image
    (None for arrays)."""
    if isinstance(images, str | Path):
        with sources.listed_once():  # listed once: the stamp and the images agree
            stamp = sources.folder_fingerprint(str(images))  # a changed folder is read again
            arr, files = sources.read_images(str(images), size, grey, "skip", stamp)
        return training.to_tensor(arr), [str(Path(images) / f) for f in files]
    if isinstance(images, list | tuple) and images and isinstance(images[0], str | Path):
        read, kept = sources._load_files([Path(p) for p in images], size, grey, "error")
        return training.to_tensor(np.stack(read)), [str(p) for p in kept]
    if not torch.is_tensor(images):
        images = np.asarray(images)
        images = images if images.flags.writeable else images.copy()  # a shared (read-only) set
    x = torch.as_tensor(images)
    if x.ndim == 3:
        x = x[:, None]  # (N, 1, H, W)
    if x.ndim != 4 or len(x) == 0:
        raise ValueError(
            f"images of shape {tuple(x.shape)}: give (N, H, W) or (N, C, H, W) arrays, a list of "
            "image paths, or a folder"
        )
    if x.dtype == torch.uint8:
        return x.float().div_(255.0), None
    x = x.float()
    top = float(x.max())
    if float(x.min()) < 0 or top > 255:
        raise ValueError(f"image values from {float(x.min())} to {top}: need 0..1 or 0..255")
    return (x / 255.0 if top > 1.0 else x), None


def data_key(x: torch.Tensor) -> str:
    """Hash of the images a network is trained on (their float32 bytes and shape)."""
    h = hashlib.sha256(str(tuple(x.shape)).encode())
    h.update(x.contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


SCORE_GROUPS = ("model", "features", "detector", "trainer")  # with seed and images: the scores
SCORING_ONLY = ("a2_layers",)  # model keys that change the features, not the trained network


class Detector:
    """Train a network on images, turn each image into a feature, score it (module docstring)."""

    def __init__(
        self,
        model: str = "ae_h2o",
        features: str = "re",
        detector: str = "iforest",
        seed: int = 0,
        contamination: float = 0.1,
        cache: bool | str | Path = True,
        size: int = 28,
        grey: bool = True,
        overrides: Sequence[str] = (),
        **keys,
    ) -> None:
        """`keys`: config values, as a dotted key (`**{"model.hidden": [64]}`) or as a dict per
        config group (`trainer={"max_epochs": 10, "batch_size": 64}`); `overrides`: Hydra override
        strings (`["trainer.batch_size=64"]`)."""
        flat = {
            f"{key}.{k}" if isinstance(value, dict) else key: v
            for key, value in keys.items()
            for k, v in (value.items() if isinstance(value, dict) else [(None, value)])
        }  # {"trainer": {"max_epochs": 10}} -> {"trainer.max_epochs": 10}
        extra = [f"{key}={json.dumps(v)}" for key, v in flat.items()]
        quiet = ["trainer.progress_bar=false"]  # a library call prints nothing unless asked
        self.cfg = compose(model, features, detector, seed, [*quiet, *extra, *overrides])
        self.contamination, self.cache, self.size, self.grey = contamination, cache, size, grey
        if not 0.0 < contamination < 0.5:
            raise ValueError(f"contamination={contamination}: need 0 < contamination < 0.5")

    @classmethod
    def from_config(cls, cfg: DictConfig, cache: bool | str | Path = True) -> Detector:
        """A Detector for a composed run config (what `pipeline.run` uses)."""
        det = cls.__new__(cls)
        det.cfg, det.cache, det.size, det.grey = cfg, cache, 28, True
        det.contamination = 0.1
        return det

    # --- the network -----------------------------------------------------------------------------

    def model_key(self, x: torch.Tensor) -> str:
        """Hash of everything a trained network depends on: the images, the model and trainer
        configs, the seed, the library versions and the training code (`deepad/models/`)."""
        parts = {k: OmegaConf.to_container(self.cfg[k], resolve=True) for k in ("model", "trainer")}
        parts["trainer"].pop("progress_bar", None)  # display only
        for k in SCORING_ONLY:  # read when features are extracted, not when training
            parts["model"].pop(k, None)
        parts.update(seed=int(self.cfg.seed), libraries=library_versions(), data=data_key(x))
        parts["code"] = code_hash(Path(models.__file__).resolve().parent)  # the training code
        blob = json.dumps(parts, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def model_path(self, key: str) -> Path:
        """Where the network of this key is cached (`cache` must be a folder)."""
        return Path(self.cache) / "models" / f"{self.cfg.model.name}-{key}.pt"

    def _network(self, x: torch.Tensor) -> tuple[pl.LightningModule, list[dict], str]:
        """The network for these images: from this process, from the cache folder, or trained."""
        cfg = self.cfg
        key = self.model_key_ = self.model_key(x)
        if self.cache is not False and key in _FITTED:
            _FITTED.move_to_end(key)
            module, curves = _FITTED[key]
            return self._scoring(module), curves, "hit"
        pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
        module = models.build(cfg.model, tuple(x.shape[1:]))
        curves: list[dict] = []
        if getattr(module, "pretrained", False):  # frozen weights from a package: nothing to fit
            status = "pretrained"  # its features are kept per image, on disk with a cache folder
            on_disk = isinstance(self.cache, str | Path) and cfg.model.get("feature_cache", True)
            module.net.use_cache(self.cache if on_disk else None)
        elif isinstance(self.cache, str | Path):
            path = self.model_path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path.with_suffix(".lock"), "w") as lock:  # parallel jobs: one trains
                fcntl.flock(lock, fcntl.LOCK_EX)
                status = "hit" if path.is_file() and _load_cached(module, path) else "miss"
                if status == "miss":
                    curves = training.fit(module, x, cfg.trainer, int(cfg.seed))
                    module.net.cpu()
                    write_json(curves_path(path), curves)  # the network last: it marks "done"
                    write_atomic(path, lambda tmp: torch.save(module.net.state_dict(), tmp))
                else:
                    curves = _read_curves(curves_path(path))
        else:
            curves = training.fit(module, x, cfg.trainer, int(cfg.seed))
            module.net.cpu()
            status = "miss"
        module.eval()
        if self.cache is not False:
            _FITTED[key] = (module, curves)
            while len(_FITTED) > FITTED_MAX:
                _FITTED.popitem(last=False)
        return self._scoring(module), curves, status

    def _scoring(self, module: pl.LightningModule) -> pl.LightningModule:
        """This config's scoring-only settings, also on a network shared with another config."""
        for k in SCORING_ONLY:
            if k in self.cfg.model and hasattr(module.net, k):
                setattr(module.net, k, self.cfg.model[k])
        return module

    # --- the estimator ---------------------------------------------------------------------------

    def fit(self, images) -> Detector:
        """Train the network (unless cached), extract features, fit the detector; sets
        `decision_scores_` (N,), `threshold_`, `labels_` (N,), `curves_` (per-epoch training
        curves), `model_cache_` (miss / hit / pretrained / none), `seconds_` (train, features,
        detect) and `files_` (for paths)."""
        x, self.files_ = as_images(images, self.size, self.grey)  # (N, C, H, W)
        variant = self.cfg.features.name
        t0 = time.perf_counter()
        if variant == "ensemble":  # members fit their own networks: time goes to "features"
            self.module_, self.curves_, self.model_key_ = None, [], None
        elif features.NEEDS_MODEL.get(variant, True):
            self.module_, self.curves_, self.model_cache_ = self._network(x)
        else:
            self.module_, self.curves_, self.model_cache_ = None, [], "none"
            self.model_key_ = None
        t1 = time.perf_counter()
        feats = self._features(x)  # (N,) | (N, d)
        self.feature_dim_ = 1 if feats.ndim == 1 else int(feats.shape[1])
        t2 = time.perf_counter()
        self.decision_scores_, self.scorer_ = detect.fit(feats, self.cfg.detector)  # (N,)
        self.seconds_ = {"train": t1 - t0, "features": t2 - t1, "detect": time.perf_counter() - t2}
        named = self.cfg.get("method") not in (None, "ensemble")  # a possible ensemble member
        if named and isinstance(self.cache, str | Path):  # kept for ensembles, with the network
            path = self.scores_path(x)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_npy(path, self.decision_scores_)
        self.ties_ = detect.ties(self.decision_scores_)  # n_distinct_scores, tied_share
        if self.ties_["tied_share"] > 0.5:
            print(
                f"[deepad] warning: {variant} gives {self.ties_['n_distinct_scores']} distinct "
                f"scores for {len(x)} images ({self.ties_['tied_share']:.0%} share a score): tied "
                f"images are ordered by a shuffle drawn with seed={self.cfg.seed}, not by the images",
                file=sys.stderr,
            )
        self.threshold_ = float(np.quantile(self.decision_scores_, 1.0 - self.contamination))
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(np.int64)  # (N,)
        return self

    def scores_path(self, x: torch.Tensor) -> Path:
        """Where this config's scores of these images are kept (`cache` a folder): keyed by the
        model, features, detector and trainer configs, the seed, the images, the library
        versions and the package's code, so an ensemble reuses a member's run, never a stale one."""
        parts = {k: OmegaConf.to_container(self.cfg[k], resolve=True) for k in SCORE_GROUPS}
        parts["trainer"].pop("progress_bar", None)
        parts.update(seed=int(self.cfg.seed), libraries=library_versions(), data=data_key(x))
        parts["code"] = code_hash()
        blob = json.dumps(parts, sort_keys=True, default=str)
        key = hashlib.sha256(blob.encode()).hexdigest()[:16]
        return Path(self.cache) / "scores" / f"{self.cfg.features.name}-{key}.npy"

    def _ensemble(self, x: torch.Tensor) -> np.ndarray:
        """Rank average of the named member methods' scores of x (N,): each member's from the
        score cache when a run of it on the same images left them there, else fit here."""
        spec = self.cfg.features
        self.members_: dict[str, Detector | None] = {}
        self.member_scores_: dict[str, np.ndarray] = {}
        hits = 0
        for name in spec.members:
            member = self._member(name)
            path = member.scores_path(x) if isinstance(self.cache, str | Path) else None
            if path is not None and path.is_file():
                self.member_scores_[name], self.members_[name] = np.load(path), None
                hits += 1
            else:
                self.member_scores_[name] = member.fit(x).decision_scores_
                self.members_[name] = member
        self.model_cache_ = f"members {hits}/{len(spec.members)} cached"
        self._x = x
        weights = None if spec.get("weights") is None else list(spec.weights)
        return detect.rank_average(list(self.member_scores_.values()), weights)  # (N,)

    def _member(self, name: str) -> Detector:
        """An ensemble member: the named method with this run's seed, trainer, cache and input."""
        cfg = compose_method(name, int(self.cfg.seed), self.inherited())
        member = Detector.from_config(cfg, cache=self.cache)
        member.size, member.grey, member.contamination = self.size, self.grey, self.contamination
        return member

    def inherited(self) -> list[str]:
        """Overrides an ensemble's members take from its run: its trainer settings."""
        trainer = OmegaConf.to_container(self.cfg.trainer, resolve=True)
        return [f"trainer.{k}={json.dumps(v)}" for k, v in trainer.items()]

    def _ensemble_scorer(self, x_new: torch.Tensor) -> np.ndarray:
        """New images' ensemble scores: each member's score placed among its scores of the fit
        images (`detect.rank_of`); a member read from the score cache is fit again first."""
        spec, ranks = self.cfg.features, []
        for name, member in self.members_.items():
            if member is None:  # its scores came from the cache: fit it now
                member = self.members_[name] = self._member(name).fit(self._x)
            new = member.scorer_(member._features(x_new))
            ranks.append(detect.rank_of(self.member_scores_[name], new))
        weights = None if spec.get("weights") is None else list(spec.weights)
        return np.average(np.stack(ranks), axis=0, weights=weights)

    def _features(self, x: torch.Tensor) -> np.ndarray:
        if self.cfg.features.name == "ensemble":
            return self._ensemble(x)  # (N,): a score already
        net = self.module_.net if self.module_ is not None else None
        batch = self.cfg.model.get("feature_batch_size", 2048)
        show = bool(self.cfg.trainer.get("progress_bar", False)) and sys.stderr.isatty()
        return features.extract(net, x, self.cfg.features.name, batch, progress=show)

    def decision_function(self, images) -> np.ndarray:
        """Scores of other images by the fitted network and detector: (M,), higher = more anomalous."""
        if not hasattr(self, "scorer_"):
            raise RuntimeError("call fit(images) before decision_function(images)")
        x, _ = as_images(images, self.size, self.grey)
        if self.cfg.features.name == "ensemble":
            return self._ensemble_scorer(x)
        return self.scorer_(self._features(x))

    def predict(self, images) -> np.ndarray:
        """1 where an image's score is above `threshold_`, else 0: (M,)."""
        return (self.decision_function(images) > self.threshold_).astype(np.int64)


def curves_path(model_path: Path) -> Path:
    """The per-epoch training curves kept beside a cached network."""
    return model_path.with_suffix(".curves.json")


def _read_curves(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return []  # a network cached before curves were kept


def _load_cached(module: pl.LightningModule, path: Path) -> bool:
    """Load a cached network's weights into `module`. A truncated, garbled or empty file (or one of
    another shape) is moved aside to `<name>.corrupt`, with a warning naming both paths, and
    False says: train again."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        module.net.load_state_dict(state)
        return True
    except Exception as err:  # noqa: BLE001 - a cache file that does not load is rebuilt
        aside = path.with_name(path.name + ".corrupt")
        os.replace(path, aside)
        why = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
        print(
            f"[deepad] warning: cached model {path} is unreadable ({why}); "
            f"moved it to {aside} and training again",
            file=sys.stderr,
        )
        return False


def train_many(cfgs: Sequence[DictConfig], stack: int = 16) -> dict[str, int]:
    """Train the networks of many run configs ahead of their runs (a sweep's), `stack` at a time
    where they share a shape (`stacked.stackable`: dense autoencoders), each saved under its own
    network key in its cfg.paths.cache, so that every run then loads its network. Networks cached
    already are not trained again (a killed sweep resumes); other models are left to their runs.
    Returns how many networks were trained, found cached and left."""
    from deepad.data import sets
    from deepad.models import stacked

    groups: dict[str, list] = {}
    counts = {"trained": 0, "cached": 0, "left": 0}
    seen = set()
    for cfg in cfgs:
        if not stacked.stackable(cfg.model, cfg.trainer):
            counts["left"] += 1
            continue
        det = Detector.from_config(cfg, cache=Path(cfg.paths.cache))
        x, _ = as_images(sets.build(cfg.dataset).images)  # (N, C, H, W), as fit() sees them
        key = det.model_key(x)
        if key in seen or det.model_path(key).is_file():
            counts["cached"] += key not in seen
            seen.add(key)
            continue
        seen.add(key)
        shape = [OmegaConf.to_container(cfg[k], resolve=True) for k in ("model", "trainer")]
        shape[1].pop("progress_bar", None)
        group = json.dumps([shape, list(x.shape[1:])], sort_keys=True, default=str)
        groups.setdefault(group, []).append((det, key, x))
    for items in groups.values():
        for start in range(0, len(items), stack):
            chunk = items[start : start + stack]  # [(detector, key, images)] of one shape
            nets = []
            for det, _, x in chunk:  # each initialised as Detector._network initialises it
                pl.seed_everything(int(det.cfg.seed), workers=True, verbose=False)
                nets.append(models.build(det.cfg.model, tuple(x.shape[1:])).net)
            first = chunk[0][0].cfg
            states, curves = stacked.fit_stacked(
                nets, [x for _, _, x in chunk], [int(d.cfg.seed) for d, _, _ in chunk],
                first.model, first.trainer,
            )  # fmt: skip
            for (det, key, _), state, curve in zip(chunk, states, curves, strict=True):
                path = det.model_path(key)
                path.parent.mkdir(parents=True, exist_ok=True)
                write_json(curves_path(path), curve)  # the network last: it marks "done"
                write_atomic(path, lambda tmp, state=state: torch.save(state, tmp))
            counts["trained"] += len(chunk)
            print(
                f"[deepad] trained {len(chunk)} networks in one stack ({counts['trained']} so far)"
            )
    return counts
