"""Many dense autoencoders of one shape trained as one network (issue 14): their weights stacked
on a leading network axis, one batched matmul (`torch.baddbmm`) per layer, each network on its
own images, its own shuffled batches (its own seeded generator, as `training.batches`) and its own
Adam state and step count. A network trained here is the network `training.fit` trains alone
(same initial weights, same batches, same updates) to float tolerance, whatever else is stacked
with it; one Lightning module drives the stack.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, IterableDataset

from deepad.models import training
from deepad.models.autoencoder import DenseAE


class StackedDenseAE(nn.Module):
    """K DenseAEs with the same widths and activations: layer l's weights (K, in, out)."""

    def __init__(self, nets: list[DenseAE]) -> None:
        super().__init__()
        first = nets[0]
        self.in_shape, self.activation = first.in_shape, first.activation
        layers = [*first.encoder, *first.decoder]
        self.names = [f"encoder.{i}" for i in range(len(first.encoder))]
        self.names += [f"decoder.{i}" for i in range(len(first.decoder))]
        self.weights = nn.ParameterList(
            nn.Parameter(
                torch.stack([dict(n.named_parameters())[f"{name}.weight"].T for n in nets])
            )
            for name in self.names
        )  # (K, in, out) each
        self.biases = nn.ParameterList(
            nn.Parameter(
                torch.stack([dict(n.named_parameters())[f"{name}.bias"][None] for n in nets])
            )
            for name in self.names
        )  # (K, 1, out) each
        assert len(layers) == len(self.names)
        self.act, self.out_act = first.act, first.out_act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x  # (K, B, D)
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            h = torch.baddbmm(b, h, w)  # (K, B, out)
            h = self.out_act(h) if i == last else self.act(h)
        return h  # (K, B, D)

    def state_dicts(self) -> list[dict[str, torch.Tensor]]:
        """Each network's own state_dict, as a DenseAE holds it."""
        out = []
        for k in range(self.weights[0].shape[0]):
            state = {}
            for name, w, b in zip(self.names, self.weights, self.biases, strict=True):
                state[f"{name}.weight"] = w[k].T.detach().clone().contiguous()
                state[f"{name}.bias"] = b[k, 0].detach().clone()
            out.append(state)
        return out


class StackedBatches(IterableDataset):
    """One epoch of steps; step t is (x (K, B, D), mask (K, B), active (K,)). Network k's batches
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
            mask = (index != pad).float()  # (K, B)
            yield x, mask, mask[:, 0] > 0


class StackedAEModule(pl.LightningModule):
    """Lightning shell of a stack: mean-squared reconstruction loss per network, and Adam (Kingma &
    Ba 2015, as torch.optim.Adam computes it, L2 weight decay added to the gradient) with a step
    count per network, so a network that sits a step out is not moved by momentum. Logs the
    stack's mean "train/loss" per epoch; `history[k]` holds network k's per-epoch curve."""

    def __init__(self, net: StackedDenseAE, lr: float = 1e-3, weight_decay: float = 0.0) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net"])
        self.net = net
        self.automatic_optimization = False  # the per-network Adam below is the update
        k = net.weights[0].shape[0]
        self.steps = torch.zeros(k)
        self.moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in net.parameters()]
        self.history: list[list[dict]] = [[] for _ in range(k)]
        self._sums, self._counts = torch.zeros(k), torch.zeros(k)

    def training_step(self, steps: list, batch_idx: int) -> None:
        for x, mask, active in steps:  # (K, B, D), (K, B), (K,): one update of every active net
            err = (self.net(x) - x).pow(2).mean(2) * mask  # (K, B): each image's squared error
            count = mask.sum(1)  # (K,)
            loss = err.sum(1) / count.clamp(min=1)  # (K,): each network's batch loss
            for p in self.net.parameters():
                p.grad = None
            loss.sum().backward()  # network k's gradient is its own loss's: no cross terms
            self._adam(active)
            self._sums += loss.detach() * count
            self._counts += count

    @torch.no_grad()
    def _adam(self, active: torch.Tensor, betas=(0.9, 0.999), eps: float = 1e-8) -> None:
        lr, wd = self.hparams.lr, self.hparams.weight_decay
        self.steps += active.float()
        c1 = 1 - betas[0] ** self.steps.clamp(min=1)  # (K,) bias corrections
        c2 = (1 - betas[1] ** self.steps.clamp(min=1)).sqrt()
        every = bool(active.all())  # the usual step: no network sits out, no masking needed
        for p, (m, v) in zip(self.net.parameters(), self.moments, strict=True):
            shape = (-1, *[1] * (p.ndim - 1))  # (K, 1, 1)
            g = p.grad + wd * p if wd else p.grad
            if every:
                m.lerp_(g, 1 - betas[0])
                v.mul_(betas[1]).addcmul_(g, g, value=1 - betas[1])
                p.addcdiv_(m * (-lr / c1.view(shape)), v.sqrt().div_(c2.view(shape)).add_(eps))
                continue
            on = active.view(shape)
            m.copy_(torch.where(on, m.lerp(g, 1 - betas[0]), m))
            v.copy_(torch.where(on, v * betas[1] + (1 - betas[1]) * g * g, v))
            denom = v.sqrt() / c2.view(shape) + eps
            p.copy_(torch.where(on, p - (lr / c1.view(shape)) * m / denom, p))

    def on_train_epoch_end(self) -> None:
        means = self._sums / self._counts.clamp(min=1)  # (K,)
        for k, value in enumerate(means.tolist()):
            self.history[k].append({"epoch": self.current_epoch, "train/loss": value})
        self.log("train/loss", float(means.mean()), prog_bar=True)
        self._sums, self._counts = torch.zeros_like(self._sums), torch.zeros_like(self._counts)

    def configure_optimizers(self) -> None:
        return None


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
