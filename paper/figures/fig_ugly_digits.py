"""Figure (experiment 1): the good, median and ugly digits of each score, in the manner of the H2O
deep-learning tutorial's "ugly digits" (RE of a 784-50-784 tanh autoencoder on MNIST): per method,
the 16 most normal, 16 median and 16 most anomalous images of the MNIST test set (seed 0).

`python -m paper.figures.fig_ugly_digits paper/results/ugly_digits.csv OUT.png`; reads the results
file and the images kept beside it (ugly_digits_extremes.npz, from experiments/collect.py --extremes).
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from deepad.report import tile  # noqa: E402
from deepad.store import write_atomic  # noqa: E402
from paper.common import with_methods  # noqa: E402

COLUMNS = {2: "good (lowest scores)", 1: "median", 0: "ugly (highest scores)"}  # extremes order


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results, order = with_methods(pd.read_csv(src))
    kept = np.load(src.with_name(src.stem + "_extremes.npz"))
    method = dict(zip(results["run_dir"], results["method"], strict=True))
    rows = sorted(
        range(len(kept["run_dir"])), key=lambda i: order.index(method[kept["run_dir"][i]])
    )
    fig, axes = plt.subplots(len(rows), 3, figsize=(10, 3.4 * len(rows)), squeeze=False)
    for r, i in enumerate(rows):
        for c, (which, title) in enumerate(COLUMNS.items()):
            ax = axes[r, c]
            ax.imshow(
                tile(kept["images"][i, which], kept["groups"][i, which], cols=4),
                interpolation="nearest",
            )
            ax.set_axis_off()
            ax.set_title(f"{method[kept['run_dir'][i]]}: {title}", fontsize=10)
    fig.suptitle("Ugly digits: MNIST test set (10,000 images, no anomalies), seed 0")
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))


if __name__ == "__main__":
    main()
