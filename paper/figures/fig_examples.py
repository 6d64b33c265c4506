"""Figure: example images of the evaluated data sets (clutter MNIST of section 3, Fashion-MNIST of
section 2): nominal, nominal with clutter, anomaly.

`python -m paper.figures.fig_examples OUT.png [DATA_DIR]`. The one figure that reads the data (it
shows images, not results): it builds the sets with their configs in conf/dataset/.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from deepad.config import compose  # noqa: E402
from deepad.data import sets  # noqa: E402
from deepad.report import tile  # noqa: E402
from deepad.store import write_atomic  # noqa: E402

SETS = {"clutter_mnist": [7], "fashion_mnist": [0]}  # only sets the paper evaluates
GROUPS = ("nominal", "nominal_clutter", "anomaly")


def main() -> None:
    out = Path(sys.argv[1])
    data = sys.argv[2] if len(sys.argv) > 2 else "data"
    fig, axes = plt.subplots(len(SETS), len(GROUPS), figsize=(12, 1.3 * len(SETS)), squeeze=False)
    for row, (name, nominal) in zip(axes, SETS.items(), strict=True):
        cfg = compose([f"dataset={name}", f"dataset.nominal={nominal}", f"paths.data={data}"])
        s = sets.build(cfg.dataset)
        for ax, group in zip(row, GROUPS, strict=True):
            idx = np.flatnonzero(s.record.groups == group)[:8]
            ax.axis("off")
            if len(idx) == 0:
                ax.set_title(f"{name}: no {group} images", fontsize=9)
                continue
            ax.imshow(tile(s.images[idx], s.record.groups[idx], cols=8), interpolation="nearest")
            ax.set_title(f"{name}: {group}", fontsize=9)
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))


if __name__ == "__main__":
    main()
