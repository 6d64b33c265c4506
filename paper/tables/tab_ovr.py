"""Table: AUROC per nominal class and method (AE and DBN: RE, A1, A2; DBN free energy; raw
pixels), contaminated one-vs-rest at p = 0.1, one table per data set.

`python paper/tables/tab_ovr.py RESULTS.csv OUT.md [README.md]` writes OUT.md and OUT.tex (and the
tables between README's `results:ovr` markers); reads only the collected results file.
"""

import sys
from pathlib import Path

import pandas as pd

from deepad.report import with_methods
from deepad.store import write_between_markers, write_text


def table(results: pd.DataFrame) -> pd.DataFrame:
    results, order = with_methods(results)
    auroc = results.pivot_table(index="nominal", columns="method", values="auroc", aggfunc="mean")
    auroc = auroc[order]
    auroc.loc["mean"] = auroc.mean()
    scoring = results["seconds_total"] - results["seconds_train"]
    auroc.loc["seconds / run, excl. training"] = scoring.groupby(results["method"]).mean()
    return auroc


def training_note(results: pd.DataFrame) -> str:
    trained = results[results["model_cache"] == "miss"]
    if trained.empty:
        return "Every model came from the cache (`make clean` to retrain)."
    per_model = trained.groupby("model")["seconds_train"].agg(["mean", "count"])
    parts = [f"{m} {r['mean']:.1f} s ({int(r['count'])} models)" for m, r in per_model.iterrows()]
    return (
        "Training per model (one per nominal class, shared by its scores): "
        + "; ".join(parts)
        + "."
    )


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    commit = ", ".join(sorted(results["git_commit"].dropna().astype(str).unique()))
    md = (
        f"AUROC, contaminated one-vs-rest, p = {results['contamination'].iloc[0]}, "
        f"seed {results['seed'].iloc[0]}; A1, A2 and raw pixels scored by Isolation Forest "
        f"(commit {commit})\n"
    )
    latex = []
    for dataset, part in results.groupby("dataset", sort=False):
        tab = table(part)
        md += f"\n**{dataset}**\n\n{tab.to_markdown(floatfmt='.3f')}\n\n{training_note(part)}\n"
        latex.append(f"% {dataset}\n" + tab.to_latex(float_format="%.3f"))
    write_text(out, md)
    write_text(out.with_suffix(".tex"), "\n".join(latex))
    if len(sys.argv) > 3:
        write_between_markers(Path(sys.argv[3]), "results:ovr", md)


if __name__ == "__main__":
    main()
