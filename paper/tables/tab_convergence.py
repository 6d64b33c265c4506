"""Table: did training converge? Per network, data set and training curve (AE: training loss; DBN
per layer: CD reconstruction error and pseudo-log-likelihood), the relative change over the last
epoch, |c_T - c_{T-1}| / |c_{T-1}|, and over the last third of the epochs, median and largest over
the networks trained (classes x seeds at p = 0.1), and the share of networks whose loss meets the
plateau rule (`training.plateaued`, the constants of conf/model/ae_conv.yaml: each of the last
`stop_patience` epochs lowered it by less than `stop_min_delta`) at its last epoch, with the median
final loss. Small last-epoch changes mean the curve has flattened at the configured epochs, not
that a better optimum does not exist. A second curves file (the epochs-sensitivity check's
networks, trained twice as long) adds its rows, labelled "twice".

`python -m paper.tables.tab_convergence CURVES.csv.gz [TWICE.csv.gz] OUT.md`; reads only the
collected curves.
"""

import sys
from pathlib import Path

import pandas as pd

from deepad.config import compose
from deepad.models.training import plateaued
from paper.common import METHOD_NAMES, write_table

CURVES = {"train/loss": "loss", "train/pseudo_likelihood": "pseudo-log-likelihood"}
NETWORKS = {m: name.removesuffix(" RE") for (m, f), name in METHOD_NAMES.items() if f == "re"}


def rule() -> tuple[int, float]:
    """The plateau rule's patience and relative change (conf/model/ae_conv.yaml)."""
    model = compose(["model=ae_conv"]).model
    return int(model.stop_patience), float(model.stop_min_delta)


def per_network(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per (network, layer, metric): its last-epoch and last-third relative changes."""
    curves = curves[curves["metric"].isin(CURVES)]
    rows = []
    patience, delta = rule()
    keys = ["model", "dataset", "model_key", "layer", "metric"]
    for key, c in curves.sort_values("epoch").groupby(keys):
        v = c["value"].to_numpy()
        if len(v) < 2:
            continue
        third = max(1, len(v) // 3)
        rows.append(
            {
                **dict(zip(keys, key, strict=True)),
                "epochs": len(v),
                "last": abs(v[-1] - v[-2]) / abs(v[-2]),
                "last_third": abs(v[-1] - v[-1 - third]) / abs(v[-1 - third]),
                "met": plateaued(list(v), patience, delta) if key[-1] == "train/loss" else None,
                "final": v[-1] if key[-1] == "train/loss" else None,
            }
        )
    return pd.DataFrame(rows)


def curve_name(model: str, layer: int, metric: str) -> str:
    network = NETWORKS.get(model, model)
    where = f" layer {int(layer) + 1}" if model == "dbn" else ""
    return f"{network}{where} {CURVES[metric]}"


def table(curves: pd.DataFrame, twice: pd.DataFrame | None = None) -> pd.DataFrame:
    parts = [per_network(curves).assign(length="chosen")]
    if twice is not None:
        parts.append(per_network(twice).assign(length="twice"))
    nets = pd.concat(parts, ignore_index=True)
    nets["curve"] = [
        curve_name(*k) for k in zip(nets["model"], nets["layer"], nets["metric"], strict=True)
    ]
    nets["met"] = nets["met"].astype(float)  # None (not a loss curve) -> NaN
    out = nets.groupby(["dataset", "curve", "length"]).agg(
        networks=("model_key", "nunique"),
        epochs=("epochs", "median"),
        last_median=("last", "median"),
        last_max=("last", "max"),
        third_median=("last_third", "median"),
        met=("met", "mean"),
        final=("final", "median"),
    )
    return out.reset_index()


def main() -> None:
    *srcs, out = map(Path, sys.argv[1:])
    tab = table(*(pd.read_csv(s) for s in srcs))
    patience, delta = rule()
    shown = tab.rename(
        columns={
            "last_median": "last epoch: median change",
            "last_max": "last epoch: largest change",
            "third_median": "last third: median change",
            "met": "share meeting the rule",
            "final": "final loss: median",
        }
    )
    caption = (
        "Convergence: relative change of each training curve over its last epoch and over the "
        "last third of its epochs, median and largest over the networks trained at p = 0.1 "
        "(classes x seeds; 'twice': the epochs-sensitivity check's networks, seed 0, trained twice "
        f"as long); the share of networks whose loss fell by less than {delta:.0%} in each of its "
        f"last {patience} epochs (the plateau rule) and their median final loss; the "
        "pseudo-log-likelihood is a stochastic estimate (one random unit flipped per image), so "
        "its changes include sampling noise"
    )
    write_table(out, caption, shown, floatfmt=".3g")


if __name__ == "__main__":
    main()
