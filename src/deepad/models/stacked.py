"""Many dense autoencoders of one shape trained as one network (issue 14): their weights stacked
on a leading network axis, one batched matmul (`torch.baddbmm`) per layer, each network on its
own images, its own shuffled batches (its own seeded generator, as `training.batches`) and its own
Adam state and step count (one fused torch Adam over every network's parameters). A network
trained here is the network `training.fit` trains alone (same initial weights, same batches, same
updates) to float tolerance, whatever else is stacked with it; one Lightning module drives the
stack.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset

from deepad.models import training
from deepad.models.autoencoder import DenseAE


class StackedDenseAE(nn.Module):
    """K DenseAEs with the same widths and activations, run as one: each layer's K weight matrices
    are stacked on a leading network axis per pass, (K, out, in), for one batched matmul. The K
    networks stay the parameters (their own leaves), so each has its own gradient, optimiser
    state and step count, and its state_dict is a DenseAE's."""

    def __init__(self, nets: list[DenseAE]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)
        first = nets[0]
        self.in_shape, self.act, self.out_act = first.in_shape, first.act, first.out_act
        self.depth = len(first.encoder) + len(first.decoder)

    def _layer(self, net: DenseAE, i: int) -> nn.Linear:
        return net.encoder[i] if i < len(net.encoder) else net.decoder[i - len(net.encoder)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x  # (K, B, D)
        for i in range(self.depth):
            layers = [self._layer(net, i) for net in self.nets]
            w = torch.stack([layer.weight for layer in layers])  # (K, out, in)
            b = torch.stack([layer.bias for layer in layers])[:, None]  # (K, 1, out)
            h = torch.baddbmm(b, h, w.transpose(1, 2))  # (K, B, out)
            h = self.out_act(h) if i == self.depth - 1 else self.act(h)
        return h  # (K, B, D)

    def state_dicts(self) -> list[dict[str, torch.Tensor]]:
        """Each network's own state_dict, as a DenseAE holds it."""
        return [{k: v.detach().clone() for k, v in net.state_dict().items()} for net in self.nets]


class StackedBatches(IterableDataset):
    """One epoch of steps; step t is (x (K, B, D), mask (K, B)): mask[k] marks network k's batch
    among the rows (none: it sits the step out). Network k's batches
    are the row indices its own `training.Batches` (seeded with its seed) draws, the batches it
    would train on alone, taken len() batches an epoch as Lightning takes them; a network with
    fewer steps sits out the rest. Every network's images sit in one (sum N_k + 1, D) tensor whose
    last row is zeros (the padding), so a step is one gather of K x B rows."""

    def __init__(self, xs: list[torch.Tensor], batch_size: int, seeds: list[int]) -> None:
        self.samplers = [
            training.Batches(x, batch_size, True, int(s)) for x, s in zip(xs, seeds, strict=True)
        ]
        self.rows = torch.cat([*(x.flatten(1) for x in xs), torch.zeros(1, xs[0][0].numel())])
        self.offsets = [0, *torch.tensor([len(x) for x in xs]).cumsum(0).tolist()[:-1]]
        self.batch_size = batch_size

    def __len__(self) -> int:  # steps per epoch: the largest network's
        return max(len(sampler) for sampler in self.samplers)

    def __iter__(self):
        k, b, pad = len(self.samplers), self.batch_size, len(self.rows) - 1
        epoch = [sampler.indices() for sampler in self.samplers]  # [[(B,), ...] per network]
        for t in range(len(self)):
            index = torch.full((k, b), pad, dtype=torch.long)  # (K, B) rows of self.rows
            for i, batches in enumerate(epoch):
                if t < len(batches):
                    index[i, : len(batches[t])] = batches[t] + self.offsets[i]
            x = self.rows.index_select(0, index.view(-1)).view(k, b, -1)  # (K, B, D)
            yield x, (index != pad).float()  # (K, B, D), (K, B): 1 = a row of network k's batch


class StackedAEModule(pl.LightningModule):
    """Lightning shell of a stack: mean-squared reconstruction loss per network, and one fused
    torch Adam (Kingma & Ba 2015; the optimiser `AutoencoderModule` uses) over every network's own
    parameters. A network that sits a step out has no gradient that step, so Adam leaves it and
    its step count alone. Logs the stack's mean "train/loss" per epoch; `history[k]` holds
    network k's per-epoch curve."""

    def __init__(self, net: StackedDenseAE, lr: float = 1e-3, weight_decay: float = 0.0) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net"])
        self.net = net
        self.automatic_optimization = False  # one optimiser step per batch of the epoch's steps
        k = len(net.nets)
        self.history: list[list[dict]] = [[] for _ in range(k)]
        self._sums, self._counts = torch.zeros(k), torch.zeros(k)

    def training_step(self, steps: list, batch_idx: int) -> None:
        opt = self.optimizers()
        for x, mask in steps:  # (K, B, D), (K, B): one update of every network with a batch
            err = (self.net(x) - x).pow(2).mean(2) * mask  # (K, B): each image's squared error
            count = mask.sum(1)  # (K,)
            loss = err.sum(1) / count.clamp(min=1)  # (K,): each network's batch loss
            opt.zero_grad(set_to_none=True)
            self.manual_backward(loss.sum())  # network k's gradient is its own loss's
            for k in (count == 0).nonzero().flatten().tolist():  # no batch: no update this step
                for p in self.net.nets[k].parameters():
                    p.grad = None
            opt.step()
            self._sums += loss.detach() * count
            self._counts += count

    def on_train_epoch_end(self) -> None:
        means = self._sums / self._counts.clamp(min=1)  # (K,)
        for k, value in enumerate(means.tolist()):
            self.history[k].append({"epoch": self.current_epoch, "train/loss": value})
        self.log("train/loss", float(means.mean()), prog_bar=True)
        self._sums, self._counts = torch.zeros_like(self._sums), torch.zeros_like(self._counts)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        hp = self.hparams  # per parameter tensor: each network's own moments and step count
        return torch.optim.Adam(
            self.net.parameters(), lr=hp.lr, weight_decay=hp.weight_decay, fused=True
        )


def stackable(model_cfg, trainer_cfg) -> bool:
    """A dense autoencoder trained without a validation split or plateau stop (each network of a
    stack runs every epoch): what this module stacks."""
    return (
        model_cfg.kind == "autoencoder"
        and model_cfg.arch == "dense"
        and not trainer_cfg.get("val_fraction")
        and not model_cfg.get("stop_patience")
    )


def fit_stacked(nets: list[DenseAE], xs: list[torch.Tensor], seeds: list[int], model_cfg, cfg):
    """Train K networks (each built with its seed, as `Detector` builds it) on their images
    xs[k] (N_k, C, H, W) at once; returns each network's state_dict and per-epoch curves."""
    module = StackedAEModule(StackedDenseAE(nets), model_cfg.lr, model_cfg.weight_decay)
    steps = DataLoader(StackedBatches(xs, cfg.batch_size, seeds), batch_size=None)
    loader = training.grouped(steps, 0)  # an epoch's steps per Lightning step
    training.drive(module, loader, None, cfg.max_epochs, cfg)
    return module.net.state_dicts(), module.history
