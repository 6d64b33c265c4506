"""Many dense autoencoders of one shape trained as one network, for `make bench`: their weights
stacked on a leading network axis, one batched matmul (`torch.bmm`) per layer and pass, each
network on its own images, its own shuffled batches (its own seeded generator, as
`training.batches`), its own loss (mean squared error, or `AutoencoderModule`'s trimmed loss) and
its own Adam state and step count. A network trained here is the network `training.fit` trains
alone (same initial weights, same batches, same updates) to float tolerance, whatever else is
stacked with it; one Lightning module drives the stack. It lives outside the package: no result of
the paper is trained by it (a float-tolerance twin would let make's schedule decide a shared
network's last bits), so its edits never touch a cache key.

The gradients are written out (backpropagation, Rumelhart, Hinton & Williams 1986) rather than
taken from autograd: the loss's per-image weights are applied to the narrow side of each weight
gradient, never to a (K, B, 784) tensor, and the output activation's derivative is taken in
place; a test holds them to autograd's gradients. Each weight is kept with its narrow side first,
the decoder's bias folded into its weight, the hidden layers feature-major ((k, width, B)), and
the networks that have finished an epoch left out of its last steps (`StackedDenseAE`,
`StackedBatches`). `make bench` measures what this buys (docs/speed.md).
"""

from __future__ import annotations

import pytorch_lightning as pl
import torch
from torch import nn
from torch.utils.data import IterableDataset

from deepad.models import training
from deepad.models.autoencoder import ACTIVATIONS, DenseAE, trimmed_keep


def _activate_(name: str, z: torch.Tensor) -> torch.Tensor:
    """The activation, in place on the pre-activation z."""
    return {"tanh": torch.tanh_, "sigmoid": torch.sigmoid_, "relu": torch.relu_}[name](z)


def _derivative_times_(name: str, grad: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """grad * act'(z), in place on grad, from the activation's output h = act(z): one pass of
    the kernel autograd runs for the activation's backward."""
    aten = torch.ops.aten
    if name == "sigmoid":  # h (1 - h)
        return aten.sigmoid_backward.grad_input(grad, h, grad_input=grad)
    if name == "tanh":  # 1 - h^2
        return aten.tanh_backward.grad_input(grad, h, grad_input=grad)
    if name == "relu":  # h > 0
        return aten.threshold_backward.grad_input(grad, h, 0.0, grad_input=grad)
    raise ValueError(f"no derivative for activation {name!r}; choose tanh, sigmoid or relu")


def _name(act: nn.Module) -> str:
    names = {cls: name for name, (cls, _) in ACTIVATIONS.items()}
    if type(act) not in names:
        raise ValueError(f"cannot stack activation {type(act).__name__}; use tanh, sigmoid or relu")
    return names[type(act)]


class StackedDenseAE(nn.Module):
    """K DenseAEs with the same widths and activations, run as one. The hidden layers work
    feature-major: layer i < depth - 1 maps its input (k, in, B) to (k, out, B) by its weight
    `weight{i}` (K, out, in), each network's nn.Linear weight, and adds `bias{i}` (K, out, 1); the
    input x (k, B, D) enters the first as its transpose (a view). The output layer maps back to
    sample-major (k, B, D): its input carries a row of ones, and its weight `weight{depth-1}`
    (K, in + 1, out) holds nn.Linear's weight transposed with the bias as its last row, so one
    product makes the output and one its weight and bias gradients (no (K, B, 784) bias
    broadcast). Each weight has its narrow side first for the 784-50-784 network ((K, 50, 784)
    and (K, 51, 784): the weight gradient is a product over the batch, faster so than as
    (K, 784, 50)), and the two products that narrow 784 to 50 (the first layer's, and the
    output's gradient back to the code) write a (k, 50, B) result, faster than (k, B, 50).
    `parameter_views(k)` are network k's own tensors (views into these), which the optimiser
    steps; `state_dicts()` gives each network back as a DenseAE."""

    def __init__(self, nets: list[DenseAE]) -> None:
        super().__init__()
        self.in_shape = nets[0].in_shape
        self.n_enc = len(nets[0].encoder)
        layers = [[*net.encoder, *net.decoder] for net in nets]
        self.depth = len(layers[0])
        self.acts = [_name(nets[0].act)] * (self.depth - 1) + [_name(nets[0].out_act)]
        self.widths = [(lin.in_features, lin.out_features) for lin in layers[0]]
        for i in range(self.depth):
            w = torch.stack([net[i].weight.detach() for net in layers])  # (K, out, in)
            b = torch.stack([net[i].bias.detach() for net in layers])[:, :, None]  # (K, out, 1)
            if i == self.depth - 1:  # the output layer: (K, in + 1, out), the bias last
                w = torch.cat([w.transpose(1, 2), b.transpose(1, 2)], 1)
            else:
                self.register_buffer(f"bias{i}", b.contiguous())
            self.register_buffer(f"weight{i}", w.contiguous())
        self._work: dict[str, torch.Tensor] = {}  # a step's tensors, reused from step to step

    def workspace(self, name: str, shape: tuple[int, ...], ones: bool = False) -> torch.Tensor:
        """A workspace tensor of `shape` (k, ...): the first k networks' rows of a (K, ...) tensor
        allocated once per shape (its last row ones if `ones`). A fresh (K, B, 784) tensor a
        step costs more than the arithmetic on it (the allocator's page faults), and reused ones
        stay in the CPU's cache."""
        buf = self._work.get(name)
        if buf is None or buf.shape[1:] != shape[1:]:
            buf = self._work[name] = torch.empty(
                (len(self.weight0), *shape[1:]), dtype=self.weight0.dtype
            )
            if ones:
                buf[:, -1] = 1.0
        return buf[: shape[0]]

    def tensors(self, i: int) -> list[torch.Tensor]:
        """Layer i's stacked tensors: [weight, bias], or [weight] for the output layer."""
        w = getattr(self, f"weight{i}")
        return [w] if i == self.depth - 1 else [w, getattr(self, f"bias{i}")]

    def parameter_views(self, k: int) -> list[torch.Tensor]:
        return [t[k] for i in range(self.depth) for t in self.tensors(i)]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Each layer's input and the output of the first k networks for x (k, B, D): [x, h_1,
        ..., y], h_i (k, width, B) feature-major (the last one with a row of ones below), y
        (k, B, D). They live in the stack's workspace: the next call overwrites them."""
        hs, (k, b) = [x], x.shape[:2]
        for i in range(self.depth - 1):
            n_out, ones = self.widths[i][1], i == self.depth - 2  # the output layer's input
            h_in = x.transpose(1, 2) if i == 0 else hs[-1]  # (k, in, B)
            buf = self.workspace(f"h{i}", (k, n_out + ones, b), ones)  # (k, out (+ 1), B)
            out = buf[:, :n_out]
            torch.bmm(getattr(self, f"weight{i}")[:k], h_in, out=out)
            _activate_(self.acts[i], out.add_(getattr(self, f"bias{i}")[:k]))
            hs.append(buf)
        w = getattr(self, f"weight{self.depth - 1}")[:k]  # (k, in + 1, D)
        y = self.workspace("y", (k, b, w.shape[2]))  # (k, B, D)
        _activate_(self.acts[-1], torch.bmm(hs[-1].transpose(1, 2), w, out=y))
        hs.append(y)
        return hs

    def gradients(
        self, hs: list[torch.Tensor], grad: torch.Tensor, row_weight: torch.Tensor
    ) -> list[torch.Tensor]:
        """The gradients of sum_k sum_b row_weight[k, b] * l(k, b) over the first k networks (those
        of `hs`), where grad (k, B, D) is each image's dl/dy (overwritten) and row_weight (k, B):
        one per stacked tensor, its first k networks' rows, laid out as it (`tensors`). A row's
        weight scales its whole backward pass, so it is applied once per layer to whichever
        factor of the weight gradient is narrower. The gradients live in the stack's workspace:
        the next call overwrites them."""
        (k, b), last = grad.shape[:2], self.depth - 1
        wrow, wcol = row_weight[:, None], row_weight[:, :, None]  # (k, 1, B), (k, B, 1)
        # the output layer, sample-major: its weight (k, in + 1, D)
        w, (n_in, n_out) = getattr(self, f"weight{last}")[:k], self.widths[last]
        delta = _derivative_times_(self.acts[last], grad, hs[-1])  # (k, B, D): dl/dz
        h_in, d = hs[last], delta  # (k, in + 1, B), (k, B, D)
        if n_in + 1 <= n_out:
            h_in = h_in * wrow
        else:
            d = delta * wcol
        grads = [torch.bmm(h_in, d, out=self.workspace(f"dw{last}", w.shape))]
        g = torch.bmm(
            w[:, :n_in], delta.transpose(1, 2), out=self.workspace(f"g{last}", (k, n_in, b))
        )
        # the hidden layers, feature-major: weight (k, out, in), g (k, out, B) the gradient of h
        for i in reversed(range(last)):
            w, (n_in, n_out) = getattr(self, f"weight{i}")[:k], self.widths[i]
            delta = _derivative_times_(self.acts[i], g, hs[i + 1][:, :n_out])  # (k, out, B)
            h_in = hs[0] if i == 0 else hs[i].transpose(1, 2)  # (k, B, in)
            d = delta
            if n_out <= n_in:
                d = delta * wrow
            else:
                h_in = h_in * wcol
            dw = torch.bmm(d, h_in, out=self.workspace(f"dw{i}", w.shape))  # (k, out, in)
            db = torch.bmm(delta, wcol, out=self.workspace(f"db{i}", (k, n_out, 1)))
            grads[:0] = [dw, db]
            if i:
                g = torch.bmm(w.transpose(1, 2), delta, out=self.workspace(f"g{i}", (k, n_in, b)))
        return grads

    def state_dict_of(self, tensors: list[torch.Tensor], k: int) -> dict[str, torch.Tensor]:
        """Network k's share of stacked tensors laid out as the stack's (its weights, or their
        gradients), named and shaped as a DenseAE's state_dict."""
        state, it = {}, iter(tensors)
        for i in range(self.depth):
            part, j = ("encoder", i) if i < self.n_enc else ("decoder", i - self.n_enc)
            w, n_in = next(it)[k], self.widths[i][0]
            if i == self.depth - 1:  # (in + 1, out): the transposed weight, the bias below
                w, b = w[:n_in].t(), w[n_in]
            else:  # (out, in) and (out, 1)
                b = next(it)[k, :, 0]
            state[f"{part}.{j}.weight"] = w.clone(memory_format=torch.contiguous_format)
            state[f"{part}.{j}.bias"] = b.clone()
        return state

    def state_dicts(self) -> list[dict[str, torch.Tensor]]:
        """Each network's own state_dict, as a DenseAE holds it."""
        tensors = [t for i in range(self.depth) for t in self.tensors(i)]
        return [self.state_dict_of(tensors, k) for k in range(len(self.weight0))]


class StackedBatches(IterableDataset):
    """One epoch of steps; step t is a list of row-index tensors, entry k network k's batch
    (B_k,) of rows of its images, or None: it sits the step out, as do the networks past the
    list's end (so a stack ordered by set size, as `fit_stacked` orders it, computes only the
    networks still training at an epoch's end). Network k's batches are the ones its own
    `training.Batches` (seeded with its seed) draws, the batches it would train on alone, taken
    len() batches an epoch as Lightning takes them; a network with fewer steps sits out the
    rest. `gather` fetches a step's images where they are used, into the stack's workspace."""

    def __init__(self, xs: list[torch.Tensor], batch_size: int, seeds: list[int]) -> None:
        self.samplers = [
            training.Batches(x, batch_size, True, int(s)) for x, s in zip(xs, seeds, strict=True)
        ]
        self.xs = [x.flatten(1) for x in xs]  # [(N_k, D)]
        self.batch_size = batch_size

    def __len__(self) -> int:  # steps per epoch: the largest network's
        return max(len(sampler) for sampler in self.samplers)

    def __iter__(self):
        epoch = [sampler.indices() for sampler in self.samplers]  # [[(B,), ...] per network]
        for t in range(len(self)):
            step = [batches[t] if t < len(batches) else None for batches in epoch]
            while step[-1] is None:  # some network has a batch: len() is the largest's count
                step.pop()
            yield step

    def gather(self, step: list[torch.Tensor | None], out: torch.Tensor) -> torch.Tensor:
        """A step's images into out (k, B, D), k = len(step); rows past a network's batch are
        zeros."""
        b = out.shape[1]  # (len() of a tensor costs ~5 us; shape[0] a fraction)
        for k, (x, rows, idx) in enumerate(zip(self.xs[: len(step)], out, step, strict=True)):
            n = 0 if idx is None else idx.shape[0]
            if n:
                torch.index_select(x, 0, idx, out=rows if n == b else rows[:n])
            if n < b:
                out[k, n:] = 0.0
        return out


class StackedAdam(torch.optim.Optimizer):
    """Adam (Kingma & Ba 2015) over K networks' own tensors, each with its own moments and step
    count: `update(grads, active)` is one call of torch's fused Adam kernel (the one
    `torch.optim.Adam(fused=True)` runs, so the same arithmetic) over the tensors of the networks
    that have a batch this step; the others are left alone. It takes the gradients as the stack
    makes them, not through each view's `.grad` (setting and reading 32 of them a step, with
    `Optimizer.step`'s hooks, cost about 4% of a step), and keeps the kernel's lists while the
    gradients' storage stays. `views[k]`: network k's tensors."""

    def __init__(
        self, views: list[list[torch.Tensor]], lr: float = 1e-3, weight_decay: float = 0.0
    ) -> None:
        params = [p for net in views for p in net]
        super().__init__(params, {"lr": lr, "weight_decay": weight_decay})
        self.views = views
        self.steps = torch.zeros(len(views))  # (K,): each network's step count
        self._step_views = [self.steps[k] for k in range(len(views))]  # 0-dim, one per network
        self._lists: dict[tuple, tuple[list[torch.Tensor], ...]] = {}
        for p in params:
            self.state[p] = {"exp_avg": torch.zeros_like(p), "exp_avg_sq": torch.zeros_like(p)}

    def _gather(self, grads: list[torch.Tensor], active: list[int]) -> tuple[list, ...]:
        """The fused kernel's lists (params, grads, moments, steps) for these networks."""
        lists: tuple[list, ...] = ([], [], [], [], [])
        for k in active:
            for p, g in zip(self.views[k], grads, strict=True):
                state = self.state[p]
                for target, t in zip(lists, (p, g[k], state["exp_avg"], state["exp_avg_sq"],
                                             self._step_views[k]), strict=True):  # fmt: skip
                    target.append(t)
        return lists

    @torch.no_grad()
    def update(self, grads: list[torch.Tensor], active: list[int]) -> None:
        """One Adam step of the networks in `active` from `grads`: one tensor per stacked tensor
        of a network, laid out as the stack's, row k network k's (`StackedDenseAE.gradients`)."""
        key = (tuple(active), grads[0].data_ptr(), grads[0].shape[0])
        lists = self._lists.get(key)
        if lists is None:
            lists = self._lists[key] = self._gather(grads, active)
        if len(active) == len(self.views):
            self.steps.add_(1.0)
        else:
            self.steps[active] += 1.0
        params, grads_k, exp_avgs, exp_avg_sqs, steps = lists
        if params:
            group = self.param_groups[0]
            torch._fused_adam_(
                params, grads_k, exp_avgs, exp_avg_sqs, [], steps, lr=group["lr"], beta1=0.9,
                beta2=0.999, weight_decay=group["weight_decay"], eps=1e-8, amsgrad=False,
                maximize=False,
            )  # fmt: skip

    def step(self, closure=None) -> None:
        raise NotImplementedError(
            "StackedAdam steps by update(grads, active), from the stack's gradients"
        )


def row_weights(err: torch.Tensor | None, mask: torch.Tensor, trim: float) -> torch.Tensor:
    """Each image's weight in its network's batch loss, (K, B): 1 / (images in the batch) for the
    mean squared error; with `trim` > 0, 1 / keep for the keep = `trimmed_keep(n, trim)` images of
    lowest error and 0 for the rest (`AutoencoderModule`'s trimmed loss); 0 for padding rows.
    err (K, B): each image's mean squared error (read by the trimmed loss only)."""
    count = mask.sum(1)  # (K,)
    if not trim:
        return mask / count.clamp(min=1)[:, None]
    weight = torch.zeros_like(mask)
    err = err.masked_fill(mask == 0, float("inf"))  # padding is never kept
    for k, n in enumerate(count.long().tolist()):
        if n:
            keep = trimmed_keep(n, trim)
            weight[k, err[k].topk(keep, largest=False).indices] = 1.0 / keep
    return weight


class StackedAEModule(pl.LightningModule):
    """Lightning shell of a stack: each network's batch loss (`row_weights`), its gradients
    (`StackedDenseAE.gradients`) and `StackedAdam` (the fused Adam kernel `AutoencoderModule`'s
    optimiser runs) over every network's own tensors, so each keeps its own moments and step
    count. A network that sits a step out has no gradient that step, so Adam leaves it
    alone. Logs the stack's mean "train/loss" per epoch; `history[k]` holds network k's curve."""

    def __init__(
        self,
        net: StackedDenseAE,
        data: StackedBatches,
        lr: float = 1e-3,
        weight_decay: float = 0.0,
        trim: float = 0.0,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["net", "data"])
        self.net, self.data = net, data
        self.automatic_optimization = False  # one optimiser step per batch of the epoch's steps
        k = net.weight0.shape[0]
        self.views = [net.parameter_views(i) for i in range(k)]  # network i's own tensors
        self._row_cache: dict[tuple[int, ...], tuple] = {}  # StackedAEModule._rows
        self.history: list[list[dict]] = [[] for _ in range(k)]
        self._sums, self._counts = torch.zeros(k), torch.zeros(k)

    def training_step(self, steps: list, batch_idx: int) -> None:
        opt = self.optimizers().optimizer  # StackedAdam itself, as AutoencoderModule
        for step in steps:  # [(B_k,) or None]: one update of every network with a batch
            shape = (len(step), self.data.batch_size, self.data.xs[0].shape[1])  # (k, B, D)
            x = self.data.gather(step, self.net.workspace("x", shape))  # (k, B, D)
            counts = tuple(0 if idx is None else idx.shape[0] for idx in step)
            count, mask, plain = self._rows(counts, shape[1])  # (k,), (k, B), (k, B) or None
            d = x.shape[2]
            hs = self.net(x)
            grad = torch.sub(hs[-1], x, out=self.net.workspace("err", x.shape))  # (k, B, D): y - x
            err = torch.linalg.vector_norm(grad, dim=2).square_().div_(d)  # (k, B)
            weight = row_weights(err, mask, self.hparams.trim) if plain is None else plain
            loss = (weight * err).sum(1)  # (k,): each network's batch loss
            grads = self.net.gradients(hs, grad, weight * (2.0 / d))  # d(mean)/dy = 2 (y - x) / D
            opt.update(grads, [j for j, n in enumerate(counts) if n])  # no batch: no update
            self._sums[: len(step)] += loss * count
            self._counts[: len(step)] += count

    def _rows(self, counts: tuple[int, ...], b: int) -> tuple[torch.Tensor, ...]:
        """For a step's batch sizes: their tensor (k,), the rows that hold images (k, B) and, for
        the mean squared error, the loss's row weights (k, B) (the trimmed loss's depend on the
        errors: None). A fit has a few distinct steps (full ones, each network's last), kept."""
        rows = self._row_cache.get(counts)
        if rows is None:
            count = torch.tensor(counts, dtype=self.net.weight0.dtype)  # (k,)
            mask = (torch.arange(b) < count[:, None]).to(count.dtype)  # (k, B)
            plain = None if self.hparams.trim else row_weights(None, mask, 0.0)
            rows = self._row_cache[counts] = (count, mask, plain)
        return rows

    def on_train_epoch_end(self) -> None:
        means = self._sums / self._counts.clamp(min=1)  # (K,)
        for k, value in enumerate(means.tolist()):
            self.history[k].append({"epoch": self.current_epoch, "train/loss": value})
        self.log("train/loss", float(means.mean()), prog_bar=True)
        self._sums, self._counts = torch.zeros_like(self._sums), torch.zeros_like(self._counts)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return StackedAdam(self.views, self.hparams.lr, self.hparams.weight_decay)


def fit_stacked(nets: list[DenseAE], xs: list[torch.Tensor], seeds: list[int], model_cfg, cfg):
    """Train K networks (each built with its seed, as `Detector` builds it) on their images
    xs[k] (N_k, C, H, W) at once; returns each network's state_dict and per-epoch curves."""
    order = sorted(range(len(nets)), key=lambda k: -len(xs[k]))  # largest set first: see
    # StackedBatches; the networks that sit out an epoch's last steps are then not computed
    data = StackedBatches([xs[k] for k in order], cfg.batch_size, [seeds[k] for k in order])
    module = StackedAEModule(
        StackedDenseAE([nets[k] for k in order]), data, model_cfg.lr, model_cfg.weight_decay,
        model_cfg.get("trim", 0.0),
    )  # fmt: skip
    loader = training.grouped(data, 8)  # 8 steps per Lightning step: its cost paid once per 8
    training.drive(module, loader, None, cfg.max_epochs, cfg)
    states, back = module.net.state_dicts(), sorted(range(len(order)), key=order.__getitem__)
    return [states[i] for i in back], [module.history[i] for i in back]
