"""Table: mean ± std of AUROC and AP per method (AE and DBN: RE, A1, A2; DBN free energy; raw
pixels) for each data set and contamination rate p, contaminated one-vs-rest. The mean is over the
nominal classes and seeds; the std is over seeds of the per-seed class mean (a seed redraws the
anomalies and reinitialises the networks).

`python paper/tables/tab_ovr.py RESULTS.csv OUT.md [README.md]` writes OUT.md and OUT.tex (and the
tables between README's `results:ovr` markers); reads only the collected results file.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from deepad.report import with_methods
from deepad.store import write_between_markers, write_text


def mean_std(results: pd.DataFrame, metric: str, order: list[str]) -> pd.DataFrame:
    """Rows (dataset, p), columns methods, cells 'mean ± std' (std over seeds; mean alone for one seed)."""
    per_seed = results.groupby(["dataset", "contamination", "method", "seed"])[metric].mean()
    stats = per_seed.groupby(["dataset", "contamination", "method"]).agg(["mean", "std"])
    cells = stats.apply(
        lambda r: f"{r['mean']:.3f}" if np.isnan(r["std"]) else f"{r['mean']:.3f} ± {r['std']:.3f}",
        axis=1,
    )
    wide = cells.unstack("method")
    wide.index.names = ["dataset", "p"]
    return wide[[m for m in order if m in wide]].fillna("")


def design(results: pd.DataFrame) -> str:
    return (
        f"{results['nominal'].nunique()} nominal classes x {results['seed'].nunique()} seeds per cell "
        f"({len(results)} runs)"
    )


def training_note(results: pd.DataFrame) -> str:
    trained = results[results["model_cache"] == "miss"]
    scoring = (results["seconds_total"] - results["seconds_train"]).groupby(results["method"])
    low, high = scoring.mean().min(), scoring.mean().max()
    note = f"Scoring per run (data, features, detector; no training): {low:.2f}-{high:.2f} s. "
    if trained.empty:
        return note + "Every model came from the cache."
    per_model = trained.groupby("model")["seconds_train"].agg(["mean", "count"])
    parts = [f"{m} {r['mean']:.1f} s ({int(r['count'])} models)" for m, r in per_model.iterrows()]
    return note + "Training per model, shared by its scores: " + "; ".join(parts) + "."


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results, order = with_methods(pd.read_csv(src))
    commit = ", ".join(sorted(results["git_commit"].dropna().astype(str).unique()))
    md = (
        f"Contaminated one-vs-rest: mean ± std over seeds, {design(results)}; A1, A2 and raw pixels "
        f"scored by Isolation Forest (commit {commit})\n"
    )
    latex = []
    for metric in ("auroc", "ap"):
        tab = mean_std(results, metric, order)
        md += f"\n**{metric.upper()}**\n\n{tab.reset_index().to_markdown(index=False)}\n"
        latex.append(f"% {metric}\n" + tab.to_latex())
    md += f"\n{training_note(results)}\n"
    write_text(out, md)
    write_text(out.with_suffix(".tex"), "\n".join(latex))
    if len(sys.argv) > 3:
        write_between_markers(Path(sys.argv[3]), "results:ovr", md)


if __name__ == "__main__":
    main()
