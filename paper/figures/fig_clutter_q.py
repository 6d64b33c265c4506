"""Figure (the clutter sweep): clutter sensitivity (AUROC of cluttered against clean nominal images;
0.5 = the score ignores clutter) against the clutter share q, one panel per network, a line per
score: mean over class units (data set x nominal class, seeds averaged first), band = 95% bootstrap
interval over the units. Settings base, q01, q02, q10 of conf/clutter_setting/ (the other knobs at
base). The EffNet-Lite0 panel repeats the H2O AE's RE, the proposal's baseline, for reference.

`python -m paper.figures.fig_clutter_q paper/results/clutter_sweep.csv OUT.png`; reads only the
results file.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from deepad.store import write_atomic  # noqa: E402
from paper import common  # noqa: E402
from paper.common import with_methods  # noqa: E402

VALUE = "clutter_sensitivity"
Q_SETTINGS = ["q01", "q02", "base", "q10"]  # the q axis; every other knob at base
COLOURS = {"RE": "C2", "A1": "C0", "A2": "C1", "energy": "C3", "pixels": "grey"}  # by last word
PANELS = {  # model -> (title, extra reference method)
    "ae_h2o": ("AE 784-50-784", None),
    "dbn": ("DBN 784-500-200", None),
    "pretrained": ("EffNet-Lite0 (ImageNet, frozen)", "AE RE"),
}


def curves(results: pd.DataFrame) -> pd.DataFrame:
    """Per (method, q): mean over units and its 95% bootstrap interval (`lo`, `hi`)."""
    results, _ = with_methods(results)
    results = results[results["clutter_setting"].isin(Q_SETTINGS) & results[VALUE].notna()]
    results = results.assign(
        unit=results["dataset"].astype(str) + ":" + results["nominal"].astype(str)
    )
    return common.mean_ci(results, ["model", "clutter_share"], VALUE, unit="unit")


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    ci = curves(pd.read_csv(src))
    panels = [m for m in PANELS if m in set(ci["model"])]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 4), squeeze=False)
    for ax, model in zip(axes[0], panels, strict=True):
        title, reference = PANELS[model]
        part = ci[ci["model"] == model]
        if reference is not None:
            part = pd.concat([part, ci[ci["method"] == reference]])
        for method, line in part.groupby("method", sort=False):
            line = line.sort_values("clutter_share")
            style = "--" if method == reference else "-"
            colour = COLOURS.get(method.split()[-1], None)
            ax.plot(line["clutter_share"], line["mean"], style, marker="o", label=method, c=colour)
            ax.fill_between(line["clutter_share"], line["lo"], line["hi"], alpha=0.2, color=colour)
        ax.axhline(0.5, color="grey", lw=0.8, ls=":")  # ignores clutter
        ax.set(
            xscale="log",
            xlabel="clutter share q (log scale)",
            ylabel="clutter sensitivity (cluttered vs clean nominal)",
            ylim=(0.2, 1.02),
            title=title,
        )
        ax.minorticks_off()
        ax.set_xticks(sorted(part["clutter_share"].unique()))
        ax.set_xticklabels([f"{q:g}" for q in sorted(part["clutter_share"].unique())])
        ax.legend(fontsize=8, loc="lower right")
    units = int(ci["classes"].max())
    fig.suptitle(
        f"Clutter sweep: lines = mean over {units} class units (MNIST and Fashion-MNIST classes, "
        "seeds averaged); bands = 95% bootstrap interval over units; 0.5 = ignores clutter",
        fontsize=10,
    )
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))


if __name__ == "__main__":
    main()
