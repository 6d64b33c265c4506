"""What a run shows a person: the grid of its highest- and lowest-scored images (in the manner of the
H2O tutorial's "ugly digits"), and its record in Weights & Biases.
"""

from __future__ import annotations

import netrc
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from deepad.data.sets import EvalRecord  # noqa: E402
from deepad.store import write_atomic  # noqa: E402

# (model, features) -> the name of the method in tables and figures. Raw pixels use no model.
METHOD_NAMES = {
    ("ae_h2o", "re"): "AE RE",
    ("ae_h2o", "a1"): "AE A1",
    ("ae_h2o", "a2"): "AE A2",
    ("dbn", "re"): "DBN RE",
    ("dbn", "a1"): "DBN A1",
    ("dbn", "a2"): "DBN A2",
    ("dbn", "free_energy"): "DBN free energy",
    ("pretrained", "a1"): "EffNet-Lite0 A1",
    ("pretrained", "a2"): "EffNet-Lite0 A2",
    ("ae_h2o", "raw"): "raw pixels",
}


def with_methods(results: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The collected results with a `method` column, only runs that finished, and the methods
    present in their reading order."""
    if "status" in results:
        results = results[results["status"].fillna("ok") == "ok"]
    keys = zip(results["model"], results["features"], strict=True)
    names = [METHOD_NAMES.get(k, f"{k[0]} {k[1]}") for k in keys]
    results = results.assign(method=names)
    order = [m for m in METHOD_NAMES.values() if m in set(names)]
    return results, order + sorted(set(names) - set(order))


FRAME = {
    "nominal": (0.6, 0.6, 0.6),
    "nominal_clutter": (1.0, 0.65, 0.0),
    "anomaly": (0.85, 0.1, 0.1),
    "unlabelled": (0.6, 0.6, 0.6),
}


def tile(images: np.ndarray, groups: np.ndarray, cols: int = 8, pad: int = 2) -> np.ndarray:
    """(n, C, H, W) uint8 -> one RGB mosaic (rows*(H+2p), cols*(W+2p), 3) in [0, 1], each image
    framed by the colour of its evaluation group (grey nominal, orange clutter, red anomaly)."""
    n, c, h, w = images.shape
    rows = max(1, -(-n // cols))
    out = np.ones((rows * (h + 2 * pad), cols * (w + 2 * pad), 3))
    for i in range(n):
        r, k = divmod(i, cols)
        img = images[i].transpose(1, 2, 0) / 255.0  # (H, W, C)
        img = np.repeat(img, 3, axis=2) if c == 1 else img[..., :3]
        y, x = r * (h + 2 * pad), k * (w + 2 * pad)
        out[y : y + h + 2 * pad, x : x + w + 2 * pad] = FRAME.get(str(groups[i]), (0, 0, 0))
        out[y + pad : y + pad + h, x + pad : x + pad + w] = img
    return out


def extremes(
    images: np.ndarray, scores: np.ndarray, record: EvalRecord, order: np.ndarray, k: int = 16
) -> dict[str, np.ndarray]:
    """The k most anomalous ("ugly"), k median and k most normal ("good") images of a run, as in the
    H2O tutorial's ugly digits, with their scores and evaluation groups: what the paper's figures
    draw without the data set. Arrays stacked as (3, k, ...) in the order ugly, median, good.
    `order`: indices most anomalous first (`detect.order`, ties broken by the seed)."""
    k = min(k, len(order) // 3)
    mid = len(order) // 2 - k // 2
    picks = np.stack([order[:k], order[mid : mid + k], order[::-1][:k]])  # (3, k)
    return {
        "images": images[picks],  # (3, k, C, H, W) uint8
        "scores": scores[picks],  # (3, k)
        "groups": record.groups[picks].astype(str),  # (3, k)
        "rank": np.stack([np.arange(k), np.arange(mid, mid + k), len(order) - 1 - np.arange(k)]),
    }


def extremes_grid(
    images: np.ndarray,
    order: np.ndarray,
    record: EvalRecord,
    path: Path,
    title: str,
    n: int = 32,
) -> Path:
    """PNG of the n highest-scored (most anomalous) and n lowest-scored images, side by side;
    `order`: indices most anomalous first (`detect.order`)."""
    top, bottom = order[:n], order[::-1][:n]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for ax, idx, name in (
        (axes[0], top, f"highest {n} scores"),
        (axes[1], bottom, f"lowest {n} scores"),
    ):
        ax.imshow(tile(images[idx], record.groups[idx]), interpolation="nearest")
        ax.set_title(name)
        ax.axis("off")
    legend = (
        "no labels: every frame grey"
        if (record.groups == "unlabelled").all()
        else "frame: red = anomaly (label used only here), grey = nominal"
    )
    fig.suptitle(f"{title}\n{legend}", fontsize=9)
    fig.tight_layout()
    write_atomic(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))
    plt.close(fig)
    return path


def wandb_logged_in() -> bool:
    """A W&B login exists: WANDB_API_KEY, or an api.wandb.ai entry in ~/.netrc (`wandb login`)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (OSError, netrc.NetrcParseError):
        return False


def _curve_table(x: np.ndarray, y: np.ndarray, names: tuple[str, str], points: int = 200):
    """A W&B line plot's table, thinned to at most `points` rows (the curve's shape, not its size)."""
    import wandb

    keep = np.unique(np.linspace(0, len(x) - 1, min(points, len(x))).round().astype(int))
    return wandb.Table(data=np.c_[x[keep], y[keep]].tolist(), columns=list(names))


def score_plots(scores: np.ndarray, record: EvalRecord) -> dict:
    """W&B panels of one run's scores: a histogram per group (nominal, nominal_clutter, anomaly,
    or unlabelled) and, when the run has labels, its ROC and precision-recall curves."""
    import wandb
    from sklearn.metrics import precision_recall_curve, roc_curve

    plots = {
        f"score_histogram/{g}": wandb.Histogram(scores[record.groups == g])
        for g in np.unique(record.groups)
    }
    y = record.is_anomaly.astype(int)
    if 0 < y.sum() < len(y):
        fpr, tpr, _ = roc_curve(y, scores)
        precision, recall, _ = precision_recall_curve(y, scores)
        roc = _curve_table(fpr, tpr, ("false positive rate", "true positive rate"))
        pr = _curve_table(recall[::-1], precision[::-1], ("recall", "precision"))
        plots["roc_curve"] = wandb.plot.line(roc, *roc.columns, title="ROC")
        plots["pr_curve"] = wandb.plot.line(pr, *pr.columns, title="precision-recall")
    return plots


def log_wandb(
    logger_cfg,
    config: dict,
    metrics: dict,
    images: dict[str, Path],
    name: str,
    group: str | None = None,
    curves: list[dict] = (),
    plots: dict | None = None,
) -> tuple[str | None, str]:
    """One W&B run: the resolved config; the network's per-epoch training curves, through
    Lightning's W&B logger (the curves kept beside the cached network, so a network loaded from
    the cache shows them too); the metrics (as summary), the grids as wandb.Image and `plots`.
    mode auto = online with a login, else offline (sync later with `wandb sync DIR`).
    Returns the run's local directory and the mode it ran in."""
    import wandb
    from pytorch_lightning.loggers import WandbLogger

    mode = logger_cfg.mode
    if mode == "auto":
        mode = "online" if wandb_logged_in() else "offline"
    Path(logger_cfg.dir).mkdir(parents=True, exist_ok=True)
    run = wandb.init(
        project=logger_cfg.project,
        entity=logger_cfg.entity,
        mode=mode,
        dir=str(logger_cfg.dir),
        group=group or logger_cfg.group,
        tags=list(logger_cfg.tags),
        name=name,
        config=config,
        settings=wandb.Settings(silent=True, console="off"),
    )
    lightning = WandbLogger(experiment=run)
    for row in curves:  # one history step per epoch: train/loss, val/loss, DBN per-layer curves
        numbers = {k: v for k, v in row.items() if k != "epoch" and isinstance(v, int | float)}
        lightning.log_metrics({**numbers, "epoch": row["epoch"]}, step=row["epoch"])
    run.log({**metrics, **{k: wandb.Image(str(p)) for k, p in images.items()}, **(plots or {})})
    run.summary.update(metrics)
    run_dir = str(Path(run.dir).parent) if getattr(run, "dir", None) else None
    run.finish()
    return run_dir, mode
