"""Deep belief net: Bernoulli-Bernoulli RBMs stacked and trained greedily by contrastive divergence.

After Hinton, Osindero & Teh (2006), "A fast learning algorithm for deep belief nets", and Hinton
(2010), "A practical guide to training restricted Boltzmann machines" (UTML TR 2010-003): CD-k or
persistent CD (Tieleman 2008), visible reconstructions as probabilities and hidden probabilities in
the statistics (guide §3), momentum 0.5 then 0.9 (§9), L2 weight decay on the weights only (§10),
small random initial weights (§8). Layer k trains on the hidden probabilities of layer k-1.

`DBN` offers the feature interface of `deepad.features`: `reconstruct`, `bottleneck`, `hidden`,
and `free_energy`.
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn
from torch.nn.functional import softplus

from deepad.models import training


class RBM(nn.Module):
    """Bernoulli-Bernoulli RBM: E(v, h) = -v.b - h.c - v W h, with v in [0, 1]^V, h in {0, 1}^H."""

    def __init__(self, n_visible: int, n_hidden: int, init_std: float = 0.01) -> None:
        super().__init__()
        self.W = nn.Parameter(torch.randn(n_visible, n_hidden) * init_std, requires_grad=False)
        self.b = nn.Parameter(torch.zeros(n_visible), requires_grad=False)  # visible bias
        self.c = nn.Parameter(torch.zeros(n_hidden), requires_grad=False)  # hidden bias

    def p_h(self, v: torch.Tensor) -> torch.Tensor:
        """P(h = 1 | v): (B, V) -> (B, H)."""
        return torch.addmm(self.c, v, self.W).sigmoid_()

    def p_v(self, h: torch.Tensor) -> torch.Tensor:
        """P(v = 1 | h): (B, H) -> (B, V)."""
        return torch.addmm(self.b, h, self.W.T).sigmoid_()

    @staticmethod
    def sample(p: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Bernoulli states from probabilities, by comparing with uniforms (reproducible in numpy)."""
        return (torch.rand(p.shape, generator=generator, device=p.device, dtype=p.dtype) < p).to(
            p.dtype
        )

    def free_energy(self, v: torch.Tensor) -> torch.Tensor:
        """F(v) = -v.b - sum_j softplus(c_j + v W_j), so p(v) = exp(-F(v)) / Z: (B, V) -> (B,)."""
        return -(v @ self.b) - softplus(v @ self.W + self.c).sum(1)

    def cd_gradients(
        self,
        v0: torch.Tensor,
        k: int = 1,
        chain: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> tuple[tuple[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor, torch.Tensor]:
        """CD-k (chain=None: start from the data) or PCD (chain = last hidden states) estimates of
        the log-likelihood gradient for (W, b, c), the new chain state (B, H), and the
        negative-phase visible probabilities (B, V)."""
        ph0 = self.p_h(v0)  # (B, H) positive statistics use probabilities
        h = self.sample(ph0, generator) if chain is None else chain
        for _ in range(k):
            vk = self.p_v(h)  # (B, V) reconstruction as probabilities (guide §3.2)
            phk = self.p_h(vk)  # (B, H)
            h = self.sample(phk, generator)
        n = len(v0)
        dW = torch.addmm(v0.T @ ph0, vk.T, phk, alpha=-1.0).div_(n)  # (V, H)
        return (dW, (v0 - vk).mean(0), (ph0 - phk).mean(0)), h, vk

    def pseudo_likelihood(
        self, v: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Stochastic pseudo-log-likelihood per image, as sklearn's BernoulliRBM.score_samples:
        V * log sigmoid(F(v~) - F(v)), v~ = v with one random unit flipped: (B, V) -> (B,)."""
        idx = torch.randint(0, v.shape[1], (len(v),), generator=generator, device=v.device)
        rows = torch.arange(len(v), device=v.device)
        flipped = v.clone()
        flipped[rows, idx] = 1 - flipped[rows, idx]
        return -v.shape[1] * softplus(-(self.free_energy(flipped) - self.free_energy(v)))


def momentum_update(
    params: tuple[torch.Tensor, ...],
    grads: tuple[torch.Tensor, ...],
    velocity: list[torch.Tensor],
    lr: float,
    momentum: float,
    weight_decay: float,
) -> None:
    """In place, for (W, b, c): v <- momentum v + lr (grad - weight_decay W) (decay on W only);
    param <- param + v. Gradient ascent on the log-likelihood (guide §9-10)."""
    for i, (param, grad) in enumerate(zip(params, grads, strict=True)):
        velocity[i].mul_(momentum).add_(grad, alpha=lr)
        if i == 0 and weight_decay:
            velocity[i].add_(param, alpha=-lr * weight_decay)
        param.add_(velocity[i])


class DBN(nn.Module):
    """A stack of RBMs, sizes [V, H1, H2, ...]; inputs are pixel intensities in [0, 1] used as
    probabilities, or binarised at `binarize` when set."""

    def __init__(
        self,
        in_shape: tuple[int, int, int],
        sizes: list[int],
        binarize: float | None = None,
        a2_layers: str = "top",
    ) -> None:
        super().__init__()
        if a2_layers not in ("top", "all"):
            raise ValueError(f"model.a2_layers={a2_layers!r}: choose top or all")
        self.in_shape = tuple(in_shape)
        widths = [int(torch.tensor(in_shape).prod()), *sizes]
        self.rbms = nn.ModuleList(RBM(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True))
        self.binarize, self.a2_layers = binarize, a2_layers

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        v = x.flatten(1)  # (B, V) in [0, 1]
        return (v > self.binarize).to(v.dtype) if self.binarize is not None else v

    def up(self, x: torch.Tensor, layers: int | None = None) -> list[torch.Tensor]:
        """Hidden probabilities of each layer (deterministic up pass): [(B, H1), (B, H2), ...]."""
        out, h = [], self.prepare(x)
        for rbm in self.rbms[:layers]:
            h = rbm.p_h(h)
            out.append(h)
        return out

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """Up-down pass with probabilities: top hidden probabilities back down every layer."""
        h = self.up(x)[-1]
        for rbm in reversed(self.rbms):
            h = rbm.p_v(h)
        return h.view(-1, *self.in_shape)  # (B, C, H, W)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.reconstruct(x)

    def bottleneck(self, x: torch.Tensor) -> torch.Tensor:
        """A1: the top layer's hidden probabilities (B, H_top)."""
        return self.up(x)[-1]

    def hidden(self, x: torch.Tensor) -> list[tuple[torch.Tensor, float]]:
        """A2: hidden units with P(h = 1 | below) > 0.5, top layer or all layers."""
        layers = self.up(x)
        return [(h, 0.5) for h in (layers if self.a2_layers == "all" else layers[-1:])]

    def free_energy(self, x: torch.Tensor) -> torch.Tensor:
        """Free energy of each image under the bottom RBM, (B,); higher = less likely.

        The bottom RBM is the only layer that models the image itself: p(v) = exp(-F(v)) / Z with
        one constant Z, so ranking by F ranks by that RBM's likelihood. Higher layers model the
        posterior of the layer below, not the pixels, and the DBN's own likelihood is intractable.
        """
        return self.rbms[0].free_energy(self.prepare(x))


class DBNModule(pl.LightningModule):
    """Lightning shell driving greedy layer-wise CD training: layer k trains on the hidden
    probabilities of the (frozen) layers below for at most E = epochs_per_layer epochs, fewer when
    `stop_patience` > 0 and its CD loss meets the plateau rule of the autoencoders
    (`training.plateaued`: after `stop_min_epochs`, `stop_patience` epochs each lowering it by less
    than `stop_min_delta`); then layer k + 1 starts, and after the top layer training ends.

    Logs per epoch "train/loss" (mean squared error of CD's reconstruction, for the layer being
    trained), "train/pseudo_likelihood" and "train/free_energy" (on the epoch's first 512 or so
    images, as the model stands at the epoch's end) and, with a validation split,
    "val/free_energy_gap" = mean F(held-out) - mean F(train) (guide §6: a growing gap = overfitting).
    `history` keeps those numbers per epoch.
    """

    def __init__(
        self,
        net: DBN,
        lr: float = 0.05,
        momentum: tuple[float, float] = (0.5, 0.9),
        momentum_switch: int = 5,
        weight_decay: float = 2e-4,
        k: int = 1,
        persistent: bool = False,
        epochs_per_layer: int = 10,
        batch_size: int = 64,
        stop_patience: int = 0,
        stop_min_delta: float = 0.01,
        stop_min_epochs: int = 0,
        lr_schedule: str = "constant",
    ) -> None:
        super().__init__()
        training.annealed(lr, 0, 1, lr_schedule)  # an unknown schedule fails here, not mid-training
        self.save_hyperparameters(ignore=["net"])
        self.net = net
        self.automatic_optimization = False  # the CD update is the training step
        self.max_epochs = epochs_per_layer * len(net.rbms)  # read by deepad.models.training.fit
        self.batch_size = batch_size
        self.steps_per_call = 0  # the whole epoch's batches per Lightning step (training.fit)
        self.uses_index = True  # training.fit: batches carry their rows' indices (x_b, idx)
        self.stops_itself = True  # training.stopping: the plateau rule is applied per layer here
        self._layer, self._layer_losses = 0, []  # the layer being trained, its loss per epoch
        self.train_images: torch.Tensor | None = None  # set by training.fit: (N, C, H, W)
        self._layer_inputs: torch.Tensor | None = None  # layer k's inputs for every image
        self.history: list[dict] = []
        self._velocity: list[torch.Tensor] | None = None
        self._chain: torch.Tensor | None = None
        self._sums: dict[str, torch.Tensor] = {}
        self._monitor: torch.Tensor | None = None

    @property
    def layer(self) -> int:
        return self._layer

    def _inputs(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            return self.net.up(x, self.layer)[-1] if self.layer else self.net.prepare(x)

    def on_train_epoch_start(self) -> None:
        if not self._layer_losses:  # a new layer starts
            rbm = self.net.rbms[self.layer]
            self._layer_inputs = None  # the frozen layers below map every image once per layer
            if self.layer and self.train_images is not None:
                with torch.no_grad():
                    x = self.train_images
                    self._layer_inputs = torch.cat(
                        [self._inputs(x[i : i + 4096]) for i in range(0, len(x), 4096)]
                    )  # (N, V_layer)
            self._velocity = [torch.zeros_like(p) for p in (rbm.W, rbm.b, rbm.c)]
            self._chain = None
            print(
                f"[dbn] layer {self.layer + 1}/{len(self.net.rbms)}: {rbm.W.shape[0]} -> {rbm.W.shape[1]}"
            )

    def on_train_end(self) -> None:
        self._layer_inputs = self.train_images = None  # a cached module keeps no data

    def _add(self, name: str, value: torch.Tensor, n: int) -> None:
        self._sums[name] = self._sums.get(name, 0.0) + value.detach() * n
        self._sums[name + "#n"] = self._sums.get(name + "#n", 0) + n

    def training_step(self, batches: list[tuple[torch.Tensor, ...]], batch_idx: int) -> None:
        """`steps_per_call` batches (0 = the epoch's) per Lightning step, one CD update each."""
        for i, batch in enumerate(batches):
            idx = batch[1] if len(batch) > 1 else None  # (B,) rows of train_images
            self._cd_step(batch[0], first=batch_idx == 0 and i == 0, idx=idx)

    def _cd_step(self, x: torch.Tensor, first: bool, idx: torch.Tensor | None = None) -> None:
        hp, rbm = self.hparams, self.net.rbms[self.layer]
        cached = self._layer_inputs is not None and idx is not None
        v0 = self._layer_inputs[idx] if cached else self._inputs(x)  # (B, V_layer)
        chain = (
            self._chain
            if hp.persistent and self._chain is not None and len(self._chain) == len(v0)
            else None
        )
        with torch.no_grad():
            grads, h, vk = rbm.cd_gradients(v0, hp.k, chain)
            if hp.persistent:
                self._chain = h
            epoch_in_layer = len(self._layer_losses)
            mom = hp.momentum[0] if epoch_in_layer < hp.momentum_switch else hp.momentum[1]
            lr = training.annealed(
                hp.lr, epoch_in_layer, hp.epochs_per_layer, hp.get("lr_schedule", "constant")
            )
            momentum_update((rbm.W, rbm.b, rbm.c), grads, self._velocity, lr, mom, hp.weight_decay)
            self._add("train/loss", (v0 - vk).pow(2).mean(), len(v0))  # CD's own reconstruction
        if first:  # free energy and pseudo-likelihood at epoch end, on the epoch's first batch
            self._monitor = v0[:512]

    def validation_step(self, batch: tuple[torch.Tensor, ...], batch_idx: int) -> None:
        v = self._inputs(batch[0])
        self._add("val/free_energy", self.net.rbms[self.layer].free_energy(v).mean(), len(v))

    def on_train_epoch_end(self) -> None:
        rbm = self.net.rbms[self.layer]
        with torch.no_grad():
            g = torch.Generator(device=self._monitor.device).manual_seed(
                0
            )  # leaves training's RNG alone
            self._add("train/pseudo_likelihood", rbm.pseudo_likelihood(self._monitor, g).mean(), 1)
            self._add("train/free_energy", rbm.free_energy(self._monitor).mean(), 1)
        means = {
            k: float(v / self._sums[k + "#n"])
            for k, v in self._sums.items()
            if not k.endswith("#n")
        }
        if "val/free_energy" in means:
            means["val/free_energy_gap"] = means["val/free_energy"] - means["train/free_energy"]
        self._sums = {}
        self.history.append({"epoch": self.current_epoch, "layer": self.layer, **means})
        for name, value in means.items():
            self.log(name, value, prog_bar=name in ("train/loss", "train/pseudo_likelihood"))
        self.log("layer", float(self.layer + 1), prog_bar=True)
        self._next_layer(means["train/loss"])

    def _next_layer(self, loss: float) -> None:
        """Record this epoch's CD loss; once the layer has trained its epochs, or its curve meets
        the plateau rule, the next layer starts (after the top one, training ends)."""
        hp = self.hparams
        self._layer_losses.append(loss)
        done = len(self._layer_losses) >= hp.epochs_per_layer or training.plateaued(
            self._layer_losses, hp.stop_patience, hp.stop_min_delta, hp.stop_min_epochs
        )
        if not done:
            return
        self._layer_losses = []
        if self._layer == len(self.net.rbms) - 1:
            self.trainer.should_stop = True
        else:
            self._layer += 1

    def configure_optimizers(self) -> None:
        return None


def build(cfg, in_shape: tuple[int, int, int]) -> DBNModule:
    """The `model=dbn` config -> a DBNModule (see conf/model/dbn.yaml)."""
    net = DBN(in_shape, list(cfg.sizes), cfg.get("binarize"), cfg.get("a2_layers", "top"))
    return DBNModule(
        net,
        lr=cfg.lr,
        momentum=tuple(cfg.momentum),
        momentum_switch=cfg.momentum_switch,
        weight_decay=cfg.weight_decay,
        k=cfg.k,
        persistent=cfg.persistent,
        epochs_per_layer=cfg.epochs_per_layer,
        batch_size=cfg.batch_size,
        stop_patience=int(cfg.get("stop_patience") or 0),
        stop_min_delta=float(cfg.get("stop_min_delta", 0.01)),
        stop_min_epochs=int(cfg.get("stop_min_epochs") or 0),
        lr_schedule=cfg.get("lr_schedule", "constant"),
    )
