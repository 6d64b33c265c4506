"""Table: background clutter (the proposal's Figure 1), the clutter sweep's base setting (q = 0.05
of 1,000 nominal images, strength 0.7; clutter MNIST and clutter Fashion-MNIST, every class). Per
(data set, nominal class) and method: AUROC
of anomalies against all nominal images; the clutter sensitivity, AUROC of cluttered against clean
nominal images (0.5 = the score ignores clutter, 1 = it ranks every cluttered image first; unlike a
top-k share it has no ceiling set by the number of cluttered images); and the AUROC of anomalies
against cluttered nominal images only.

`python -m paper.tables.tab_clutter paper/results/clutter_sweep.csv OUT.md` writes
OUT.md and OUT.tex; reads only the collected results file.
"""

import sys
from pathlib import Path

import pandas as pd

from deepad.store import write_text
from paper.common import with_methods

SETTING = "base"  # conf/clutter_setting/base.yaml
METRICS = {
    "auroc": "AUROC (anomalies vs all nominal)",
    "clutter_sensitivity": "clutter sensitivity (cluttered vs clean nominal; 0.5 = ignores clutter)",
    "auroc_vs_clutter": "AUROC of anomalies vs cluttered nominal",
}


def base(results: pd.DataFrame) -> pd.DataFrame:
    """The base setting's runs (every run if the file has no settings)."""
    if "clutter_setting" not in results:
        return results
    return results[results["clutter_setting"] == SETTING]


def tables(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One table per metric: (data set, nominal class) x method, with the mean per data set."""
    results, order = with_methods(base(results))
    out = {}
    for metric, label in METRICS.items():
        if metric not in results:
            continue
        part = results.pivot_table(
            index=["dataset", "nominal"], columns="method", values=metric, aggfunc="mean"
        )[order]
        means = part.groupby(level="dataset").mean()
        means.index = pd.MultiIndex.from_tuples(
            [(d, "mean") for d in means.index], names=part.index.names
        )
        both = pd.concat([part, means]).sort_index(level="dataset", sort_remaining=False)
        out[label] = both.reset_index().rename(columns={"dataset": "data set", "nominal": "class"})
    return out


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    tabs = tables(results)
    part = base(results)
    commit = ", ".join(sorted(part["git_commit"].astype(str).unique()))
    md = (
        f"Background clutter, base setting: p = {part['contamination'].iloc[0]} anomalies (other "
        f"classes), q = {part['clutter_share'].iloc[0]} of {part['cap'].iloc[0]:.0f} nominal "
        f"images on natural textures (strength {part['clutter_strength'].iloc[0]}); cells = the "
        f"class's runs averaged over seeds {sorted(part['seed'].unique().tolist())}, mean = over "
        "the classes of a data set (descriptive, no interval: the clutter verdict table pairs "
        "and tests them); A1, A2 and raw pixels scored by Isolation Forest "
        f"(commit {commit})\n"
    )
    md += "".join(
        f"\n**{label}**\n\n{t.to_markdown(index=False, floatfmt='.3f')}\n"
        for label, t in tabs.items()
    )
    write_text(out, md)
    latex = [
        f"% {label}\n" + t.to_latex(index=False, float_format="%.3f") for label, t in tabs.items()
    ]
    write_text(out.with_suffix(".tex"), "\n".join(latex))


if __name__ == "__main__":
    main()
