"""Figure: training curves of every network trained at p = 0.1 (one-vs-rest), a panel per network
and curve (AE: training loss; DBN per layer: CD reconstruction error, pseudo-log-likelihood): the
median over networks (classes x seeds) per epoch, with the band from the 10th to the 90th
percentile, a colour per data set.

`python -m paper.figures.fig_convergence CURVES.csv.gz OUT.png`; reads only the collected curves.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from deepad.store import write_atomic  # noqa: E402
from paper.tables import tab_convergence as conv  # noqa: E402  # its curves


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    curves = pd.read_csv(src)
    curves = curves[curves["metric"].isin(conv.CURVES)]
    curves["curve"] = [
        conv.curve_name(*k)
        for k in zip(curves["model"], curves["layer"], curves["metric"], strict=True)
    ]
    # epochs within a layer: a DBN counts its epochs across layers
    curves["step"] = (
        curves["epoch"] - curves.groupby(["model_key", "layer"])["epoch"].transform("min") + 1
    )
    names = list(dict.fromkeys(curves.sort_values(["model", "layer", "metric"])["curve"]))
    cols = 4
    rows = -(-len(names) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        part = curves[curves["curve"] == name]
        for dataset, c in part.groupby("dataset"):
            q = c.groupby("step")["value"].quantile([0.1, 0.5, 0.9]).unstack()
            n = c["model_key"].nunique()
            ax.plot(q.index, q[0.5], label=f"{dataset} (median of {n})")
            ax.fill_between(q.index, q[0.1], q[0.9], alpha=0.2)
        ax.set(title=name, xlabel="epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle(
        "Training curves at p = 0.1: median over networks (classes x seeds), band 10th-90th "
        "percentile",
        fontsize=10,
    )
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))


if __name__ == "__main__":
    main()
