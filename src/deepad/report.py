"""What a run shows a person: the grid of its highest- and lowest-scored images (in the manner of the
H2O tutorial's "ugly digits"), and its record in Weights & Biases.
"""

from __future__ import annotations

import netrc
import os
from pathlib import Path

import numpy as np

from deepad.data.sets import EvalRecord
from deepad.store import write_atomic

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


LEGEND = {  # what a frame's colour means, for the grids' and figures' legends
    "nominal": "grey = nominal",
    "nominal_clutter": "orange = nominal on clutter",
    "anomaly": "red = anomaly (label used only here)",
}


def legend(groups: np.ndarray) -> str:
    """The frame colours that occur in `groups`, in words."""
    present = set(np.asarray(groups).astype(str))
    if present <= {"unlabelled"}:
        return "no labels: every frame grey"
    return "frame: " + ", ".join(text for g, text in LEGEND.items() if g in present)


def extremes_grid(
    images: np.ndarray,
    order: np.ndarray,
    record: EvalRecord,
    path: Path,
    title: str,
    n: int = 32,
    zoom: int = 3,
) -> Path:
    """PNG of the n highest-scored (most anomalous) and n lowest-scored images, side by side, under
    a title and a legend of the frame colours; `order`: indices most anomalous first
    (`detect.order`). Drawn with Pillow (a run's grid costs milliseconds, not a figure)."""
    from PIL import Image, ImageDraw

    top, bottom = order[:n], order[::-1][:n]
    left, right = tile(images[top], record.groups[top]), tile(images[bottom], record.groups[bottom])
    gap = np.ones((left.shape[0], 12, 3))
    if right.shape[0] != left.shape[0]:  # fewer than n images on one side
        rows = max(left.shape[0], right.shape[0])
        left, right = (
            np.pad(m, ((0, rows - len(m)), (0, 0), (0, 0)), constant_values=1)
            for m in (left, right)
        )
        gap = np.ones((rows, 12, 3))
    mosaic = np.concatenate([left, gap, right], axis=1)  # (H, W, 3) in [0, 1]
    body = Image.fromarray((mosaic * 255).round().astype(np.uint8)).resize(
        (mosaic.shape[1] * zoom, mosaic.shape[0] * zoom), Image.NEAREST
    )
    lines = [title, legend(record.groups), f"left: highest {n} scores | right: lowest {n} scores"]
    head = 14 * len(lines) + 8
    canvas = Image.new("RGB", (body.width, body.height + head), "white")
    draw = ImageDraw.Draw(canvas)
    for i, line in enumerate(lines):
        draw.text((4, 4 + 14 * i), line, fill="black")
    canvas.paste(body, (0, head))
    write_atomic(path, lambda tmp: canvas.save(tmp, format="png"))
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
    tags: list[str] | None = None,
) -> tuple[str | None, str, str | None]:
    """One W&B run: the resolved config; the network's per-epoch training curves, through
    Lightning's W&B logger (the curves kept beside the cached network, so a network loaded from
    the cache shows them too); the metrics (as summary), the grids as wandb.Image and `plots`.
    mode auto = online with a login, else offline (sync later with `wandb sync DIR`).
    Returns the run's local directory, the mode it ran in and its URL (online)."""
    import wandb
    from pytorch_lightning.loggers import WandbLogger

    mode = logger_cfg.mode
    if mode == "auto":
        mode = "online" if wandb_logged_in() else "offline"
    Path(logger_cfg.dir).mkdir(parents=True, exist_ok=True)
    home = Path(logger_cfg.dir).resolve() / "wandb"  # staging, cache and config beside the runs,
    for var, sub in (
        ("WANDB_CACHE_DIR", ".cache"),
        ("WANDB_CONFIG_DIR", ".config"),
        ("WANDB_DATA_DIR", ".data"),
    ):  # not under HOME (which may not be writable)
        os.environ.setdefault(var, str(home / sub))  # fmt: skip
    run = wandb.init(
        project=logger_cfg.project,
        entity=logger_cfg.entity,
        mode=mode,
        dir=str(logger_cfg.dir),
        group=group or logger_cfg.group,
        tags=list(tags if tags is not None else logger_cfg.tags),
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
    url = getattr(run, "url", None) if mode == "online" else None
    run.finish()
    return run_dir, mode, url
