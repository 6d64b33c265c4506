"""Figure (experiment 2): ROC curves of every method on a representative run (nominal class 7,
p = 0.1, seed 0), a panel per data set; the legend gives each curve's AUROC.

`python -m paper.figures.fig_roc paper/results/ovr.csv OUT.png`; reads the results file and the
per-image scores beside it (ovr_scores.csv.gz, from experiments/collect.py --scores).
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from deepad.store import write_atomic  # noqa: E402
from paper.common import with_methods  # noqa: E402


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results, order = with_methods(pd.read_csv(src))
    scores = pd.read_csv(src.with_name(src.stem + "_scores.csv.gz"))
    scores = scores.merge(results[["run_dir", "method", "dataset", "nominal"]], on="run_dir")
    datasets = list(dict.fromkeys(scores["dataset"]))
    colours = dict(zip(order, sns.color_palette("tab10", len(order)), strict=True))
    fig, axes = plt.subplots(1, len(datasets), figsize=(6 * len(datasets), 5), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        part = scores[scores["dataset"] == dataset]
        for method in [m for m in order if m in set(part["method"])]:
            run = part[part["method"] == method]
            fpr, tpr, _ = roc_curve(run["is_anomaly"], run["score"])
            auroc = roc_auc_score(run["is_anomaly"], run["score"])
            ax.plot(fpr, tpr, color=colours[method], label=f"{method} ({auroc:.3f})")
        ax.plot([0, 1], [0, 1], color="grey", linestyle=":", linewidth=1)
        nominal = part["nominal"].iloc[0]
        ax.set(
            xlabel="false-positive rate",
            ylabel="true-positive rate",
            title=f"{dataset}, nominal class {nominal}, p = 0.1, seed 0",
        )
        ax.legend(fontsize=8, loc="lower right", title="method (AUROC)")
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))


if __name__ == "__main__":
    main()
