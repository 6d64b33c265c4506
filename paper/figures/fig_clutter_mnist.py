"""Figure: background clutter on MNIST: per method, AUROC and the clutter false-alarm share (share
of cluttered nominal images among the k top-scored), one point per nominal class, bars = mean.

`python paper/figures/fig_clutter_mnist.py paper/results/clutter_mnist.csv OUT.png`; reads only the results.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from deepad.report import with_methods  # noqa: E402
from deepad.store import write_atomic  # noqa: E402

METRICS = {
    "auroc": "AUROC (anomalies vs all nominal)",
    "clutter_false_alarm_share": "clutter false-alarm share",
}


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    results, order = with_methods(results)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (metric, label) in zip(axes, METRICS.items(), strict=True):
        sns.barplot(
            results, x="method", y=metric, order=order, errorbar=None, color="lightsteelblue", ax=ax
        )
        sns.stripplot(
            results, x="method", y=metric, order=order, hue="nominal", palette="dark", ax=ax
        )
        ax.set(xlabel="", ylabel=label, ylim=(0, 1))
        ax.tick_params(axis="x", rotation=30)
    axes[1].get_legend().remove()
    axes[0].legend(title="nominal digit", fontsize=8)
    fig.suptitle(
        f"Clutter MNIST: p = {results['contamination'].iloc[0]}, "
        f"q = {results['clutter_share'].iloc[0]} of nominal images on natural textures"
    )
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))


if __name__ == "__main__":
    main()
