"""Can the DBN be made reproducible across CPUs cheaply? (`make mkl-paths`; prints figures, asserts
nothing, writes paper/results/mkl_paths.json for the paper's reproduction section.)

Float rounding that differs between CPUs comes from MKL choosing its kernels per CPU; on this
machine its two code paths (its own vendor check, and the AVX2 kernels the Makefile's shim selects)
stand in for two CPUs. MKL's conditional-numerical-reproducibility switch `MKL_CBWR=COMPATIBLE`
makes every CPU take the same kernels. For each of the four (path, switch) settings, a fresh
process measures the float32 matmul throughput of a DBN-sized product and trains one DBN of the
paper (784-500-200, CD-1, MNIST class 7 of the train split at p = 0.1, seed 0) without any cache,
recording its training seconds and a hash of its free-energy scores. A switch makes the DBN
reproducible when the two paths give the same hash under it; it is cheap when its seconds are
close to the default's.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SHIM = Path(".venv/lib/libmkl-intel-cpu.so")
SETTINGS = [("vendor", None), ("shim", None), ("vendor", "COMPATIBLE"), ("shim", "COMPATIBLE")]
ROUNDS = 3  # trainings per setting: the best seconds count (this machine's speed drifts)


def child() -> None:
    """One setting, in this process: matmul GFLOP/s and one DBN's seconds and score hash."""
    import numpy as np
    import torch

    from deepad import store
    from deepad.config import compose
    from deepad.data import sets
    from deepad.detector import Detector

    torch.set_num_threads(2)
    a, b = torch.randn(256, 784), torch.randn(784, 500)  # a DBN batch through its first layer
    for _ in range(50):
        a @ b
    n, t0 = 2000, time.perf_counter()
    for _ in range(n):
        a @ b
    gflops = 2 * 256 * 784 * 500 * n / (time.perf_counter() - t0) / 1e9
    cfg = compose(["model=dbn", "features=free_energy", "dataset.nominal=[7]", "logger=none"])
    images = sets.build(cfg.dataset).images
    seconds, digests = [], set()
    for _ in range(ROUNDS):
        det = Detector(config=cfg, cache=False).fit(images)
        seconds.append(det.seconds_["train"])
        digests.add(hashlib.sha256(np.asarray(det.decision_scores_).tobytes()).hexdigest()[:16])
    print(
        json.dumps(
            {"path": store.mkl_dispatch(), "cbwr": os.environ.get("MKL_CBWR"),
             "gflops": gflops, "train_seconds": min(seconds), "scores": sorted(digests)}
        )
    )  # fmt: skip


def run(path: str, cbwr: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "MKL_CBWR")}
    if path == "shim":
        env["LD_PRELOAD"] = str(SHIM.resolve())
    if cbwr:
        env["MKL_CBWR"] = cbwr
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.mkl_paths", "--child"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path("paper/results/mkl_paths.json"))
    args = parser.parse_args()
    if args.child:
        return child()
    if not SHIM.is_file():
        sys.exit(f"{SHIM} is missing: it is built by `make data` on an AMD CPU with a C compiler")
    from deepad.store import git_commit, write_json

    rows = []
    for path, cbwr in SETTINGS:
        row = run(path, cbwr)
        rows.append(row)
        print(
            f"MKL path {row['path']:6s} MKL_CBWR={row['cbwr'] or 'unset':10s} "
            f"{row['gflops']:6.1f} GFLOP/s  DBN training {row['train_seconds']:5.1f} s  "
            f"scores {','.join(row['scores'])}",
            flush=True,
        )
    by = {(r["path"], r["cbwr"]): r for r in rows}
    verdict = {}
    for cbwr in (None, "COMPATIBLE"):
        same = by[("vendor", cbwr)]["scores"] == by[("shim", cbwr)]["scores"]
        verdict[cbwr or "unset"] = {
            "paths_agree": same,
            "train_seconds": by[("shim", cbwr)]["train_seconds"],
            "gflops": by[("shim", cbwr)]["gflops"],
        }
    slower = verdict["COMPATIBLE"]["train_seconds"] / verdict["unset"]["train_seconds"]
    print(
        f"two MKL paths agree: default {verdict['unset']['paths_agree']}, MKL_CBWR=COMPATIBLE "
        f"{verdict['COMPATIBLE']['paths_agree']}; COMPATIBLE trains the DBN {slower:.2f}x as long "
        "as the shim's default"
    )
    write_json(
        args.out,
        {"settings": rows, "verdict": verdict, "compatible_slowdown": slower,
         "commit": git_commit(), "rounds": ROUNDS, "threads": 2}
    )  # fmt: skip
    print(f"-> {args.out}")


if __name__ == "__main__":
    main()
