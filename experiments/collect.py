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
    "features": ("features", "name"),
    "detector": ("detector", "name"),
    "epochs": ("trainer", "max_epochs"),
    "seed": ("seed",),
}


def row(metrics_path: Path) -> dict:
    cfg = yaml.safe_load((metrics_path.parent / "config.yaml").read_text())
    out = {"run_dir": str(metrics_path.parent)}
    for name, keys in AXES.items():
        value = cfg
        for k in keys:
            value = value.get(k) if isinstance(value, dict) else None
        out[name] = "+".join(map(str, value)) if isinstance(value, list) else value
    out.update(json.loads(metrics_path.read_text()))
    return out


def collect(sweep_dirs: list[Path]) -> pd.DataFrame:
    rows = [row(p) for d in sweep_dirs for p in sorted(Path(d).rglob("metrics.json"))]
    if not rows:
        raise SystemExit(f"no metrics.json under {sweep_dirs}: run the sweeps first")
    return pd.DataFrame(rows)


def main() -> None:
    *sweep_dirs, out = map(Path, sys.argv[1:])
    frame = collect(sweep_dirs)
    write_atomic(out, lambda tmp: frame.to_csv(tmp, index=False))
    print(f"collected {len(frame)} runs from {', '.join(map(str, sweep_dirs))} -> {out}")


if __name__ == "__main__":
    main()
