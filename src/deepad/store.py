"""Atomic writes (write to a temporary file, then rename) and the provenance of a result."""

from __future__ import annotations

import ctypes
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import numpy as np


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, write: Callable[[str], None]) -> Path:
    """Call write(tmp_path) then rename tmp_path onto `path`: readers never see a half file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_text(path: Path, text: str) -> Path:
    return write_atomic(path, lambda tmp: Path(tmp).write_text(text))


def write_npy(path: Path, array: np.ndarray) -> Path:
    """One array as .npy, atomically (through a file object: numpy would rename a bare path)."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.save(f, array)

    return write_atomic(path, write)


def write_npz(path: Path, arrays: dict) -> Path:
    """Compressed .npz, atomically (through a file object: numpy would rename a bare path)."""

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    return write_atomic(path, write)


def set_aside(path: Path, what: str, err: Exception, then: str) -> Path:
    """A cache file that does not read (truncated, garbled, another shape) moved to
    `<name>.corrupt`, with one warning line naming both paths and what happens next; returns
    where it went. The caller then recomputes it."""
    path = Path(path)
    aside = path.with_name(path.name + ".corrupt")
    os.replace(path, aside)
    why = str(err).splitlines()[0][:120] if str(err) else type(err).__name__
    print(
        f"[deepad] warning: {what} {path} is unreadable ({why}); moved it to {aside} and {then}",
        file=sys.stderr,
    )
    return aside


def strict(obj: object) -> object:
    """obj with every NaN or infinite float as None: strict JSON (`null`), which every reader takes."""
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [strict(v) for v in obj]
    if isinstance(obj, float | np.floating) and not np.isfinite(obj):
        return None
    return obj


def write_json(path: Path, obj: object) -> Path:
    """obj as strict JSON (NaN and infinities as null), atomically."""
    return write_text(
        path, json.dumps(strict(obj), indent=2, sort_keys=True, allow_nan=False) + "\n"
    )


def write_between_markers(path: Path, name: str, text: str) -> None:
    """Replace what stands between `<!-- name -->` and `<!-- /name -->` in a Markdown file."""
    pattern = rf"(<!-- {re.escape(name)} -->\n).*?(<!-- /{re.escape(name)} -->)"
    old = Path(path).read_text()
    if not re.search(pattern, old, flags=re.S):
        raise ValueError(f"{path}: markers <!-- {name} --> ... <!-- /{name} --> not found")
    write_text(path, re.sub(pattern, lambda m: m[1] + text + m[2], old, flags=re.S))


LIBRARIES = ("torch", "numpy", "scikit-learn", "pytorch-lightning")


def mkl_dispatch() -> str:
    """Which of MKL's code paths torch's matmuls take: "shim" when this process resolves MKL's
    vendor check `mkl_serv_intel_cpu_true` to a preloaded library that answers yes (the
    Makefile's MKL_SHIM: MKL's AVX2 kernels on an AMD CPU), else "vendor" (MKL's own check). The
    two round differently, so results and cached networks are keyed by it."""
    try:
        check = ctypes.CDLL(None).mkl_serv_intel_cpu_true  # only a preload exports it globally
    except AttributeError:
        return "vendor"
    check.restype = ctypes.c_int
    return "shim" if check() else "vendor"


@functools.lru_cache(maxsize=1)
def library_versions() -> dict[str, str]:
    """Installed versions of the libraries whose arithmetic makes a result, and MKL's code path
    (`mkl_dispatch`): a run or a cached model is reused only under the same ones, and every
    result records them."""
    return {**{name: version(name) for name in LIBRARIES}, "mkl-dispatch": mkl_dispatch()}


CODE_PATHS = ("src", "conf", "experiments/run.py", "pyproject.toml")


def git_commit(cwd: Path | None = None) -> str:
    """HEAD's hash, with '+dirty' when the code that makes results (src/, conf/, the run entry,
    the pins) differs from it; 'unknown' outside git. Edits to docs or results do not count."""
    here = cwd or Path(__file__).resolve().parent

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=here, capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        head = git("rev-parse", "HEAD")
        top = git("rev-parse", "--show-toplevel")
        dirty = git("-C", top, "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")
