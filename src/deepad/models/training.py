"""Fit a LightningModule on images held in memory: whole-batch tensor indexing, no workers, no
per-image transforms, no checkpoints or validation unless asked (the overheads `make bench` looks for).
"""

from __future__ import annotations

import itertools
import logging
import math
import signal
import sys
import warnings

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EarlyStopping, TQDMProgressBar
from torch.utils.data import DataLoader, IterableDataset

# Lightning's start-up banners and the "validation_step but no val_dataloader" note are noise here.
logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
logging.getLogger("lightning_fabric").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", message=".*`validation_step` but have no `val_dataloader`.*")
warnings.filterwarnings("ignore", message=".*configure_optimizers` returned `None`.*")
warnings.filterwarnings("ignore", message=".*isinstance\\(treespec, LeafSpec\\).*")
warnings.filterwarnings("ignore", message=".*`IterableDataset` has `__len__` defined.*")


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 in [0, 1]."""
    return torch.from_numpy(images).float().div_(255.0)


class Batches(IterableDataset):
    """An epoch of (x[idx],) batches of an in-memory tensor: idx is a slice of one permutation per
    epoch or of 0..n-1, taken as an index tensor, so a batch is one gather, not a Python list of
    indices. The generator advances as torch's RandomSampler + BatchSampler advance it (two
    `randperm(n)` an epoch), so the batches are theirs."""

    def __init__(
        self, x: torch.Tensor, batch_size: int, shuffle: bool, seed: int, with_index: bool = False
    ) -> None:
        self.x, self.batch_size, self.shuffle = x, batch_size, shuffle
        self.generator = torch.Generator().manual_seed(seed)
        self.with_index = with_index  # (x[idx], idx): the rows' positions in x too

    def __len__(self) -> int:
        return -(-len(self.x) // self.batch_size)

    def indices(self) -> list[torch.Tensor]:
        """One epoch's batches as row indices into x, advancing the generator: [(B,), ...]."""
        n = len(self.x)
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator)
            torch.randperm(n, generator=self.generator)  # RandomSampler's draw for a 0-long tail
        else:
            order = torch.arange(n)
        return list(order.split(self.batch_size))

    def __iter__(self):
        for idx in self.indices():
            rows = self.x.index_select(0, idx) if self.shuffle else self.x[idx[0] : idx[-1] + 1]
            yield (rows, idx) if self.with_index else (rows,)  # (B, C, H, W)[, (B,)]


def batches(
    x: torch.Tensor, batch_size: int, shuffle: bool, seed: int, with_index: bool = False
) -> DataLoader:
    """A DataLoader of `Batches`: whole batches gathered at once, seeded when shuffling."""
    return DataLoader(Batches(x, batch_size, shuffle, seed, with_index), batch_size=None)


class Grouped(IterableDataset):
    """Up to `m` consecutive batches of a dataset per item, in its order: a module that
    takes them (`steps_per_call`) runs m optimiser steps in one Lightning step, so Lightning's
    per-step cost (hooks, closure, loop bookkeeping: more than a 784-50-784 step on the CPU) is
    paid once per m batches. The batches and updates are the same as one per step.

    `data` is a dataset of batches with len() (`Batches`, `StackedBatches`), iterated directly,
    not through an inner DataLoader, whose per-batch machinery (profiler records, conversion)
    costs more than a small network's step needs. A DataLoader draws
    one number from torch's global stream each epoch (its workers' base seed); that draw is made
    here too, so the stream the DBN's sampling reads is the one the same batches through a
    DataLoader leave it (a test: bit for bit the network of one batch per Lightning step)."""

    def __init__(self, data: IterableDataset, m: int | None) -> None:
        self.data, self.m = data, m

    def __iter__(self):
        torch.empty((), dtype=torch.int64).random_()  # DataLoader.__iter__'s draw, as it makes it
        it, left = iter(self.data), len(self.data)
        while left > 0:  # len() batches, as Lightning takes them: the sampler is not run past them
            n = min(self.m or left, left)
            left -= n
            yield itertools.islice(it, n)  # lazy: each batch is gathered just before its step


def grouped(data: IterableDataset, m: int) -> DataLoader:
    """A DataLoader of `data`'s batches, m per item (`Grouped`); m = 0: a whole epoch per item.
    It draws its worker seed from a generator of its own, not from torch's global stream (which
    the DBN's sampling uses): the training is the same as with a plain DataLoader of `data`."""
    return DataLoader(Grouped(data, m or None), batch_size=None, generator=torch.Generator())


class EpochLines(pl.Callback):
    """Instead of a progress bar when output is not a terminal (a log file, a sweep): one line per
    epoch with the numbers the module kept for it (`history[-1]`: the loss, the DBN's curves).
    The module records an epoch after the callbacks' epoch end, so its line is printed when the
    next epoch starts, and the last one when training ends."""

    def __init__(self) -> None:
        self.printed = 0

    def _print(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        history = getattr(module, "history", [])
        while self.printed < len(history):
            row = history[self.printed]
            self.printed += 1
            numbers = " ".join(
                f"{k} {float(v):.4g}" for k, v in sorted(row.items()) if k != "epoch"
            )
            print(f"[train] epoch {self.printed}/{trainer.max_epochs} {numbers}", flush=True)

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self._print(trainer, module)

    def on_train_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self._print(trainer, module)


def plateaued(losses: list[float], patience: int, min_delta: float, min_epochs: int = 0) -> bool:
    """True when at least `min_epochs` epochs have run and each of the last `patience` epochs
    lowered the loss by less than `min_delta` of the epoch before: (L[t-1] - L[t]) / L[t-1] <
    min_delta for the last `patience` values of t. The minimum keeps a network from stopping on
    the temporary plateau an autoencoder's curve often shows early (near the mean image)."""
    if patience < 1 or len(losses) <= patience or len(losses) < min_epochs:
        return False
    last = losses[-patience - 1 :]
    return all(a - b < min_delta * abs(a) for a, b in zip(last[:-1], last[1:], strict=True))


SCHEDULES = ("constant", "cosine")


def annealed(lr: float, epoch: int, epochs: int, schedule: str) -> float:
    """The learning rate of epoch `epoch` (0-based) of `epochs`: `lr` throughout ("constant"), or
    cosine-annealed from `lr` towards 0 over the epochs ("cosine": Loshchilov & Hutter, "SGDR",
    ICLR 2017, one cycle without restarts), lr (1 + cos(pi epoch / epochs)) / 2."""
    if schedule == "constant":
        return lr
    if schedule == "cosine":
        return lr * 0.5 * (1.0 + math.cos(math.pi * min(epoch, epochs) / max(epochs, 1)))
    raise ValueError(f"lr_schedule={schedule!r}: choose one of {', '.join(SCHEDULES)}")


class Plateau(EarlyStopping):
    """The label-free plateau rule as Lightning's stopping hook: stop once `min_epochs` have run
    and each of the last `patience` epochs lowered the module's training loss
    (`history[-1]["train/loss"]`) by less than `min_delta` of the epoch before (`plateaued`). An
    `EarlyStopping`, so Lightning calls it after the module's own epoch end has logged the epoch."""

    def __init__(self, patience: int, min_delta: float, min_epochs: int = 0) -> None:
        super().__init__(monitor="train/loss", patience=patience, check_on_train_epoch_end=True)
        self.relative_delta, self.min_epochs = min_delta, min_epochs
        self.losses: list[float] = []

    def on_validation_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        pass  # the rule reads the training loss only

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.losses.append(float(module.history[-1]["train/loss"]))
        if plateaued(self.losses, self.patience, self.relative_delta, self.min_epochs):
            trainer.should_stop = True


def stopping(module: pl.LightningModule) -> list[pl.Callback]:
    """The module's stopping rule as callbacks: `Plateau` where its config sets `stop_patience`
    (the DBN applies the same rule to each layer itself, `DBNModule`)."""
    hp = getattr(module, "hparams", {})
    if hp.get("stop_patience") and not getattr(module, "stops_itself", False):
        rule = int(hp.stop_patience), float(hp.stop_min_delta), int(hp.get("stop_min_epochs", 0))
        return [Plateau(*rule)]
    return []


def epoch_budget(module: pl.LightningModule, cfg) -> int:
    """The most epochs `module` trains: its own (the DBN: epochs per layer x layers) or the
    trainer config's `max_epochs`. A stopping rule may end it sooner."""
    return getattr(module, "max_epochs", None) or cfg.max_epochs


def drive(
    module: pl.LightningModule,
    loader: DataLoader,
    val_loader: DataLoader | None,
    epochs: int,
    cfg,
    callbacks: list[pl.Callback] = (),
) -> None:
    """A Lightning Trainer fits `module` on `loader`: no logger, checkpoints or sanity steps, a
    progress bar on a terminal and one line per epoch elsewhere; Ctrl-C is a KeyboardInterrupt
    (Lightning would exit 1 and ignore the next Ctrl-C), so nothing half-trained is cached."""
    bar = bool(cfg.progress_bar) and sys.stderr.isatty()
    lines = [EpochLines()] if cfg.progress_bar and not bar else []
    trainer = pl.Trainer(
        max_epochs=epochs,
        accelerator=cfg.accelerator,
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=bar,
        callbacks=[
            *([TQDMProgressBar(refresh_rate=cfg.get("progress_refresh", 25))] if bar else lines),
            *callbacks,
        ],
        deterministic=True,
        log_every_n_steps=1,
        num_sanity_val_steps=0,
    )
    try:
        trainer.fit(module, loader, val_loader)
    except SystemExit:  # Lightning answers Ctrl-C with exit code 1 and ignores later Ctrl-Cs
        if not trainer.interrupted:
            raise
        signal.signal(signal.SIGINT, signal.default_int_handler)
        raise KeyboardInterrupt from None  # the caller's handler says so; nothing is cached


def fit(module: pl.LightningModule, x: torch.Tensor, cfg, seed: int) -> list[dict]:
    """Train `module` on x (N, C, H, W) with the `trainer` config group; leaves it in eval mode and
    returns its per-epoch training curves (`module.history`: AE loss; DBN per layer CD error,
    pseudo-likelihood, free energy). A module that sets its own `max_epochs` / `batch_size` (the
    DBN: epochs per layer x layers, `epoch_budget`) overrides the trainer's; a stopping rule
    (`stopping`: `model.stop_patience`) may end it sooner. `progress_bar`: a bar on a terminal,
    one line per epoch elsewhere."""
    pl.seed_everything(seed, workers=True, verbose=False)
    epochs = epoch_budget(module, cfg)
    batch_size = getattr(module, "batch_size", None) or cfg.batch_size
    val_loader = None
    if cfg.val_fraction > 0:
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
        n_val = max(1, int(len(x) * cfg.val_fraction))
        val_loader = batches(x[perm[:n_val]], batch_size, False, seed)
        x = x[perm[n_val:]]
    with_index = bool(getattr(module, "uses_index", False))  # the DBN: batches (x, rows of x)
    if with_index:
        module.train_images = x  # (N, C, H, W): what the batch indices point into
    data = Batches(x, batch_size, True, seed, with_index)
    if hasattr(module, "steps_per_call"):  # m optimiser steps per Lightning step
        loader = grouped(data, module.steps_per_call)
    else:
        loader = DataLoader(data, batch_size=None)
    drive(module, loader, val_loader, epochs, cfg, stopping(module))
    module.eval()
    return list(getattr(module, "history", []))
