"""Figure (experiment 3): background clutter on MNIST. Top: per method, AUROC and the clutter
sensitivity (AUROC of cluttered against clean nominal images: 0.5 = the score ignores clutter),
one point per (nominal class, seed), bars = mean. Bottom: each method's 16 top-flagged
images of one run (nominal 7, seed 0), framed orange = clutter, red = anomaly, grey = nominal.

`python paper/figures/fig_clutter_mnist.py paper/results/clutter_mnist.csv OUT.png`; reads the
results file and the images kept beside it (clutter_mnist_extremes.npz).
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from deepad.report import tile, with_methods  # noqa: E402
from deepad.store import write_atomic  # noqa: E402

METRICS = {
    "auroc": "AUROC (anomalies vs all nominal)",
    "clutter_sensitivity": "clutter sensitivity (cluttered vs clean nominal)",
}


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    results, order = with_methods(results)
    kept = np.load(src.with_name(src.stem + "_extremes.npz"))
    method = dict(zip(results["run_dir"], results["method"], strict=True))
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
            results, x="method", y=metric, order=order, hue="nominal", palette="dark", ax=ax
        )
        ax.set(xlabel="", ylabel=label, ylim=(0, 1))
        ax.axhline(0.5, color="grey", lw=0.8, ls="--")  # chance / ignores clutter
        ax.tick_params(axis="x", rotation=30)
    axes[1].get_legend().remove()
    axes[0].legend(title="nominal digit", fontsize=8)
    for col, i in enumerate(runs):
        ax = fig.add_subplot(grid[1, col])
        ax.imshow(tile(kept["images"][i, 0], kept["groups"][i, 0], cols=4), interpolation="nearest")
        ax.set_axis_off()
        ax.set_title(f"{method[kept['run_dir'][i]]}\ntop 16 (nominal 7, seed 0)", fontsize=9)
    fig.suptitle(
        f"Clutter MNIST: p = {results['contamination'].iloc[0]}, "
        f"q = {results['clutter_share'].iloc[0]} of nominal images on natural textures; "
        "points: one (class, seed) run each, bars: their mean; image frames: "
        "grey = nominal, orange = nominal on clutter, red = anomaly",
        fontsize=10,
    )
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))


if __name__ == "__main__":
    main()
