"""Build the image sets a run scores: contaminated one-vs-rest sets and a generated toy set.

Protocol (DESIGN.md, after the contaminated one-vs-rest setting of e.g. ODIM, Kim et al. 2023):
nominal = every image of the nominal class(es) in the chosen split (optionally capped), anomalies
drawn with the run's seed from the anomaly classes so that p = anomalies / (nominal + anomalies).
Labels and groups go into an `EvalRecord` that only evaluation code reads.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepad.data import folders, sources

CLASS_NAMES = {
    "mnist": [str(i) for i in range(10)],
    "fashion_mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
    "cats_dogs": ["cat", "dog"],
}  # fmt: skip


@dataclass(frozen=True)
class EvalRecord:
    """What only `evaluate` may read: per image, anomaly flag, source class and group name."""

    is_anomaly: np.ndarray  # (N,) bool
    classes: np.ndarray  # (N,) int64, source class label
    groups: np.ndarray  # (N,) str: nominal | nominal_clutter | anomaly


@dataclass(frozen=True)
class ImageSet:
    """Unlabelled images the model sees, plus where each came from, plus the hidden record."""

    images: np.ndarray  # (N, C, H, W) uint8
    source_index: np.ndarray  # (N,) index into the source split (train, test, or train+test)
    record: EvalRecord
    files: tuple[str, ...] | None = None  # (N,) paths relative to the folder, for a user's folder

    def __len__(self) -> int:
        return len(self.images)


def n_anomalies(n_nominal: int, p: float) -> int:
    """Number of anomalies so that anomalies / (nominal + anomalies) = p (rounded, at least 1;
    none for p = 0)."""
    return 0 if p == 0 else max(1, round(p * n_nominal / (1.0 - p)))


def contaminate(
    images: np.ndarray,
    labels: np.ndarray,
    nominal: Sequence[int],
    anomaly: Sequence[int] | None,
    p: float,
    seed: int,
    cap: int | None = None,
) -> ImageSet:
    """Contaminated set from labelled images (N, H, W) or (N, C, H, W); see the module docstring.
    p = 0 gives a clean set of the nominal classes only (the H2O "ugly digits" setting)."""
    if not 0.0 <= p <= 0.5:
        raise ValueError(
            f"contamination p={p} is out of range: need 0 <= p <= 0.5 (dataset.contamination)"
        )
    known = sorted(np.unique(labels).tolist())
    nominal = sorted(int(c) for c in nominal)
    anomaly = (
        sorted(set(known) - set(nominal)) if anomaly is None else sorted(int(c) for c in anomaly)
    )
    if p == 0:
        anomaly = []
    for name, cls in (("nominal", nominal), ("anomaly", anomaly)):
        if name == "anomaly" and p == 0:
            continue
        unknown = [c for c in cls if c not in known]
        if unknown or not cls:
            raise ValueError(
                f"unknown or empty {name} class(es) {unknown or cls}; known classes: {known}"
            )
    if set(nominal) & set(anomaly):
        raise ValueError(
            f"classes {sorted(set(nominal) & set(anomaly))} are both nominal and anomaly"
        )
    rng = np.random.default_rng(seed)
    nom_idx = np.flatnonzero(np.isin(labels, nominal))
    if cap is not None and cap < len(nom_idx):
        nom_idx = np.sort(rng.choice(nom_idx, size=cap, replace=False))
    anom_pool = np.flatnonzero(np.isin(labels, anomaly))
    k = n_anomalies(len(nom_idx), p)
    if k > len(anom_pool):
        raise ValueError(
            f"p={p} needs {k} anomalies but classes {anomaly} have only {len(anom_pool)}"
        )
    anom_idx = rng.choice(anom_pool, size=k, replace=False) if k else np.empty(0, np.int64)
    idx = rng.permutation(np.concatenate([nom_idx, anom_idx]))  # order carries no label
    is_anom = np.isin(labels[idx], anomaly)
    imgs = images[idx]
    if imgs.ndim == 3:
        imgs = imgs[:, None]  # (N, 1, H, W)
    record = EvalRecord(
        is_anomaly=is_anom,
        classes=labels[idx].astype(np.int64),
        groups=np.where(is_anom, "anomaly", "nominal"),
    )
    return ImageSet(images=np.ascontiguousarray(imgs), source_index=idx, record=record)


def select_split(splits: dict[str, sources.Split], split: str) -> sources.Split:
    """train, test, or all (= train then test; indices run on into the test part)."""
    if split == "all" and "all" in splits:  # a source of one split (cats_dogs)
        return splits["all"]
    if split == "all":
        return sources.Split(
            images=np.concatenate([splits["train"].images, splits["test"].images]),
            labels=np.concatenate([splits["train"].labels, splits["test"].labels]),
        )
    if split not in splits:
        raise ValueError(f"unknown split {split!r}; choose train, test or all (dataset.split)")
    return splits[split]


def synthetic_source(n_per_class: int = 300, size: int = 28, seed: int = 0) -> sources.Split:
    """A generated labelled source for tests and smoke runs: class k is a bar at angle k*18 degrees
    plus pixel noise, so classes differ clearly and a model can learn them in seconds."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] - (size - 1) / 2.0
    images, labels = [], []
    for k in range(10):
        theta = np.deg2rad(18.0 * k)
        dist = np.abs(xx * np.sin(theta) - yy * np.cos(theta))  # distance to a line through centre
        bar = (dist < 2.0) & (np.hypot(xx, yy) < size * 0.4)
        for _ in range(n_per_class):
            shift = rng.integers(-2, 3, size=2)
            img = np.roll(bar, tuple(shift), axis=(0, 1)) * rng.uniform(180, 255)
            img = img + rng.normal(0, 12, size=img.shape)
            images.append(np.clip(img, 0, 255).astype(np.uint8))
            labels.append(k)
    return sources.Split(images=np.stack(images), labels=np.array(labels, dtype=np.int64))


# --- background clutter (the proposal's Figure 1: a nominal object on a busy background) ---------

TEXTURES = ("brick", "grass", "gravel", "coffee", "astronaut", "rocket", "chelsea", "camera")


@functools.lru_cache(maxsize=32)
def texture(name: str) -> np.ndarray:
    """A natural image bundled with scikit-image, as float RGB (H, W, 3) in [0, 1]."""
    from skimage import data

    if not hasattr(data, name):
        raise ValueError(
            f"unknown clutter texture {name!r}; use images of skimage.data, e.g. {TEXTURES}"
        )
    img = np.asarray(getattr(data, name)(), dtype=np.float64)
    img = img / 255.0 if img.max() > 1.0 else img
    return np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]


def background(
    rng: np.random.Generator, names: Sequence[str], shape: tuple[int, int, int]
) -> np.ndarray:
    """A random crop (random texture, position and scale: 10-50% of its short side) resized to
    shape (C, H, W), grey for one channel: float in [0, 1]."""
    from skimage.transform import resize

    tex = texture(str(rng.choice(list(names))))
    side = max(8, int(rng.uniform(0.1, 0.5) * min(tex.shape[:2])))
    y, x = rng.integers(0, tex.shape[0] - side + 1), rng.integers(0, tex.shape[1] - side + 1)
    crop = resize(tex[y : y + side, x : x + side], shape[1:], anti_aliasing=True)  # (H, W, 3)
    crop = crop.mean(2, keepdims=True) if shape[0] == 1 else crop
    return crop.transpose(2, 0, 1)  # (C, H, W)


def paste(
    image: np.ndarray, bg: np.ndarray, strength: float, opacity: str = "brightness"
) -> np.ndarray:
    """The object over a background, (C, H, W) uint8 + (C, H, W) float -> (C, H, W) uint8.

    opacity `brightness` (MNIST: a bright stroke on black): the image is premultiplied by an
    opacity equal to its brightness, out = fg + (1 - alpha) * strength * bg, so soft stroke edges
    blend. `mask` (Fashion-MNIST: items of any shade on an exactly black background): every
    non-zero pixel is opaque, out = fg where the object is, strength * bg elsewhere."""
    fg = image / 255.0
    if opacity == "brightness":
        alpha = fg.max(0, keepdims=True)  # (1, H, W)
        out = fg + (1.0 - alpha) * strength * bg
    elif opacity == "mask":
        alpha = (image.max(0, keepdims=True) > 0).astype(np.float64)
        out = alpha * fg + (1.0 - alpha) * strength * bg
    else:
        raise ValueError(f"dataset.clutter.opacity={opacity!r}: choose brightness or mask")
    return np.clip(np.rint(out * 255), 0, 255).astype(np.uint8)


def add_clutter(
    s: ImageSet,
    share: float,
    strength: float,
    textures: Sequence[str],
    seed: int,
    opacity: str = "brightness",
) -> ImageSet:
    """Paste a share of the nominal images onto natural backgrounds; their group becomes
    `nominal_clutter`. Anomalies stay clean. Same seed, same images and backgrounds.

    Nested in q (common random numbers for a sweep over the share): the images cluttered at a
    share are the first round(q n) of one seeded permutation of the nominal images, and an image's
    background is drawn from a stream of (seed, its source index), so it gets the same crop at
    every share and strength."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(
            f"clutter share q={share} is out of range: need 0 <= q <= 1 (dataset.clutter.share)"
        )
    rng = np.random.default_rng([seed, 1])  # a stream apart from the contamination's
    nominal = np.flatnonzero(~s.record.is_anomaly)
    chosen = np.sort(rng.permutation(nominal)[: round(share * len(nominal))])
    images, groups = s.images.copy(), s.record.groups.astype(object)
    for i in chosen:
        own = np.random.default_rng([seed, 1, int(s.source_index[i])])  # this image's crop
        images[i] = paste(images[i], background(own, textures, images.shape[1:]), strength, opacity)
        groups[i] = "nominal_clutter"
    record = EvalRecord(s.record.is_anomaly, s.record.classes, groups.astype(str))
    return ImageSet(images=images, source_index=s.source_index, record=record)


_BUILT: dict[str, ImageSet] = {}  # the last few sets built from a labelled source, by config


def build(cfg) -> ImageSet:
    """The image set named by a `dataset` config group (see conf/dataset/); `source` names the
    images a derived set (clutter_mnist) is built from. A set built from MNIST, Fashion-MNIST or the
    generated source is kept (read-only, the last 4) for the next run of the same config: a sweep
    scores one set with several features."""
    from omegaconf import OmegaConf

    name = cfg.get("source") or cfg.name
    if name not in (*sources.LOADERS, "synthetic"):
        return _build(cfg)  # folders: read afresh (files may change between runs)
    key = json.dumps(OmegaConf.to_container(cfg, resolve=True), sort_keys=True, default=str)
    if key not in _BUILT:
        s = _build(cfg)
        for arr in (s.images, s.source_index, *vars(s.record).values()):
            arr.flags.writeable = False  # shared by the runs of this config
        _BUILT[key] = s
        while len(_BUILT) > 4:
            _BUILT.pop(next(iter(_BUILT)))
    return _BUILT[key]


def _build(cfg) -> ImageSet:
    name = cfg.get("source") or cfg.name
    if name == "synthetic":
        src = synthetic_source(cfg.get("n_per_class", 300), seed=cfg.get("source_seed", 0))
    elif name in sources.LOADERS:
        src = select_split(sources.LOADERS[name](str(cfg.root), cfg.get("path")), cfg.split)
    elif name == "image_folder":
        src, cfg = folders.folder_source(cfg), folders.folder_as_indices(cfg)
    elif name == "folder":
        return unlabelled_folder(cfg)
    else:
        raise ValueError(
            f"unknown dataset {name!r}; choose {', '.join(sources.LOADERS)}, image_folder, folder "
            "or synthetic"
        )
    anomaly = cfg.get("anomaly")
    s = contaminate(
        src.images,
        src.labels,
        nominal=list(cfg.nominal),
        anomaly=None if anomaly is None else list(anomaly),
        p=float(cfg.contamination),
        seed=int(cfg.seed),
        cap=cfg.get("cap"),
    )
    clutter = cfg.get("clutter")
    if clutter:
        opacity = clutter.get("opacity", "brightness")
        s = add_clutter(
            s, clutter.share, clutter.strength, list(clutter.textures), int(cfg.seed), opacity
        )
    return s


def unlabelled_folder(cfg) -> ImageSet:
    """A user's own folder, every image under it, as it is: nothing is drawn or contaminated, and
    no label exists, so the record says "unlabelled" (AUROC and AP are NaN) and the run only ranks.
    The image order is the sorted file order (`folders.read_images` gives each one's path)."""
    images, files = folders.read_images(
        str(cfg.root),
        int(cfg.size),
        bool(cfg.grey),
        cfg.on_bad_image,
        folders.fingerprint(cfg),
        folders.excluded(cfg),
        cfg.get("max_pixels", folders.MAX_PIXELS),
    )
    n = len(images)
    record = EvalRecord(
        is_anomaly=np.zeros(n, dtype=bool),
        classes=np.full(n, -1, dtype=np.int64),
        groups=np.full(n, "unlabelled"),
    )
    return ImageSet(images=images, source_index=np.arange(n), record=record, files=files)
