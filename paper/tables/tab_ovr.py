"""Table: AUROC and AP per method (AE and DBN: RE, A1, A2; DBN free energy; raw pixels) for each
data set and contamination rate p, contaminated one-vs-rest: the mean over nominal classes of the
seed-averaged value, with its 95% two-level bootstrap interval (`deepad.stats.mean_ci`, the
paper's one uncertainty measure).

`python -m paper.tables.tab_ovr RESULTS.csv OUT.md [README.md]` writes OUT.md and OUT.tex (and the
tables between README's `results:ovr` markers); reads only the collected results file.
"""

import sys
from pathlib import Path

import pandas as pd

from deepad.store import write_between_markers, write_text
from paper import common
from paper.common import with_methods


def mean_ci(results: pd.DataFrame, metric: str, order: list[str]) -> pd.DataFrame:
    """Rows (dataset, p), columns methods, cells 'mean [lo, hi]' (95% bootstrap over classes)."""
    ci = common.mean_ci(results, ["dataset", "contamination"], metric)
    ci["cell"] = [common.cell(*r) for r in ci[["mean", "lo", "hi"]].itertuples(index=False)]
    wide = ci.pivot(index=["dataset", "contamination"], columns="method", values="cell")
    wide.index.names = ["dataset", "p"]
    return wide[[m for m in order if m in wide]].fillna("")


def design(results: pd.DataFrame) -> str:
    """'10 nominal classes x seeds per cell (3 at p = 0.1; 1 at p = 0.01, 0.05, 0.2) (N runs)'."""
    seeds = results.groupby("contamination")["seed"].nunique()
    by_count = {n: [f"{p:g}" for p, k in seeds.items() if k == n] for n in sorted(set(seeds))[::-1]}
    per_p = "; ".join(f"{n} at p = {', '.join(ps)}" for n, ps in by_count.items())
    return (
        f"{results['nominal'].nunique()} nominal classes x seeds per cell ({per_p}) "
        f"({len(results)} runs)"
    )


def training_note(results: pd.DataFrame) -> str:
    trained = results[results["model_cache"] == "miss"].drop_duplicates("run_dir")
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
    caption = (
        f"Contaminated one-vs-rest, {design(results)}: mean over classes of the seed-averaged value "
        f"[{common.UNCERTAINTY}]; A1, A2 and raw pixels scored by Isolation Forest"
    )
    md = f"{caption} (commit {commit})\n"
    body = ""
    latex = []
    for metric in ("auroc", "ap"):
        tab = mean_ci(results, metric, order)
        body += f"\n**{metric.upper()}**\n\n{tab.reset_index().to_markdown(index=False)}\n"
        latex.append(f"% {metric}\n" + tab.to_latex())
    body += f"\n{training_note(results)}\n"
    write_text(out, md + body)
    write_text(out.with_suffix(".tex"), "\n".join(latex))
    if len(sys.argv) > 3:  # README names where the runs' commit is, not the commit itself
        readme = f"{caption} (the runs' commit: paper/tables/ovr.md)\n"
        write_between_markers(Path(sys.argv[3]), "results:ovr", readme + body)


if __name__ == "__main__":
    main()
