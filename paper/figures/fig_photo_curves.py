"""Figure: the training curves of the networks trained on the cat and dog photos (loss per epoch;
the DBN per RBM layer, its reconstruction error), one thin line per network, so a reader sees
where each stopped on its curve.

`python -m paper.figures.fig_photo_curves CURVES.csv.gz OUT.png`; reads only the collected curves.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from deepad.store import write_atomic  # noqa: E402

PANELS = {"ae_h2o": "AE", "ae_dense": "Deep AE", "ae_conv": "Conv AE", "dbn": "DBN"}


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    curves = pd.read_csv(src)
    curves = curves[curves["metric"] == "train/loss"]
    present = [m for m in PANELS if m in set(curves["model"])]
    fig, axes = plt.subplots(1, len(present), figsize=(3.2 * len(present), 2.8), squeeze=False)
    for ax, model in zip(axes[0], present, strict=True):
        part = curves[curves["model"] == model]
        for (_, layer), net in part.groupby(["model_key", "layer"]):
            colour = "tab:blue" if layer == 0 else "tab:orange"
            ax.plot(net["epoch"] + 1, net["value"], color=colour, lw=0.6, alpha=0.5)
        ax.set_yscale("log")
        ax.set_xlabel("epoch" + (" (per RBM: blue 1st, orange 2nd)" if model == "dbn" else ""))
        ax.set_title(f"{PANELS[model]}: {part['model_key'].nunique()} networks", fontsize=9)
    axes[0][0].set_ylabel("training loss (MSE)")
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))


if __name__ == "__main__":
    main()
