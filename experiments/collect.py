"""Collect a sweep's runs into one CSV, a row per run: config axes, metrics, timings, git commit.

`python experiments/collect.py SWEEP_DIR [SWEEP_DIR ...] OUT.csv` reads SWEEP_DIR/**/metrics.json
and the config.yaml beside each (written by deepad.pipeline.run); nothing else.
"""

import json
import sys
from pathlib import Path

import pandas as pd
import yaml

from deepad.store import write_atomic

AXES = {
    "dataset": ("dataset", "name"),
    "nominal": ("dataset", "nominal"),
    "contamination": ("dataset", "contamination"),
    "clutter_share": ("dataset", "clutter", "share"),
    "split": ("dataset", "split"),
    "model": ("model", "name"),
    "input_size": ("model", "input_size"),
    "features": ("features", "name"),
    "detector": ("detector", "name"),
    "epochs": ("trainer", "max_epochs"),
    "seed": ("seed",),
}


def row(result_path: Path) -> dict:
    """One run: metrics.json (status ok) or error.json (status failed, with the error)."""
    cfg = yaml.safe_load((result_path.parent / "config.yaml").read_text())
    out = {"run_dir": str(result_path.parent)}
    for name, keys in AXES.items():
        value = cfg
        for k in keys:
            value = value.get(k) if isinstance(value, dict) else None
        out[name] = "+".join(map(str, value)) if isinstance(value, list) else value
    result = json.loads(result_path.read_text())
    result.pop("traceback", None)
    out["status"] = "ok" if result_path.name == "metrics.json" else "failed"
    out.update(result)
    return out


def collect(sweep_dirs: list[Path]) -> pd.DataFrame:
    paths = [
        p for d in sweep_dirs for n in ("metrics.json", "error.json") for p in Path(d).rglob(n)
    ]
    rows = [row(p) for p in sorted(paths)]
    if not rows:
        raise SystemExit(f"no metrics.json under {sweep_dirs}: run the sweeps first")
    return pd.DataFrame(rows)


def main() -> None:
    *sweep_dirs, out = map(Path, sys.argv[1:])
    frame = collect(sweep_dirs)
    write_atomic(out, lambda tmp: frame.to_csv(tmp, index=False))
    failed = frame[frame["status"] == "failed"]
    print(
        f"collected {len(frame)} runs, {len(failed)} failed, from {', '.join(map(str, sweep_dirs))} -> {out}"
    )
    for _, r in failed.iterrows():
        print(f"  failed: {r['run_dir']}: {r['error']}")


if __name__ == "__main__":
    main()
