"""`Detector`: the paper's scores as a scikit-learn estimator, in the PyOD habit.

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
Trained networks live in a `ModelCache`: this process's memory, and a folder on disk when given.
"""

from __future__ import annotations

import fcntl
import json
import sys
import time
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from sklearn.base import BaseEstimator

from deepad import config, detect, features, keys, models, validate
from deepad.data import folders
from deepad.models import training
from deepad.store import set_aside, write_atomic, write_json, write_npy


def as_images(images, size: int = 28, grey: bool = True) -> tuple[torch.Tensor, list[str] | None]:
    """Any accepted image input -> (N, C, H, W) float32 in [0, 1], and the file of each image
    (None for arrays)."""
    if isinstance(images, str | Path):
        with folders.listed_once():  # listed once: the stamp and the images agree
            stamp = folders.folder_fingerprint(str(images))  # a changed folder is read again
            arr, files = folders.read_images(str(images), size, grey, "skip", stamp)
        return training.to_tensor(arr), [str(Path(images) / f) for f in files]
    if isinstance(images, list | tuple) and images and isinstance(images[0], str | Path):
        read, kept = folders._load_files([Path(p) for p in images], size, grey, "error")
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


def _flat(params: dict) -> dict:
    """{"trainer": {"max_epochs": 10}, "model.hidden": [16]} -> dotted keys."""
    return {
        f"{key}.{k}" if isinstance(value, dict) else key: v
        for key, value in params.items()
        for k, v in (value.items() if isinstance(value, dict) else [(None, value)])
    }


class Detector(BaseEstimator):
    """Train a network on images, turn each image into a feature, score it (module docstring).

    Parameters (stored as given; the config is composed in `fit`):
    - model: a network of conf/model/ ({models}); default ae_h2o.
    - features: what each image becomes, conf/features/ ({features}); default re.
    - detector: what scores the features, conf/detector/ ({detectors}); default iforest.
    - method: a named method of conf/method/ ({methods}), which sets model, features and
      detector itself (then leave those three unset); default none.
    - seed: seeds the network's initialisation and batches, the detector and tie-breaking.
    - contamination: the share of anomalies expected among the fit images, 0 < c < 0.5; it sets
      `threshold_` (the 1 - c quantile of `decision_scores_`) and `labels_`, nothing else.
    - cache: True (this process's memory), False (train every time), a folder (memory and disk)
      or a `ModelCache`.
    - size, grey: how image files and folders are read (side in pixels; grey or RGB).
    - params: config values by dotted key (`{{"model.hidden": [16]}}`) or per group
      (`{{"trainer": {{"max_epochs": 10}}}}`); overrides: Hydra override strings.
    - config: a composed run config (what `pipeline.run` passes); the choices above are then unused.

    Fitted attributes: cfg_ (the composed config), decision_scores_ (N,), threshold_, labels_ (N,),
    curves_ (per-epoch training curves), max_epochs_ (the epochs the network may train: the DBN's
    own, else the trainer's; None without training), model_cache_ (hit / miss / pretrained / none),
    model_key_, feature_dim_, ties_, seconds_ (train, features, detect), files_ (for paths).
    """

    def __init__(
        self,
        model: str | None = None,
        features: str | None = None,
        detector: str | None = None,
        method: str | None = None,
        seed: int = 0,
        contamination: float = 0.1,
        cache: bool | str | Path | ModelCache = True,
        size: int = 28,
        grey: bool = True,
        params: dict | None = None,
        overrides: Sequence[str] = (),
        config: DictConfig | None = None,
    ) -> None:
        self.model = model
        self.features = features
        self.detector = detector
        self.method = method
        self.seed = seed
        self.contamination = contamination
        self.cache = cache
        self.size = size
        self.grey = grey
        self.params = params
        self.overrides = overrides
        self.config = config

    @classmethod
    def from_config(cls, cfg: DictConfig, cache: bool | str | Path | ModelCache = True) -> Detector:
        """A Detector of a composed run config (what `pipeline.run` uses); its threshold share is
        the data set's anomaly share where the config states one."""
        p = cfg.dataset.get("contamination") if "dataset" in cfg else None
        share = float(p) if p is not None and 0.0 < float(p) < 0.5 else 0.1
        return cls(config=cfg, cache=cache, contamination=share)

    def compose(self) -> DictConfig:
        """The run config these parameters name (conf/ with their choices and overrides)."""
        if self.config is not None:
            return self.config
        if any(o.lstrip("+").startswith("method=") for o in self.overrides):
            raise ValueError(
                "give a named method as Detector(method=NAME), not as an override "
                "(overrides=['+method=NAME'] would keep this Detector's own choices)"
            )
        extra = [f"{key}={json.dumps(v)}" for key, v in _flat(self.params or {}).items()]
        rest = ["trainer.progress_bar=false", *extra, *self.overrides]  # a library call is quiet
        if self.method is not None:
            chosen = {"model": self.model, "features": self.features, "detector": self.detector}
            if any(v is not None for v in chosen.values()):
                raise ValueError(
                    f"method={self.method!r} sets model, features and detector itself; "
                    f"leave {[k for k, v in chosen.items() if v is not None]} unset"
                )
            return config.compose_method(self.method, int(self.seed), rest)
        choice = [
            f"model={self.model or 'ae_h2o'}",
            f"features={self.features or 're'}",
            f"detector={self.detector or 'iforest'}",
        ]
        return config.compose([*choice, f"seed={int(self.seed)}", "logger=none", *rest])

    # --- the estimator ---------------------------------------------------------------------------

    def fit(self, images, y=None) -> Detector:
        """Train the network (unless cached), extract features, fit the detector (`y` is ignored:
        unsupervised). Sets the fitted attributes of the class docstring."""
        if not 0.0 < self.contamination < 0.5:
            raise ValueError(f"contamination={self.contamination}: need 0 < contamination < 0.5")
        self.cfg_ = cfg = self.compose()
        self.cache_ = as_cache(self.cache)
        x, self.files_ = as_images(images, self.size, self.grey)  # (N, C, H, W)
        if len(x) < 2:
            raise ValueError(
                f"{len(x)} image to rank: a ranking needs at least 2 images (a folder with more)"
            )
        variant = cfg.features.name
        t0 = time.perf_counter()
        self.module_, self.curves_, self.model_key_, self.model_cache_ = None, [], None, "none"
        self.max_epochs_ = None  # the epochs the network may train: none without training
        if variant != "ensemble" and features.NEEDS_MODEL.get(variant, True):
            net = self.cache_.network(cfg, x)
            self.module_, self.curves_, self.model_cache_, self.model_key_ = net
            self._scoring(self.module_)
            if not getattr(self.module_, "pretrained", False):  # frozen: it trains nothing
                self.max_epochs_ = training.epoch_budget(self.module_, cfg.trainer)
        t1 = time.perf_counter()  # an ensemble's members fit their networks in "features"
        feats = self._features(x)  # (N,) | (N, d)
        self.feature_dim_ = 1 if feats.ndim == 1 else int(feats.shape[1])
        t2 = time.perf_counter()
        self.decision_scores_, self.scorer_ = detect.fit(feats, cfg.detector)  # (N,)
        self.seconds_ = {"train": t1 - t0, "features": t2 - t1, "detect": time.perf_counter() - t2}
        named = cfg.get("method") not in (None, "ensemble")  # a possible ensemble member
        if named and self.cache_.folder is not None:  # kept for ensembles, with the network
            write_npy(keys.scores_path(self.cache_.folder, cfg, x), self.decision_scores_)
        self.ties_ = detect.ties(self.decision_scores_)  # n_distinct_scores, tied_share
        if self.ties_["tied_share"] > 0.5:  # once per fit; runs record the counts
            warnings.warn(
                f"{variant} gives {self.ties_['n_distinct_scores']} distinct scores for {len(x)} "
                f"images ({self.ties_['tied_share']:.0%} share a score): tied images are ordered "
                f"by a shuffle drawn with seed={cfg.seed}, not by the images",
                stacklevel=2,
            )
        self.threshold_ = float(np.quantile(self.decision_scores_, 1.0 - self.contamination))
        self.labels_ = (self.decision_scores_ > self.threshold_).astype(np.int64)  # (N,)
        return self

    def _scoring(self, module: pl.LightningModule) -> None:
        """This config's scoring-only settings, also on a network shared with another config."""
        for k in keys.SCORING_ONLY:
            if k in self.cfg_.model and hasattr(module.net, k):
                setattr(module.net, k, self.cfg_.model[k])

    def _ensemble(self, x: torch.Tensor) -> np.ndarray:
        """Rank average of the named member methods' scores of x (N,): each member's from the
        score cache when a run of it on the same images left them there, else fit here."""
        validate.check_ensemble(self.cfg_)  # members, weights, member_k: one line each
        spec = self.cfg_.features
        self.members_: dict[str, Detector | None] = {}
        self.member_scores_: dict[str, np.ndarray] = {}
        hits = 0
        for name in spec.members:
            member = self._member(name)
            folder = self.cache_.folder
            path = None if folder is None else keys.scores_path(folder, member.compose(), x)
            cached = None if path is None else _read_scores(path, len(x))
            if cached is not None:
                self.member_scores_[name], self.members_[name] = cached, None
                hits += 1
            else:
                self.member_scores_[name] = member.fit(x).decision_scores_
                self.members_[name] = member
        self.model_cache_ = f"members {hits}/{len(spec.members)} cached"
        self.x_ = x
        weights = None if spec.get("weights") is None else list(spec.weights)
        return detect.rank_average(list(self.member_scores_.values()), weights)  # (N,)

    def _member(self, name: str) -> Detector:
        """An ensemble member: the named method with this run's seed, trainer, cache and input;
        a member on EfficientNet-Lite0 at the ensemble's `input_size` when it sets one."""
        trainer = OmegaConf.to_container(self.cfg_.trainer, resolve=True)  # members take its own
        inherited = [f"trainer.{k}={json.dumps(v)}" for k, v in trainer.items()]
        cfg = config.compose_method(name, int(self.cfg_.seed), inherited)
        size = self.cfg_.features.get("input_size")
        if size and cfg.model.name == "pretrained":  # the ensemble's EfficientNet input size
            cfg.model.input_size = int(size)
        k = self.cfg_.features.get("member_k")
        if k is not None and cfg.detector.name == "knn_rel":  # one k for every kNN member
            cfg.detector.k = float(k)
        return Detector(
            config=cfg, cache=self.cache_, size=self.size, grey=self.grey,
            contamination=self.contamination,
        )  # fmt: skip

    def _ensemble_scorer(self, x_new: torch.Tensor) -> np.ndarray:
        """New images' ensemble scores: each member's score placed among its scores of the fit
        images (`detect.rank_of`); a member read from the score cache is fit again first."""
        spec, ranks = self.cfg_.features, []
        for name, member in self.members_.items():
            if member is None:  # its scores came from the cache: fit it now
                member = self.members_[name] = self._member(name).fit(self.x_)
            new = member.scorer_(member._features(x_new))
            ranks.append(detect.rank_of(self.member_scores_[name], new))
        weights = None if spec.get("weights") is None else list(spec.weights)
        return np.average(np.stack(ranks), axis=0, weights=weights)

    def _features(self, x: torch.Tensor) -> np.ndarray:
        if self.cfg_.features.name == "ensemble":
            return self._ensemble(x)  # (N,): a score already
        net = self.module_.net if self.module_ is not None else None
        batch = self.cfg_.model.get("feature_batch_size", 2048)
        show = bool(self.cfg_.trainer.get("progress_bar", False)) and sys.stderr.isatty()
        return features.extract(net, x, self.cfg_.features.name, batch, progress=show)

    def decision_function(self, images) -> np.ndarray:
        """Scores of other images by the fitted network and detector: (M,), higher = more anomalous."""
        if not hasattr(self, "scorer_"):
            raise RuntimeError("call fit(images) before decision_function(images)")
        x, _ = as_images(images, self.size, self.grey)
        if self.cfg_.features.name == "ensemble":
            return self._ensemble_scorer(x)
        return self.scorer_(self._features(x))

    def predict(self, images) -> np.ndarray:
        """1 where an image's score is above `threshold_`, else 0: (M,)."""
        return (self.decision_function(images) > self.threshold_).astype(np.int64)


Detector.__doc__ = Detector.__doc__.format(  # the choices as conf/ holds them
    models=", ".join(config.choices("model")),
    features=", ".join(config.choices("features")),
    detectors=", ".join(config.choices("detector")),
    methods=", ".join(config.choices("method")),
)


class ModelCache:
    """Trained networks by network key (`keys.network_key`): the last `keep` in this process's
    memory and, with a `folder`, on disk as `<folder>/models/<model>-<key>.pt` beside their
    per-epoch curves (a pretrained network keeps its per-image features under `<folder>/features/`).
    One cache per folder per process (`ModelCache.at`), so the runs of a sweep worker share it; a
    cache is shared, never copied (`clone` keeps the same one)."""

    _at: dict[Path | None, ModelCache] = {}

    def __init__(self, folder: str | Path | None = None, keep: int = 8) -> None:
        self.folder = None if folder is None else Path(folder)
        self.keep = keep
        self.memory: OrderedDict[str, tuple[pl.LightningModule, list[dict]]] = OrderedDict()

    @classmethod
    def at(cls, folder: str | Path | None) -> ModelCache:
        """This process's cache of a folder (None: memory only)."""
        where = None if folder is None else Path(folder).resolve()
        if where not in cls._at:
            cls._at[where] = cls(where)
        return cls._at[where]

    def __deepcopy__(self, memo: dict) -> ModelCache:
        return self  # a cache is a place, like a joblib.Memory location

    def network(
        self, cfg: DictConfig, x: torch.Tensor
    ) -> tuple[pl.LightningModule, list, str, str]:
        """The network of this config for these images (N, C, H, W): from memory, from the
        folder, or trained (and kept). Returns (module, curves, status, key); status is hit, miss
        or pretrained."""
        key = keys.network_key(cfg, x)
        if key in self.memory:
            self.memory.move_to_end(key)
            return *self.memory[key], "hit", key
        pl.seed_everything(int(cfg.seed), workers=True, verbose=False)
        module = models.build(cfg.model, tuple(x.shape[1:]))
        curves: list[dict] = []
        if getattr(module, "pretrained", False):  # frozen weights from a package: nothing to fit
            status = "pretrained"  # its features are kept per image, on disk with a folder
            on_disk = self.folder is not None and cfg.model.get("feature_cache", True)
            module.net.use_cache(self.folder if on_disk else None)
        elif self.folder is not None:
            path = keys.network_path(self.folder, cfg, key)
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path.with_suffix(".lock"), "w") as lock:  # parallel jobs: one trains
                fcntl.flock(lock, fcntl.LOCK_EX)
                status = "hit" if path.is_file() and _load_cached(module, path) else "miss"
                if status == "miss":
                    curves = training.fit(module, x, cfg.trainer, int(cfg.seed))
                    module.net.cpu()
                    write_json(keys.curves_path(path), curves)  # the network last: it marks "done"
                    write_atomic(path, lambda tmp: torch.save(module.net.state_dict(), tmp))
                else:
                    curves = _read_curves(keys.curves_path(path))
        else:
            curves = training.fit(module, x, cfg.trainer, int(cfg.seed))
            module.net.cpu()
            status = "miss"
        module.eval()
        if self.keep:
            self.memory[key] = (module, curves)
            while len(self.memory) > self.keep:
                self.memory.popitem(last=False)
        return module, curves, status, key


NO_CACHE = ModelCache(keep=0)  # cache=False: train every time, keep nothing


def as_cache(cache: bool | str | Path | ModelCache) -> ModelCache:
    """A Detector's `cache` parameter as a ModelCache."""
    if isinstance(cache, ModelCache):
        return cache
    if cache is False:
        return NO_CACHE
    return ModelCache.at(None if cache is True else cache)


def clear_memory() -> None:
    """Forget every network this process holds in memory (the disk caches stay)."""
    for cache in ModelCache._at.values():
        cache.memory.clear()


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
        set_aside(path, "cached model", err, "training again")
        return False


def _read_scores(path: Path, n: int) -> np.ndarray | None:
    """A member's cached scores of n images, or None (then it is fit): a file that does not read
    as n scores is set aside with a warning."""
    if not path.is_file():
        return None
    try:
        scores = np.load(path, allow_pickle=False)
        if scores.shape != (n,):
            raise ValueError(f"{scores.shape} scores for {n} images")
        return scores
    except Exception as err:  # noqa: BLE001 - a cache file that does not load is recomputed
        set_aside(path, "cached scores", err, "computing them again")
        return None
