"""Image folders: one place for reading a folder of images, whatever asks.

- A user's own folder (`dataset=folder`: every image under it, unlabelled) and a folder of class
  sub-folders (`dataset=image_folder`: ImageNet-style subsets, synset folders under mapped names),
  read at one size, grey or RGB, with 16-bit images scaled by one bit depth for the folder.
- `fingerprint(cfg)`: a hash of a folder data set's files (relative path, size, mtime), part of
  the run key, so nothing made from a folder is reused after it changed.
- `listed_once()`: within it, a folder is listed once, so keys and images agree.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import warnings
from pathlib import Path

import numpy as np

from deepad.data.sources import DataSourceError, Split

IMAGE_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".webp",
    ".tif",
    ".tiff",
    ".gif",
)  # a GIF: frame 1
BACKGROUND = (255, 255, 255)  # transparent pixels (RGBA, LA, a palette's transparency) are white


def class_folders(root: str, synsets: tuple[tuple[str, str], ...] | None = None) -> list[str]:
    """Names of the class sub-folders of root (synset folders under their mapped names)."""
    dirs = _class_dirs(Path(root), dict(synsets) if synsets else None)
    rename = {v: k for k, v in (synsets or ())}
    return sorted({rename.get(p.name, p.name) for p in dirs.values()})


def _class_dirs(root: Path, synsets: dict[str, str] | None) -> dict[str, Path]:
    """Class name -> its folder; a name maps to an ImageNet synset folder (n02084071) via `synsets`."""
    if not root.is_dir():
        raise DataSourceError(f"image folder {root} does not exist (dataset.root)")
    found = {p.name: p for p in sorted(root.iterdir()) if p.is_dir()}
    for name, synset in (synsets or {}).items():
        if synset in found:
            found[name] = found[synset]
    return found


HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # more than 8 bits per pixel
MAX_PIXELS = 89_478_485  # Pillow's own limit (its decompression-bomb guard), dataset.max_pixels


def _load_image(
    path: Path, size: int, mode: str, max_pixels: int | None
) -> tuple[np.ndarray, float | None]:
    """One image resized to size x size: (C, size, size) uint8 and None; or, for a 16-bit, 32-bit
    or float grey image, (C, size, size) float32 in its own units and its peak value (the caller
    scales the folder's high-depth images to 0..255 by one bit depth; `convert("L")` would clip
    them to white)."""
    from PIL import Image

    limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # our check, our message
    try:
        with Image.open(path) as img:
            if max_pixels is not None and img.width * img.height > max_pixels:
                raise ValueError(
                    f"{img.width} x {img.height} = {img.width * img.height:,} pixels is over the "
                    f"limit of {max_pixels:,} (raise it with dataset.max_pixels=N, or "
                    "deepad score --max-pixels N)"
                )
            if img.mode in HIGH_DEPTH_MODES:
                full = img.convert("F")
                peak = float(np.nanmax(np.asarray(full))) if full.width * full.height else 0.0
                arr = np.asarray(full.resize((size, size), Image.Resampling.BILINEAR), np.float32)
                arr = np.repeat(arr[None], 3 if mode == "RGB" else 1, axis=0)  # (C, size, size)
                return arr, peak
            img = _flattened(img).convert(mode).resize((size, size), Image.Resampling.BILINEAR)
            arr = np.asarray(img, dtype=np.uint8)
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    return (arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)), None  # (C, size, size)


def _flattened(img):
    """An image with transparency composited onto `BACKGROUND` (its hidden colour never shows)."""
    from PIL import Image

    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        back = Image.new("RGBA", rgba.size, (*BACKGROUND, 255))
        return Image.alpha_composite(back, rgba).convert("RGB")
    return img


def bit_depth(peak: float) -> int:
    """The bit depth a high-depth image's values fill: 1.0 or less = a float image in [0, 1] (0);
    else the smallest of 10, 12, 14, 16, 24, 32 bits that holds the peak (a 12-bit scan stored as
    16-bit PNG has no value above 4095)."""
    if peak <= 1.0:
        return 0
    return next(b for b in (10, 12, 14, 16, 24, 32, 64) if peak < 2**b)


def _to_uint8(high: list[np.ndarray], peaks: list[float]) -> list[np.ndarray]:
    """High-depth images to uint8 by one bit depth for them all (the largest any of them needs),
    so that relative brightness between images is kept."""
    depth = max(bit_depth(p) for p in peaks)
    top = 1.0 if depth == 0 else float(2**depth - 1)
    return [np.clip(np.rint(a * (255.0 / top)), 0, 255).astype(np.uint8) for a in high]


def _skipped(rel: Path, excluded: tuple[Path, ...], path: Path) -> bool:
    """A hidden file or folder (name starting with '.'), or anything under an excluded folder."""
    if any(part.startswith(".") for part in rel.parts):
        return True
    return any(path == e or e in path.parents for e in excluded)


_LISTINGS: dict | None = None  # inside `listed_once()`: (folder, excluded) -> its files


@contextlib.contextmanager
def listed_once():
    """Inside this block each folder is listed (and its files stat-ed) once: the run key, the model
    key and the reading of a folder all see the same files, even if files appear meanwhile."""
    global _LISTINGS
    outer = _LISTINGS is None
    if outer:
        _LISTINGS = {}
    try:
        yield
    finally:
        if outer:
            _LISTINGS = None


def _listing(folder: Path, exclude: tuple[str, ...] = ()) -> list[tuple[Path, int, int]]:
    """(path, size, mtime_ns) of every png / jpg / jpeg / bmp / webp / tif / gif file under `folder`, sorted;
    hidden names and the `exclude` folders (outputs, caches) are never input."""
    excluded = tuple(Path(e).resolve() for e in exclude)
    key = (str(folder.resolve()), excluded)
    if _LISTINGS is not None and key in _LISTINGS:
        return _LISTINGS[key]
    found, other = [], {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or _skipped(path.relative_to(folder), excluded, path.resolve()):
            continue
        suffix = path.suffix.lower()
        if suffix not in IMAGE_SUFFIXES:
            other[suffix or "(none)"] = other.get(suffix or "(none)", 0) + 1
            continue
        st = path.stat()
        found.append((path, st.st_size, st.st_mtime_ns))
    if other:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(other.items()))
        warnings.warn(
            f"{folder}: ignored {sum(other.values())} files that are not images ({counts}); "
            f"read are {' '.join(IMAGE_SUFFIXES)}",
            stacklevel=2,
        )
    if _LISTINGS is not None:
        _LISTINGS[key] = found
    return found


def _image_files(folder: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    """Every image file under `folder` (see `_listing`), in sorted order."""
    return [path for path, _, _ in _listing(folder, exclude)]


def _load_files(
    files: list[Path],
    size: int,
    grey: bool,
    on_bad_image: str,
    max_pixels: int | None = MAX_PIXELS,
) -> tuple[list[np.ndarray], list[Path]]:
    """Each file as a (C, size, size) uint8 array, and the files read; an unreadable or oversized
    file is skipped with a warning naming it (`on_bad_image=skip`) or stops the run (`error`)."""
    from PIL import Image

    if on_bad_image not in ("skip", "error"):
        raise ValueError(f"dataset.on_bad_image={on_bad_image!r}: choose skip or error")
    images, kept, high, peaks = [], [], [], []
    for path in files:
        try:
            arr, peak = _load_image(path, size, "L" if grey else "RGB", max_pixels)
        except (OSError, ValueError, Image.DecompressionBombError) as err:
            if on_bad_image == "error":
                raise DataSourceError(
                    f"{path}: unreadable image ({err}); remove it or set dataset.on_bad_image=skip"
                ) from err
            warnings.warn(f"skipping unreadable image {path}: {err}", stacklevel=3)
            continue
        if peak is not None:
            high.append(len(images))
            peaks.append(peak)
        images.append(arr)
        kept.append(path)
    if high:
        for i, arr in zip(high, _to_uint8([images[i] for i in high], peaks), strict=True):
            images[i] = arr
    return images, kept


def folder_fingerprint(root: str, exclude: tuple[str, ...] = ()) -> str:
    """Hash of the image files under `root` (relative path, size, modification time): a result or
    a cached model made from a folder is reused only while the folder holds the same files."""
    folder = Path(root)
    if not folder.is_dir():
        raise DataSourceError(f"image folder {root} does not exist (dataset.root)")
    h = hashlib.sha256()
    for path, size, mtime in _listing(folder, exclude):
        h.update(f"{path.relative_to(folder).as_posix()}\0{size}\0{mtime}\n".encode())
    return h.hexdigest()[:16]


def is_colour(root: str, exclude: tuple[str, ...] = (), sample: int = 64) -> bool:
    """True when any of the first `sample` readable images under `root` has colour: its RGB
    channels differ somewhere by more than 8 of 255 (a grey scan saved as RGB stays grey)."""
    from PIL import Image

    for path in _image_files(Path(root), exclude)[:sample]:
        try:
            with Image.open(path) as img:
                if img.mode in ("1", "L", "LA", "I", "I;16", "F"):
                    continue
                img.thumbnail((64, 64))
                rgb = np.asarray(img.convert("RGB"), dtype=np.int16)  # (H, W, 3)
        except (OSError, ValueError, Image.DecompressionBombError):
            continue
        if np.abs(rgb - rgb.mean(2, keepdims=True)).max() > 8:
            return True
    return False


@functools.lru_cache(maxsize=4)
def read_images(
    root: str,
    size: int = 28,
    grey: bool = True,
    on_bad_image: str = "skip",
    fingerprint: str = "",
    exclude: tuple[str, ...] = (),
    max_pixels: int | None = MAX_PIXELS,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Every image under `root` (any depth, no classes: a user's own unlabelled folder; not the
    `exclude` folders or hidden names), resized to size x size, grey or RGB: (N, C, size, size)
    uint8, and each image's path relative to `root`. `fingerprint` (folder_fingerprint) only keys
    the in-process cache."""
    folder = Path(root)
    if not folder.is_dir():
        raise DataSourceError(f"image folder {root} does not exist (dataset.root)")
    files = _image_files(folder, exclude)
    images, kept = _load_files(files, size, grey, on_bad_image, max_pixels)
    if not images:
        raise DataSourceError(
            f"no readable png, jpg, jpeg, bmp or webp image under {root}; point dataset.root "
            "(or `deepad score FOLDER`) at a folder of images"
        )
    print(f"[data] {root}: {len(images)} images")
    return np.stack(images), tuple(p.relative_to(folder).as_posix() for p in kept)


@functools.lru_cache(maxsize=4)
def read_image_folder(
    root: str,
    classes: tuple[str, ...],
    size: int = 64,
    grey: bool = False,
    on_bad_image: str = "skip",
    synsets: tuple[tuple[str, str], ...] | None = None,
    max_pixels: int | None = MAX_PIXELS,
) -> tuple[np.ndarray, np.ndarray]:
    """Images of the named class sub-folders of `root`, resized to size x size, grey or RGB:
    (N, C, size, size) uint8 and labels (N,) = position of the class in `classes`.

    An unreadable file is skipped with a warning naming it (`on_bad_image=skip`) or stops the run
    (`error`). A missing or empty class is an error that lists the classes found."""
    if on_bad_image not in ("skip", "error"):
        raise ValueError(f"dataset.on_bad_image={on_bad_image!r}: choose skip or error")
    dirs = _class_dirs(Path(root), dict(synsets) if synsets else None)
    images, labels = [], []
    for k, name in enumerate(classes):
        files = _image_files(dirs[name]) if name in dirs else []
        if not files:
            why = (
                "is empty (no png, jpg, jpeg, bmp or webp files)" if name in dirs else "is missing"
            )
            raise DataSourceError(f"class {name!r} {why} in {root}; classes found: {sorted(dirs)}")
        read, _ = _load_files(files, size, grey, on_bad_image, max_pixels)
        print(f"[data] {root}: class {name!r}: {len(read)} images")
        if not read:
            raise DataSourceError(
                f"class {name!r} in {root} has no readable image; classes found: {sorted(dirs)}"
            )
        images += read
        labels += [k] * len(read)
    return np.stack(images), np.array(labels, dtype=np.int64)


# --- folder data sets (conf/dataset/folder.yaml, image_folder.yaml) ------------------------------


def _folder_classes(cfg) -> tuple[list[str], list[str] | None]:
    nominal = [str(c) for c in cfg.nominal]
    anomaly = None if cfg.get("anomaly") is None else [str(c) for c in cfg.anomaly]
    return nominal, anomaly


def folder_source(cfg) -> Split:
    """The classes a folder run needs, read once: nominal then anomaly classes (null = all others)."""
    nominal, anomaly = _folder_classes(cfg)
    synsets = tuple(sorted(dict(cfg.synsets).items())) if cfg.get("synsets") else None
    if anomaly is None:
        found = class_folders(str(cfg.root), synsets)
        anomaly = [c for c in found if c not in nominal]
    images, labels = read_image_folder(
        str(cfg.root),
        tuple(nominal + anomaly),
        int(cfg.size),
        bool(cfg.grey),
        cfg.on_bad_image,
        synsets,
        cfg.get("max_pixels", MAX_PIXELS),
    )
    return Split(images=images, labels=labels)


def folder_as_indices(cfg):
    """The folder config with class names replaced by their label indices (nominal first)."""
    from omegaconf import OmegaConf

    nominal, anomaly = _folder_classes(cfg)
    out = OmegaConf.to_container(cfg, resolve=True)
    out["nominal"] = list(range(len(nominal)))
    out["anomaly"] = (
        None if anomaly is None else list(range(len(nominal), len(nominal) + len(anomaly)))
    )
    return OmegaConf.create(out)


def fingerprint(cfg) -> str | None:
    """For a data set read from a folder (folder, image_folder), a hash of its files (names, sizes,
    times): run and model keys include it, so nothing made from a folder is reused after the folder
    changed. None for the fixed sources (MNIST, Fashion-MNIST, synthetic)."""
    if cfg.name in ("folder", "image_folder"):
        return folder_fingerprint(str(cfg.root), excluded(cfg))
    return None


def excluded(cfg) -> tuple[str, ...]:
    """The folders under a scored folder that are never its input (`dataset.exclude`: outputs,
    caches, W&B runs), as absolute paths."""
    from pathlib import Path

    return tuple(str(Path(str(e)).resolve()) for e in (cfg.get("exclude") or ()))
