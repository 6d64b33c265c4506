"""`make verify`: re-run a stated sample of the committed runs from a fresh cache and compare them
with paper/results, per network and score, against a stated tolerance.

    python experiments/verify.py [--out outputs/verify] [--results paper/results]

The sample (`SAMPLE`): nominal class 7 at p = 0.1, seed 0, both data sets, of every network the
paper trains (the H2O AE with raw pixels, the DBN, the deep dense and conv AEs) and of the
pretrained network (section 6's kNN on EfficientNet-Lite0 features), every network trained anew.
Each runs exactly as `make reproduce` runs it (the same sweep, folders and configs; only the sweep
folder and the cache are fresh), so a difference is the machine's or the code's.

Tolerance (`TOLERANCE`, |AUROC| and |AP| differences): float rounding differs between CPUs and
MKL's code paths; the H2O AE, raw pixels and EfficientNet-Lite0 move by rounding only, the deep
networks more, and the DBN most, since its Gibbs sampling turns last-bit differences into other
Bernoulli draws and its training then diverges; AP, which rests on the few top-ranked images,
moves more than AUROC. The bounds are about 1.5x the largest difference seen at p = 0.1 between
the committed results and a full rerun on another machine of the same kind (2-core AMD EPYC,
MKL's AVX2 path). Exit 0 when every difference is within its bound, 1 when
one is not (its row says which), 2 when the committed results are missing.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import pandas as pd

from deepad import sweep
from deepad.store import write_atomic

CELL = ["dataset.nominal=[7]", "dataset.contamination=0.1", "seed=0"]
SAMPLE = {  # experiment -> (overrides that narrow its full-profile sweep, its results file)
    "ovr": (CELL, "ovr.csv"),
    "ovr_dbn": (CELL, "ovr.csv"),
    "ovr_deep": (["dataset.nominal=[7]", "seed=0"], "deep.csv"),
    "ovr_conv": (["dataset.nominal=[7]", "seed=0"], "deep.csv"),
    "beyond": (["dataset.nominal=[7]", "seed=0", "+method=pre_knn"], "beyond.csv"),
}
TOLERANCE = {  # network -> the largest |difference| of (AUROC, AP) a reproduction may show
    "raw pixels": (0.001, 0.001),
    "ae_h2o": (0.001, 0.003),
    "pretrained": (0.001, 0.001),
    "ae_dense": (0.02, 0.06),
    "ae_conv": (0.01, 0.07),
    "dbn": (0.05, 0.12),
}


def network(row: pd.Series) -> str:
    return "raw pixels" if row["features"] == "raw" else str(row["model"])


def rerun(out: Path, jobs: int) -> pd.DataFrame:
    """The sample's runs, from a fresh cache under `out`: one row per run (metrics + axes)."""
    import json

    rows = []
    for experiment, (narrow, results) in SAMPLE.items():
        args = [f"+experiment={experiment}", "profile=full", "logger=none", *narrow,
                f"hydra.sweep.dir={out / experiment}", f"paths.cache={out / 'cache'}"]  # fmt: skip
        counts = sweep.run(args, jobs=jobs, threads=1)
        if counts["failed"]:
            raise SystemExit(f"verify: {counts['failed']} runs of {experiment} failed")
        for job in sweep.expand(args):
            metrics = json.loads((job.out / "metrics.json").read_text())
            rows.append({"experiment": experiment, "name": job.out.name, "results": results,
                         "dataset": job.cfg.dataset.name, "model": job.cfg.model.name,
                         "features": job.cfg.features.name, "detector": job.cfg.detector.name,
                         "a2_layers": job.cfg.model.get("a2_layers"),
                         "auroc": metrics["auroc"], "ap": metrics["ap"],
                         "mkl": metrics["version_mkl-dispatch"],
                         "git_commit": metrics["git_commit"]})  # fmt: skip
    return pd.DataFrame(rows)


def compare(new: pd.DataFrame, results_dir: Path) -> pd.DataFrame:
    """Per network and score: runs, the largest |difference| of AUROC and AP, the bound, ok."""
    parts = []
    for results, part in new.groupby("results"):
        old = pd.read_csv(results_dir / results)
        old["key"] = old["run_dir"].map(lambda d: "/".join(Path(d).parts[-2:]))
        part = part.assign(key=part["experiment"] + "/" + part["name"])
        both = part.merge(old[["key", "auroc", "ap"]], on="key", suffixes=("", "_paper"))
        if len(both) != len(part):
            missing = sorted(set(part["key"]) - set(both["key"]))
            raise SystemExit(f"verify: {results_dir / results} has no run {missing[0]}")
        parts.append(both)
    both = pd.concat(parts)
    both["network"] = both.apply(network, axis=1)
    both["d_auroc"] = (both["auroc"] - both["auroc_paper"]).abs()
    both["d_ap"] = (both["ap"] - both["ap_paper"]).abs()
    table = both.groupby(["network", "features"], sort=False).agg(
        runs=("key", "size"), max_d_auroc=("d_auroc", "max"), max_d_ap=("d_ap", "max")
    )
    table = table.reset_index()
    table["tol_auroc"] = table["network"].map(lambda n: TOLERANCE[n][0])
    table["tol_ap"] = table["network"].map(lambda n: TOLERANCE[n][1])
    table["ok"] = (table["max_d_auroc"] <= table["tol_auroc"]) & (
        table["max_d_ap"] <= table["tol_ap"]
    )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("outputs/verify"))
    parser.add_argument("--results", type=Path, default=Path("paper/results"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument(
        "--record", type=Path, help="write the rerun's runs to this CSV instead of comparing"
    )  # make rounding: the same sample on MKL's two code paths, for tab_rounding
    args = parser.parse_args()
    if not (args.results / "ovr.csv").is_file():
        print(f"verify: no committed results in {args.results}", file=sys.stderr)
        sys.exit(2)
    shutil.rmtree(args.out, ignore_errors=True)  # a fresh cache: every network trained anew
    new = rerun(args.out, args.jobs)
    if args.record:
        write_atomic(args.record, lambda tmp: new.to_csv(tmp, index=False))
        print(f"verify: {len(new)} runs ({new['mkl'].iloc[0]} MKL path) -> {args.record}")
        return
    table = compare(new, args.results)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    bad = table[~table["ok"]]
    if len(bad):
        print(f"verify: {len(bad)} of {len(table)} rows beyond their tolerance", file=sys.stderr)
        sys.exit(1)
    print(f"verify: all {len(table)} rows within their tolerance ({int(table['runs'].sum())} runs)")


if __name__ == "__main__":
    main()
