"""Figure: background clutter (the proposal's Figure 1), the clutter sweep's base setting. Top: per
method, AUROC and the clutter sensitivity (AUROC of cluttered against clean nominal images: 0.5 =
the score ignores clutter), one point per class unit (data set x nominal class, seeds averaged),
bars = mean over units. Bottom: each method's 16 top-flagged images of one run (clutter MNIST,
nominal 7), framed orange = clutter, red = anomaly, grey = nominal (a legend names the colours).

`python -m paper.figures.fig_clutter paper/results/clutter_sweep.csv OUT.png`; reads the results
file and the images kept beside it (clutter_sweep_extremes.npz).
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from deepad.report import FRAME, LEGEND, tile  # noqa: E402
from paper.common import with_methods  # noqa: E402

SETTING = "base"  # conf/clutter_setting/base.yaml
MODELS = (
    "ae_h2o",
    "pretrained",
)  # the proposal's AE (and raw pixels) and EffNet-Lite0; all: tables
from deepad.store import write_atomic  # noqa: E402

METRICS = {
    "auroc": "AUROC (anomalies vs all nominal)",
    "clutter_sensitivity": "clutter sensitivity (cluttered vs clean nominal)",
}


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    if "clutter_setting" in results:
        results = results[results["clutter_setting"] == SETTING]
    results = results[results["model"].isin(MODELS)]
    results, order = with_methods(results)
    method = dict(zip(results["run_dir"], results["method"], strict=True))
    results = results.groupby(["dataset", "nominal", "method"], as_index=False).mean(
        numeric_only=True
    )  # seeds averaged: one point per class unit
    kept = np.load(src.with_name(src.stem + "_extremes.npz"))
    runs = sorted(
        range(len(kept["run_dir"])), key=lambda i: order.index(method[kept["run_dir"][i]])
    )
    np.random.seed(
        0
    )  # stripplot's jitter draws from numpy's global generator: same figure each run
    fig = plt.figure(figsize=(2.2 * max(len(runs), 5), 8.5))
    grid = fig.add_gridspec(2, len(runs), height_ratios=[1.3, 1])
    half = len(runs) // 2
    axes = [fig.add_subplot(grid[0, :half]), fig.add_subplot(grid[0, half:])]
    for ax, (metric, label) in zip(axes, METRICS.items(), strict=True):
        sns.barplot(
            results, x="method", y=metric, order=order, errorbar=None, color="lightsteelblue", ax=ax
        )
        sns.stripplot(
            results, x="method", y=metric, order=order, hue="dataset", palette="dark", ax=ax
        )
        ax.set(xlabel="", ylabel=label, ylim=(0, 1))
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")  # chance / ignores clutter
        ax.tick_params(axis="x", rotation=30)
    axes[1].get_legend().remove()
    axes[0].legend(title="data set (a point per class)", fontsize=8)
    for col, i in enumerate(runs):
        ax = fig.add_subplot(grid[1, col])
        ax.imshow(tile(kept["images"][i, 0], kept["groups"][i, 0], cols=4), interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"{method[kept['run_dir'][i]]}\ntop 16 (MNIST, nominal 7)", fontsize=9)
    fig.legend(
        handles=[Patch(facecolor=FRAME[g], label=LEGEND[g]) for g in LEGEND],
        title="image frame",
        loc="lower center",
        ncol=len(LEGEND),
        fontsize=9,
    )  # the grids' frame colours
    fig.suptitle(
        f"Background clutter, base setting: p = {results['contamination'].iloc[0]}, "
        f"q = {results['clutter_share'].iloc[0]} of nominal images on natural textures; "
        "points: one class each (seeds averaged), bars: their mean",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.05, 1, 1))  # room for the frame legend
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))


if __name__ == "__main__":
    main()
