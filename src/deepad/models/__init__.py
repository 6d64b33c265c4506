"""Networks (plain nn.Modules) and their Lightning shells; `build` picks one from the config."""

from __future__ import annotations

import pytorch_lightning as pl

from deepad.models import autoencoder, dbn, pretrained


def build(cfg, in_shape: tuple[int, int, int]) -> pl.LightningModule:
    """The `model` config group -> a LightningModule whose `.net` offers the feature interface."""
    if cfg.kind == "autoencoder":
        net = autoencoder.build_net(cfg, in_shape)
        return autoencoder.AutoencoderModule(
            net,
            lr=cfg.lr,
            weight_decay=cfg.weight_decay,
            trim=float(cfg.get("trim", 0.0)),
            stop_patience=int(cfg.get("stop_patience") or 0),
            stop_min_delta=float(cfg.get("stop_min_delta", 0.01)),
            stop_min_epochs=int(cfg.get("stop_min_epochs") or 0),
            lr_schedule=cfg.get("lr_schedule", "constant"),
            batch_size=cfg.get("batch_size"),
        )
    if cfg.kind == "dbn":
        return dbn.build(cfg, in_shape)
    if cfg.kind == "pretrained":
        return pretrained.build(cfg)
    raise ValueError(f"unknown model.kind {cfg.kind!r}; choose autoencoder, dbn or pretrained")
