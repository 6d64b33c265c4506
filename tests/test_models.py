"""Autoencoders: shapes, the H2O preset, training lowers the loss, same seed -> same weights."""

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from deepad import models
from deepad.data.sets import synthetic_source
from deepad.models import training
from deepad.models.autoencoder import ConvAE, DenseAE


def test_h2o_preset_is_784_50_784_tanh(make_cfg):
    cfg = make_cfg("model=ae_h2o")
    module = models.build(cfg.model, (1, 28, 28))
    sizes = [
        (m.in_features, m.out_features)
        for m in module.net.modules()
        if isinstance(m, torch.nn.Linear)
    ]
    assert sizes == [(784, 50), (50, 784)]
    assert isinstance(module.net.act, torch.nn.Tanh)


def test_shapes_dense_and_conv():
    x = torch.rand(5, 1, 28, 28)
    dense = DenseAE((1, 28, 28), [64, 16])
    assert dense(x).shape == x.shape and dense.bottleneck(x).shape == (5, 16)
    assert [h.shape[1] for h, _ in dense.hidden(x)] == [64, 16, 64]
    conv = ConvAE((1, 28, 28), (8, 16), code=12)
    assert conv(x).shape == x.shape and conv.bottleneck(x).shape == (5, 12)
    assert conv(x).min() >= 0 and conv(x).max() <= 1


def _fit(seed: int, epochs: int):
    src = synthetic_source(n_per_class=40)
    x = training.to_tensor(src.images[:, None])
    torch.manual_seed(seed)  # the initial weights come from the seed too
    module = models.build(
        OmegaConf.create(
            {
                "kind": "autoencoder",
                "arch": "dense",
                "hidden": [32],
                "activation": "tanh",
                "out_activation": "sigmoid",
                "lr": 3e-3,
                "weight_decay": 0.0,
            }
        ),
        (1, 28, 28),
    )
    loss0 = torch.nn.functional.mse_loss(module.net(x), x).item()
    trainer_cfg = OmegaConf.create(
        {
            "max_epochs": epochs,
            "batch_size": 64,
            "val_fraction": 0.0,
            "accelerator": "cpu",
            "progress_bar": False,
        }
    )
    training.fit(module, x, trainer_cfg, seed)
    with torch.no_grad():
        return module, loss0, torch.nn.functional.mse_loss(module.net(x), x).item()


def test_training_lowers_loss_and_is_deterministic():
    a, loss0, loss = _fit(seed=1, epochs=5)
    assert loss < 0.6 * loss0
    b, _, _ = _fit(seed=1, epochs=5)
    for pa, pb in zip(a.net.parameters(), b.net.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_batches_cover_every_image_once():
    x = torch.arange(10).float().view(10, 1, 1, 1)
    seen = torch.cat([b[0] for b in training.batches(x, 4, shuffle=True, seed=0)]).flatten()
    assert sorted(seen.tolist()) == list(range(10))


def test_batches_are_torchs_sampler_batches_epoch_after_epoch():
    """One gather per batch, yet the batches of RandomSampler + BatchSampler with the same seeded
    generator, in every epoch: networks train exactly as with torch's samplers."""
    from torch.utils.data import BatchSampler, RandomSampler

    x = torch.arange(23).float().view(23, 1, 1, 1)
    order = RandomSampler(range(23), generator=torch.Generator().manual_seed(3))
    sampler = BatchSampler(order, 5, drop_last=False)
    loader = training.batches(x, 5, shuffle=True, seed=3)
    for _ in range(3):
        ours = [b[0].flatten().long().tolist() for b in loader]
        assert ours == [list(batch) for batch in sampler]


def test_off_a_terminal_training_prints_one_line_per_epoch(capsys):
    """A sweep's log gets `[train] epoch k/n ...` lines, not progress-bar frames."""
    torch.manual_seed(0)
    x = torch.rand(64, 1, 8, 8)
    cfg = OmegaConf.create({"kind": "autoencoder", "arch": "dense", "hidden": [4],
                            "activation": "tanh", "out_activation": "sigmoid", "lr": 1e-3,
                            "weight_decay": 0.0})  # fmt: skip
    module = models.build(cfg, (1, 8, 8))
    trainer = OmegaConf.create({"max_epochs": 3, "batch_size": 16, "val_fraction": 0.0,
                                "accelerator": "cpu", "progress_bar": True})  # fmt: skip
    curves = training.fit(module, x, trainer, 0)
    out = capsys.readouterr()
    lines = [line for line in out.out.splitlines() if line.startswith("[train] epoch")]
    assert [line.split()[2] for line in lines] == ["1/3", "2/3", "3/3"] and "\r" not in out.err
    assert [c["epoch"] for c in curves] == [0, 1, 2] and all("train/loss" in c for c in curves)


@pytest.mark.parametrize("n", [200, 230])  # 200: whole batches only; 230: a short last batch
@pytest.mark.parametrize("kind", ["ae", "dbn"])
def test_many_batches_per_lightning_step_train_the_same_network(kind, n):
    """`steps_per_call` removes Lightning's per-step cost, not a single update: the network equals
    one trained with one batch per Lightning step through a DataLoader, bit for bit (the DBN's
    sampling included, which reads the global stream a DataLoader draws from each epoch)."""
    x = training.to_tensor(synthetic_source(n_per_class=30).images[:n, None])
    if kind == "ae":
        model = {"kind": "autoencoder", "arch": "dense", "hidden": [8], "activation": "tanh",
                 "out_activation": "sigmoid", "lr": 1e-3, "weight_decay": 0.0}  # fmt: skip
    else:
        model = {"kind": "dbn", "sizes": [16, 8], "k": 1, "persistent": False, "lr": 0.05,
                 "momentum": [0.5, 0.9], "momentum_switch": 1, "weight_decay": 2e-4,
                 "batch_size": 10 if n == 200 else 25, "epochs_per_layer": 2, "binarize": None}  # fmt: skip
    cfg = OmegaConf.create({"max_epochs": 3, "batch_size": 50, "accelerator": "cpu",
                            "progress_bar": False})  # fmt: skip
    nets = []
    for grouped in (True, False):
        pl.seed_everything(0, verbose=False)
        module = models.build(OmegaConf.create(model), (1, 28, 28))
        batch_size = getattr(module, "batch_size", None) or 50
        if grouped:  # the batches themselves, no inner DataLoader, as training.fit hands them
            loader = training.grouped(training.Batches(x, batch_size, True, 0), 0)
        else:  # a plain DataLoader: one batch per Lightning step
            loader = training.batches(x, batch_size, True, 0)
            step = type(module).training_step
            module.training_step = lambda b, i, m=module, step=step: step(m, [b], i)
        epochs = getattr(module, "max_epochs", None) or 3
        training.drive(module, loader, None, epochs, cfg)
        nets.append(module.net.state_dict())
    assert all(torch.equal(nets[0][k], nets[1][k]) for k in nets[0])


def test_trimmed_loss_ignores_a_planted_outlier():
    """trim = 0.1 on a batch of 10 with one planted outlier: the loss and every gradient are
    those of the other 9 images, whatever the outlier is; trim = 0 is the plain mean."""
    from deepad.models.autoencoder import AutoencoderModule, DenseAE

    torch.manual_seed(0)
    net = DenseAE((1, 4, 4), [3])
    clean = 0.45 + torch.rand(9, 1, 4, 4) * 0.1  # near the untrained net's output (~0.5)

    def grads(outlier: float, trim: float) -> list[torch.Tensor]:
        module = AutoencoderModule(net, trim=trim)
        x = torch.cat([clean, torch.full((1, 1, 4, 4), outlier)])
        net.zero_grad()
        module._step((x,), "train").backward()
        return [p.grad.clone() for p in net.parameters()]

    for a, b in zip(grads(1.0, 0.1), grads(0.0, 0.1), strict=True):
        assert torch.equal(a, b)  # the outlier (the worst-reconstructed image) is left out
    for a, b in zip(grads(1.0, 0.1), grads(1.0, 0.0), strict=True):
        assert not torch.allclose(a, b)
    module = AutoencoderModule(net, trim=0.1)
    x = torch.cat([clean, torch.ones(1, 1, 4, 4)])
    expected = (net(clean) - clean).pow(2).flatten(1).mean(1).mean()
    assert torch.allclose(module._step((x,), "train"), expected)
    with pytest.raises(ValueError, match="model.trim=1.0"):
        AutoencoderModule(net, trim=1.0)


def test_plateau_rule_reads_relative_improvements():
    """Stop after `patience` epochs in a row that each improved by less than min_delta of the
    epoch before; a larger step inside the window, or too short a curve, keeps training."""
    assert training.plateaued([1.0, 0.995, 0.99, 0.986], 3, 0.01)
    assert not training.plateaued([1.0, 0.995, 0.95, 0.946], 3, 0.01)  # a 4.5% step in the window
    assert not training.plateaued([1.0, 0.999, 0.998], 3, 0.01)  # 3 epochs: only 2 changes
    assert training.plateaued([1.0, 0.5, 0.5, 0.501, 0.5], 3, 0.01)  # no change, a rise: flat
    assert not training.plateaued([1.0, 0.999, 0.998, 0.997], 0, 0.01)  # patience 0: off


def test_plateau_rule_waits_for_its_minimum_epochs():
    """A flat stretch before `min_epochs` (an autoencoder's early plateau) does not stop it; the
    same flat curve does once the minimum has run; a curve still falling 5% an epoch never does."""
    flat = [1.0, 0.5, 0.499, 0.498, 0.497, 0.496, 0.495]
    assert training.plateaued(flat[:5], 3, 0.01)
    assert not training.plateaued(flat[:5], 3, 0.01, min_epochs=6)
    assert training.plateaued(flat, 3, 0.01, min_epochs=6)
    falling = [0.95**t for t in range(40)]
    assert not any(training.plateaued(falling[:t], 3, 0.01, 10) for t in range(1, 41))


def test_a_plateau_stops_training_before_max_epochs():
    """On a set the net fits in a few epochs, a lax rule (stop after 1 epoch below 50%
    improvement) ends training early, and its curve's last step meets the rule; without the
    rule every epoch runs."""
    x = torch.rand(64, 1, 4, 4)  # noise: the loss flattens at once
    trainer_cfg = OmegaConf.create(
        {"max_epochs": 20, "batch_size": 16, "val_fraction": 0.0, "accelerator": "cpu",
         "progress_bar": False}
    )  # fmt: skip
    curves = {}
    for patience in (0, 1):
        pl.seed_everything(0, verbose=False)
        module = models.autoencoder.AutoencoderModule(
            DenseAE((1, 4, 4), [3]), lr=1e-2, stop_patience=patience, stop_min_delta=0.5
        )
        curves[patience] = [h["train/loss"] for h in training.fit(module, x, trainer_cfg, 0)]
    assert len(curves[0]) == 20
    assert 2 <= len(curves[1]) < 20
    a, b = curves[1][-2:]
    assert a - b < 0.5 * a
    assert curves[1] == curves[0][: len(curves[1])]  # the same training, cut short


def test_cosine_schedule_anneals_from_lr_towards_zero():
    """`annealed`: "constant" keeps lr; "cosine" starts at lr, falls every epoch, ends near 0 (its
    last epoch below 1% of lr at 30 epochs) and is lr / 2 half way; an unknown name fails."""
    assert [training.annealed(0.1, e, 30, "constant") for e in (0, 29)] == [0.1, 0.1]
    rates = [training.annealed(0.1, e, 30, "cosine") for e in range(30)]
    assert rates[0] == 0.1 and rates[15] == pytest.approx(0.05)
    assert all(a > b for a, b in zip(rates[:-1], rates[1:], strict=True))
    assert rates[-1] < 0.001
    with pytest.raises(ValueError, match="lr_schedule='step'"):
        training.annealed(0.1, 0, 30, "step")


def test_the_autoencoder_trains_at_the_annealed_rate():
    """With `lr_schedule: cosine` the optimiser's rate at each epoch is `annealed`'s; an unknown
    schedule fails when the module is made, before any training."""
    x = torch.rand(64, 1, 4, 4)
    trainer_cfg = OmegaConf.create(
        {"max_epochs": 6, "batch_size": 64, "val_fraction": 0.0, "accelerator": "cpu",
         "progress_bar": False}
    )  # fmt: skip
    seen = []

    class Spy(pl.Callback):
        def on_train_epoch_end(self, trainer, module):
            seen.append(module.optimizers().optimizer.param_groups[0]["lr"])

    module = models.autoencoder.AutoencoderModule(
        DenseAE((1, 4, 4), [3]), lr=1e-2, lr_schedule="cosine", batch_size=16
    )
    training.drive(module, training.grouped(training.Batches(x, 16, True, 0), 0), None, 6,
                   trainer_cfg, [Spy()])  # fmt: skip
    assert seen == pytest.approx([training.annealed(1e-2, e, 6, "cosine") for e in range(6)])
    with pytest.raises(ValueError, match="lr_schedule"):
        models.autoencoder.AutoencoderModule(DenseAE((1, 4, 4), [3]), lr_schedule="steps")
