"""Figure: AUROC per nominal class and method (one-vs-rest, p = 0.1, mean over seeds), a seaborn
heatmap per data set; a diverging colour scale centred at 0.5 (chance) over the data's range, so a
class scored worse than chance shows as such.

`python -m paper.figures.fig_heatmap_ovr paper/results/ovr.csv OUT.png`; reads only the results.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from deepad.store import write_atomic  # noqa: E402
from paper.common import with_methods  # noqa: E402

P = 0.1


def heatmap(
    results: pd.DataFrame, order: list[str], dataset: str, ax: plt.Axes, vmin: float, vmax: float
) -> None:
    grid = results.pivot_table(index="method", columns="nominal", values="auroc", aggfunc="mean")
    grid = grid.loc[order]
    grid["mean"] = grid.mean(axis=1)
    sns.heatmap(
        grid,
        annot=True,
        fmt=".2f",
        cmap="vlag",
        center=0.5,
        vmin=vmin,
        vmax=vmax,
        ax=ax,
        cbar_kws={"label": "AUROC"},
    )
    seeds = results["seed"].nunique()
    ax.set(
        xlabel="nominal class",
        ylabel="",
        title=f"{dataset} one-vs-rest, p = {P}: AUROC per class (mean of {seeds} seeds)",
    )


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    results, order = with_methods(results[results["contamination"] == P])
    datasets = list(results["dataset"].unique())
    fig, axes = plt.subplots(len(datasets), 1, figsize=(9, 4 * len(datasets)), squeeze=False)
    means = results.groupby(["dataset", "method", "nominal"])["auroc"].mean()
    vmin, vmax = min(means.min(), 0.5), max(means.max(), 0.5)  # the data's range, 0.5 inside it
    for ax, dataset in zip(axes[:, 0], datasets, strict=True):
        part = results[results["dataset"] == dataset]
        heatmap(part, [m for m in order if m in set(part["method"])], dataset, ax, vmin, vmax)
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))


if __name__ == "__main__":
    main()
