"""Figure (experiment 2): AUROC against the contamination rate p, a line per method (mean over
nominal classes of the seed-averaged AUROC) with its 95% two-level bootstrap interval as a band
(`deepad.stats.mean_ci`, the paper's one uncertainty measure), a panel per data set.

`python -m paper.figures.fig_auroc_vs_p paper/results/ovr.csv OUT.png`; reads only the results.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from deepad.store import write_atomic  # noqa: E402
from paper import common  # noqa: E402
from paper.common import with_methods  # noqa: E402


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results, order = with_methods(pd.read_csv(src))
    ci = common.mean_ci(results, ["dataset", "contamination"])
    datasets = sorted(ci["dataset"].unique())
    colours = dict(zip(order, sns.color_palette("tab10", len(order)), strict=True))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4.2), squeeze=False)
    ps = sorted(ci["contamination"].unique())
    for ax, dataset in zip(axes[0], datasets, strict=True):
        for method in order:
            line = ci[(ci["dataset"] == dataset) & (ci["method"] == method)]
            line = line.sort_values("contamination")
            if line.empty:
                continue
            c = colours[method]
            ax.plot(line["contamination"], line["mean"], "o-", color=c, label=method, ms=4)
            ax.fill_between(line["contamination"], line["lo"], line["hi"], color=c, alpha=0.12)
        ax.set(xscale="log", title=dataset, xlabel="contamination p (log scale)", ylabel="AUROC")
        ax.set_xticks(ps, [f"{p:g}" for p in ps])
        ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
    n = int(ci["classes"].max())
    fig.suptitle(
        f"One-vs-rest AUROC against contamination: mean over {n} classes (seeds averaged); "
        f"bands: {common.UNCERTAINTY}",
        fontsize=10,
    )
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=120, format="png", bbox_inches="tight"))


if __name__ == "__main__":
    main()
