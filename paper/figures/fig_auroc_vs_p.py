"""Figure (experiment 2): AUROC against the contamination rate p, a line per method with its 95%
bootstrap interval over the (nominal class, seed) runs, a panel per data set.

`python paper/figures/fig_auroc_vs_p.py paper/results/ovr.csv OUT.png`; reads only the results.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from deepad.report import with_methods  # noqa: E402
from deepad.store import write_atomic  # noqa: E402


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results, order = with_methods(pd.read_csv(src))
    sns.set_theme(style="whitegrid", context="notebook")
    grid = sns.relplot(
        results,
        x="contamination",
        y="auroc",
        hue="method",
        hue_order=order,
        style="method",
        style_order=order,
        col="dataset",
        kind="line",
        markers=True,
        dashes=False,
        errorbar=("ci", 95),
        n_boot=1000,
        seed=0,
        height=4,
        aspect=1.1,
    )
    grid.set(xscale="log", xticks=sorted(results["contamination"].unique()))
    for ax in grid.axes.flat:
        ax.set_xticklabels([f"{p:g}" for p in sorted(results["contamination"].unique())])
    grid.set_axis_labels("contamination p (log scale)", "AUROC")
    n = results.groupby(["dataset", "contamination", "method"]).size().max()
    grid.figure.suptitle(
        f"One-vs-rest AUROC against contamination: mean and 95% CI over {n} runs", y=1.04
    )
    save = lambda tmp: grid.figure.savefig(tmp, dpi=120, format="png", bbox_inches="tight")  # noqa: E731
    write_atomic(out, save)


if __name__ == "__main__":
    main()
