"""Autoencoders: a dense AE (preset `ae_h2o` = 784-50-784 tanh, after the H2O anomaly-detection
tutorial the proposal cites as [2]) and a small convolutional AE; each a plain `nn.Module`, plus one
thin LightningModule that trains either on a mean-squared reconstruction loss.

Every network here offers the interface `deepad.features` reads:
`reconstruct(x)`, `bottleneck(x)` and `hidden(x) -> [(activation, midpoint), ...]`.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn

from deepad.models import training

# Activation -> its midpoint: a unit counts as "active" (A2) above it.
ACTIVATIONS: dict[str, tuple[type[nn.Module], float]] = {
    "tanh": (nn.Tanh, 0.0),
    "relu": (nn.ReLU, 0.0),
    "sigmoid": (nn.Sigmoid, 0.5),
}


def _act(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return ACTIVATIONS[name][0]()


class DenseAE(nn.Module):
    """Fully connected AE: in -> hidden[0] -> ... -> hidden[-1] (bottleneck) -> ... mirrored -> in.

    Inputs are pixels in [0, 1], flattened; the output layer uses `out_activation` (sigmoid keeps
    reconstructions in [0, 1]).
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        hidden: list[int],
        activation: str = "tanh",
        out_activation: str = "sigmoid",
    ) -> None:
        super().__init__()
        self.in_shape = tuple(in_shape)
        self.activation = activation
        d = int(torch.tensor(in_shape).prod())
        widths = [d, *hidden]
        self.encoder = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        back = widths[::-1]
        self.decoder = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(back[:-1], back[1:], strict=True)
        )
        self.act = _act(activation)
        self.out_act = _act(out_activation)

    def _layers(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        h = x.flatten(1)  # (B, 784)
        hidden = []
        for layer in self.encoder:
            h = self.act(layer(h))
            hidden.append(h)  # (B, hidden[i])
        for i, layer in enumerate(self.decoder):
            h = layer(h)
            if i < len(self.decoder) - 1:
                h = self.act(h)
                hidden.append(h)  # mirrored decoder layers count as hidden too
        return hidden, self.out_act(h).view(-1, *self.in_shape)  # (B, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._layers(x)[1]

    reconstruct = forward

    def bottleneck(self, x: torch.Tensor) -> torch.Tensor:
        h = x.flatten(1)
        for layer in self.encoder:
            h = self.act(layer(h))
        return h  # (B, hidden[-1])

    def hidden(self, x: torch.Tensor) -> list[tuple[torch.Tensor, float]]:
        mid = ACTIVATIONS[self.activation][1]
        return [(h, mid) for h in self._layers(x)[0]]


class ConvAE(nn.Module):
    """Convolutional AE for 28x28-ish images: two stride-2 convs, a dense bottleneck, mirrored.

    Shapes for (B, 1, 28, 28): conv -> (B, c1, 14, 14) -> (B, c2, 7, 7) -> bottleneck (B, code).
    """

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        channels: tuple[int, int] = (16, 32),
        code: int = 32,
        activation: str = "relu",
        code_activation: str = "tanh",
        out_activation: str = "sigmoid",
    ) -> None:
        super().__init__()
        c, h, w = in_shape
        if h % 4 or w % 4:
            raise ValueError(
                f"ConvAE needs height and width divisible by 4, got {h}x{w} (dataset.size)"
            )
        self.in_shape = tuple(in_shape)
        c1, c2 = channels
        self.activation, self.code_activation = activation, code_activation
        self.conv1 = nn.Conv2d(c, c1, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.flat = (c2, h // 4, w // 4)
        n_flat = c2 * (h // 4) * (w // 4)
        self.enc_fc = nn.Linear(n_flat, code)
        self.dec_fc = nn.Linear(code, n_flat)
        self.deconv2 = nn.ConvTranspose2d(c2, c1, 3, stride=2, padding=1, output_padding=1)
        self.deconv1 = nn.ConvTranspose2d(c1, c, 3, stride=2, padding=1, output_padding=1)
        self.act, self.code_act, self.out_act = (
            _act(activation),
            _act(code_activation),
            _act(out_activation),
        )
        self.to(memory_format=torch.channels_last)  # oneDNN's fast path for its convolutions

    def _layers(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        x = x.contiguous(memory_format=torch.channels_last)
        h1 = self.act(self.conv1(x))  # (B, c1, H/2, W/2)
        h2 = self.act(self.conv2(h1))  # (B, c2, H/4, W/4)
        z = self.code_act(self.enc_fc(h2.flatten(1)))  # (B, code)
        d2 = self.act(self.dec_fc(z)).view(-1, *self.flat)  # (B, c2, H/4, W/4)
        d1 = self.act(self.deconv2(d2))  # (B, c1, H/2, W/2)
        return [h1, h2, z, d2, d1], self.out_act(self.deconv1(d1))  # (B, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._layers(x)[1]

    reconstruct = forward

    def bottleneck(self, x: torch.Tensor) -> torch.Tensor:
        return self._layers(x)[0][2]

    def hidden(self, x: torch.Tensor) -> list[tuple[torch.Tensor, float]]:
        hs = self._layers(x)[0]
        mids = [ACTIVATIONS[self.activation][1]] * len(hs)
        mids[2] = ACTIVATIONS[self.code_activation][1]
        return list(zip(hs, mids, strict=True))


def trimmed_keep(n: int, trim: float) -> int:
    """How many of a batch's n images the trimmed loss keeps (those of lowest error)."""
    return max(1, n - int(trim * n))


class AutoencoderModule(pl.LightningModule):
    """Lightning shell: MSE reconstruction loss, Adam, one step shared by train and val.

    `stop_patience` > 0 asks `training.fit` to stop training early by a label-free plateau rule
    (the `training.Plateau` callback, after at least `stop_min_epochs`) reading `history`.

    `lr_schedule` "cosine" anneals Adam's learning rate from `lr` towards 0 over the trainer's
    max_epochs (`training.annealed`), so the curve ends on its flat part; "constant" keeps `lr`. `batch_size`
    replaces the trainer's (None keeps it; the conv AE sets its own).

    `trim` > 0 trains on a trimmed loss (Shen & Sanghavi, "Learning with bad training data via
    iterative trimmed loss minimization", ICML 2019): each batch's `trim` share of images with the
    highest reconstruction errors is left out of the loss, so a contaminated set's anomalies,
    reconstructed worst, pull the network less.

    The loss is summed per step and logged once per epoch ("train/loss", "val/loss"): Lightning's
    per-step `self.log` costs more than the step of a 784-50-784 net on the CPU.
    For the same reason one Lightning step takes `steps_per_call` batches (0 = the epoch's) and
    makes one Adam step per batch (manual optimisation: the same batches and updates as one batch
    per Lightning step, without its per-step cost). `history` keeps the per-epoch numbers (the
    training curves kept beside a cached network).
    """

    def __init__(
        self,
        net: nn.Module,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        steps_per_call: int = 0,
        trim: float = 0.0,
        stop_patience: int = 0,
        stop_min_delta: float = 0.01,
        stop_min_epochs: int = 0,
        lr_schedule: str = "constant",
        batch_size: int | None = None,
    ) -> None:
        super().__init__()
        training.annealed(lr, 0, 1, lr_schedule)  # an unknown schedule fails here, not mid-training
        if not 0.0 <= trim < 1.0:
            raise ValueError(
                f"model.trim={trim!r}: give the share of each batch to leave out, 0 <= trim < 1"
            )
        self.save_hyperparameters(ignore=["net"])
        self.net = net
        self.automatic_optimization = False
        self.steps_per_call = steps_per_call  # read by deepad.models.training.fit
        self.batch_size = batch_size  # read by training.fit; None: the trainer's
        self._sums: dict[str, tuple] = {}
        self._epoch: dict[str, float] = {}
        self.history: list[dict] = []

    def _step(self, batch: tuple[torch.Tensor, ...], stage: str) -> torch.Tensor:
        (x,) = batch  # (B, C, H, W) in [0, 1]
        trim = self.hparams.get("trim", 0.0) if stage == "train" else 0.0
        if trim:  # trimmed loss: the batch's highest per-image errors are left out
            err = (self.net(x) - x).pow(2).flatten(1).mean(1)  # (B,)
            keep = trimmed_keep(len(x), trim)
            loss = err.topk(keep, largest=False).values.mean()
        else:
            loss = nn.functional.mse_loss(self.net(x), x)
        total, count = self._sums.get(stage, (0.0, 0))
        self._sums[stage] = (total + loss.detach() * len(x), count + len(x))
        return loss

    def _log_epoch(self, stage: str) -> None:
        total, count = self._sums.pop(stage, (0.0, 0))
        if count:
            self.log(f"{stage}/loss", total / count, prog_bar=True)
            self._epoch[f"{stage}/loss"] = float(total / count)

    def training_step(self, batches: list[tuple[torch.Tensor, ...]], batch_idx: int) -> None:
        # torch's Adam and backward themselves: Lightning's per-step wrappers (its backward and
        # optimiser-step hooks, profiler records and closure, a sixth of a 784-50-784 step)
        # serve precision plugins, clipping and multi-device strategies, none of which a run
        # uses (one device, float32, no clipping).
        opt = self.optimizers().optimizer
        for batch in batches:  # (B, C, H, W) each, in the sampler's order
            loss = self._step(batch, "train")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> torch.Tensor:
        return self._step(batch, "val")

    def on_train_epoch_start(self) -> None:  # the epoch's learning rate (`training.annealed`)
        hp = self.hparams
        lr = training.annealed(
            hp.lr, self.current_epoch, self.trainer.max_epochs, hp.get("lr_schedule", "constant")
        )
        for group in self.optimizers().optimizer.param_groups:
            group["lr"] = lr

    def on_train_epoch_end(self) -> None:  # after this epoch's validation, if any
        self._log_epoch("train")
        self.history.append({"epoch": self.current_epoch, **self._epoch})
        self._epoch = {}

    def on_validation_epoch_end(self) -> None:
        self._log_epoch("val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        hp = self.hparams  # fused: one kernel per tensor for the whole update
        return torch.optim.Adam(
            self.net.parameters(), lr=hp.lr, weight_decay=hp.weight_decay, fused=True
        )


def build_net(cfg, in_shape: tuple[int, int, int]) -> nn.Module:
    """The `model` config group -> a network (see conf/model/)."""
    if cfg.arch == "dense":
        return DenseAE(in_shape, list(cfg.hidden), cfg.activation, cfg.out_activation)
    if cfg.arch == "conv":
        return ConvAE(
            in_shape,
            tuple(cfg.channels),
            cfg.code,
            cfg.activation,
            cfg.code_activation,
            cfg.out_activation,
        )
    raise ValueError(f"unknown model.arch {cfg.arch!r}; choose dense or conv")
