"""Collect a sweep's runs into one CSV, a row per run: config axes, metrics, timings, git commit.

`python experiments/collect.py SWEEP_DIR [SWEEP_DIR ...] OUT.csv [--scores Q] [--extremes Q]` reads
SWEEP_DIR/**/metrics.json (or error.json) and the config.yaml beside each (written by
deepad.pipeline.run); nothing else. For the finished runs that match the pandas query Q it also keeps
the per-image scores (OUT_scores.csv.gz: run_dir, index, score, is_anomaly, group, class) or the
good / median / ugly images (OUT_extremes.npz: run_dir (R,), images (R, 3, k, C, H, W), scores and
groups (R, 3, k)), or (--curves) the per-epoch training curves of their networks, once per network
(OUT_curves.csv.gz), so that the paper's figures read `paper/results/` only.
"""

import argparse
import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from deepad.store import write_atomic, write_npz

AXES = {
    "dataset": ("dataset", "name"),
    "nominal": ("dataset", "nominal"),
    "contamination": ("dataset", "contamination"),
    "clutter_share": ("dataset", "clutter", "share"),
    "clutter_strength": ("dataset", "clutter", "strength"),
    "clutter_setting": ("clutter_setting",),
    "method": ("method",),
    "cap": ("dataset", "cap"),
    "split": ("dataset", "split"),
    "model": ("model", "name"),
    "input_size": ("model", "input_size"),
    "a2_layers": ("model", "a2_layers"),
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
    if "max_epochs" in result:  # the epochs the network may train, not the trainer's default
        out["epochs"] = out.pop("max_epochs")
    return out


def collect(sweep_dirs: list[Path]) -> pd.DataFrame:
    paths = [p for d in sweep_dirs for p in Path(d).rglob("metrics.json")]
    done = {p.parent for p in paths}  # a run has one final state: finished wins over failed
    paths += [p for d in sweep_dirs for p in Path(d).rglob("error.json") if p.parent not in done]
    rows = [row(p) for p in sorted(paths)]
    if not rows:
        raise SystemExit(f"no metrics.json under {sweep_dirs}: run the sweeps first")
    return pd.DataFrame(rows)


def selected(frame: pd.DataFrame, query: str) -> pd.DataFrame:
    rows = frame[frame["status"] == "ok"].query(query)
    if rows.empty:
        raise SystemExit(
            f"no finished run matches {query!r}: check the query's column names/values"
        )
    return rows


def scores(frame: pd.DataFrame, query: str) -> pd.DataFrame:
    """The scores.csv of each selected run, stacked, with its run_dir (the CSV's key)."""
    parts = []
    for run_dir in selected(frame, query)["run_dir"]:
        part = pd.read_csv(Path(run_dir) / "scores.csv")
        part["score"] = part["score"].map(lambda v: float(f"{v:.6g}"))
        parts.append(part.assign(run_dir=run_dir))
    return pd.concat(parts, ignore_index=True)


def extremes(frame: pd.DataFrame, query: str) -> dict[str, np.ndarray]:
    """The extremes.npz of each selected run, stacked along a first axis (R, ...)."""
    run_dirs = list(selected(frame, query)["run_dir"])
    loaded = [np.load(Path(d) / "extremes.npz") for d in run_dirs]
    stacked = {key: np.stack([z[key] for z in loaded]) for key in loaded[0].files}
    return {"run_dir": np.array(run_dirs), **stacked}


def curves(frame: pd.DataFrame, query: str) -> pd.DataFrame:
    """The per-epoch training curves (curves.json) of each network among the selected runs, once
    per network (runs that share a model_key share it), long: one row per (network, epoch, layer,
    metric) with the network's data set, class, p, model and seed."""
    rows = []
    picked = selected(frame, query).dropna(subset=["model_key"]).drop_duplicates("model_key")
    for _, run in picked.iterrows():
        path = Path(run["run_dir"]) / "curves.json"
        if not path.is_file():
            continue
        for point in json.loads(path.read_text()):
            for metric, value in point.items():
                if metric in ("epoch", "layer") or not isinstance(value, int | float):
                    continue
                rows.append(
                    {
                        **{
                            k: run[k]
                            for k in ("model", "dataset", "nominal", "contamination", "seed")
                        },
                        "model_key": run["model_key"],
                        "epoch": point["epoch"],
                        "layer": point.get("layer", 0),
                        "metric": metric,
                        "value": float(f"{value:.6g}"),
                    }
                )
    if not rows:
        raise SystemExit(f"no curves.json in the runs matching {query!r}: were they trained here?")
    return pd.DataFrame(rows)


def write_gz(table: pd.DataFrame, path: Path) -> None:
    """CSV, gzip-packed without a timestamp: the same table gives the same bytes."""
    packed = gzip.compress(table.to_csv(index=False).encode(), mtime=0)
    write_atomic(path, lambda tmp: Path(tmp).write_bytes(packed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path, help="SWEEP_DIR [SWEEP_DIR ...] OUT.csv")
    parser.add_argument("--scores", help="pandas query: keep these runs' per-image scores")
    parser.add_argument("--extremes", help="pandas query: keep these runs' good/median/ugly images")
    parser.add_argument("--curves", help="pandas query: keep these runs' networks' training curves")
    args = parser.parse_args()
    *sweep_dirs, out = args.paths
    if not sweep_dirs or out.suffix != ".csv":
        parser.error("give one or more sweep directories, then the OUT.csv to write")
    frame = collect(sweep_dirs)
    stem = out.with_suffix("")
    if args.scores:
        table = scores(frame, args.scores)
        path = Path(f"{stem}_scores.csv.gz")
        write_gz(table, path)
        print(f"kept the scores of {table['run_dir'].nunique()} runs -> {path}")
    if args.curves:
        table = curves(frame, args.curves)
        path = Path(f"{stem}_curves.csv.gz")
        write_gz(table, path)
        print(f"kept the training curves of {table['model_key'].nunique()} networks -> {path}")
    if args.extremes:
        arrays = extremes(frame, args.extremes)
        write_npz(Path(f"{stem}_extremes.npz"), arrays)
        print(f"kept the extremes of {len(arrays['run_dir'])} runs -> {stem}_extremes.npz")
    write_atomic(out, lambda tmp: frame.to_csv(tmp, index=False))
    failed = frame[frame["status"] == "failed"]
    print(
        f"collected {len(frame)} runs, {len(failed)} failed, from {', '.join(map(str, sweep_dirs))} -> {out}"
    )
    for _, r in failed.iterrows():
        print(f"  failed: {r['run_dir']}: {r['error']}")


if __name__ == "__main__":
    main()
