"""The photo autoencoders' training protocol, chosen by a rule that reads no labels.

`python experiments/photo_protocol.py OUT.csv` (make protocol; not part of make reproduce) trains
each photo autoencoder (conf/experiment/cats_dogs.yaml's models) on one photo set (cats nominal,
p = 0.1, seed 0) under each setting of GRID, up to the photo experiment's epoch cap, and writes one
row per (model, setting): the final training loss, the epochs trained, whether the curve met the
photos' plateau rule (cats_dogs.yaml's stop_patience and stop_min_delta) and the seconds it took
on one thread.

The rule (`choose`): among the settings whose every curve meets the plateau rule, the lowest final
loss averaged over the autoencoders. It reads training losses only, never a label, so it may read
a reported set; cats_dogs.yaml holds the setting it chose. The earlier protocol (a constant rate at
batch 256 for up to 300 epochs) is a row too: what the chosen one is measured against.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from pathlib import Path

import pandas as pd
import torch

from deepad.config import compose
from deepad.data import sets
from deepad.models import build, training
from deepad.store import git_commit, write_atomic

MODELS = ("ae_h2o", "ae_dense", "ae_conv")
SET = ["dataset.nominal=[0]", "dataset.contamination=0.1", "seed=0"]
PHOTOS = ["+experiment=cats_dogs", "logger=none"]  # the photo experiment: its rule, its cap
CAP = int(compose(PHOTOS).trainer.max_epochs)  # the most a setting may train: the hour's share
GRID = {  # name -> (lr, schedule, batch, cap)
    **{
        f"cosine lr {lr:g} batch {b}": (lr, "cosine", b, CAP)
        for b in (64, 256)
        for lr in (1e-3, 3e-3, 1e-2)
    },
    **{f"constant lr {lr:g} batch 64": (lr, "constant", 64, CAP) for lr in (1e-3, 3e-3)},
    "earlier: constant lr 0.001 batch 256, 300 epochs": (1e-3, "constant", 256, 300),
}


def train(model: str, lr: float, schedule: str, batch: int, cap: int) -> dict:
    """One photo autoencoder under one setting: its curve's final loss, length and rule."""
    cfg = compose(
        [
            *PHOTOS,
            f"model={model}",
            *SET,
            f"model.lr={lr}",
            f"model.lr_schedule={schedule}",
            f"model.batch_size={batch}",
            f"trainer.max_epochs={cap}",
            "trainer.progress_bar=false",
        ]
    )
    torch.manual_seed(0)  # as a run seeds itself before its network is built (deepad.pipeline)
    x = training.to_tensor(sets.build(cfg.dataset).images)  # (N, 3, 32, 32)
    module = build(cfg.model, tuple(x.shape[1:]))
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        losses = [row["train/loss"] for row in training.fit(module, x, cfg.trainer, 0)]
    return {
        "seconds": time.perf_counter() - start,
        "epochs": len(losses),
        "final_loss": losses[-1],
        "meets_rule": training.plateaued(  # the photos' plateau rule (cats_dogs.yaml)
            losses, int(cfg.model.stop_patience), float(cfg.model.stop_min_delta)
        ),
    }


def choose(rows: pd.DataFrame) -> str:
    """The setting of GRID (not the earlier protocol) whose curves all meet the plateau rule and
    whose final loss, averaged over the models, is lowest."""
    grid = rows[~rows.setting.str.startswith("earlier")]
    per = grid.groupby("setting").agg(met=("meets_rule", "all"), loss=("final_loss", "mean"))
    return str(per[per.met].loss.idxmin())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(1)
    commit = git_commit()  # the code that trains them, read before it runs
    rows = []
    for name, (lr, schedule, batch, cap) in GRID.items():
        for model in MODELS:
            row = {"setting": name, "model": model, **train(model, lr, schedule, batch, cap)}
            print(
                f"[protocol] {name:48s} {model:8s} loss {row['final_loss']:.5f} "
                f"epochs {row['epochs']:3d} rule {row['meets_rule']} {row['seconds']:.1f} s",
                flush=True,
            )
            rows.append(row)
    frame = pd.DataFrame(rows)
    frame["chosen"] = frame.setting == choose(frame)
    frame["git_commit"] = commit
    write_atomic(args.out, lambda tmp: frame.to_csv(tmp, index=False))
    print(f"[protocol] chosen: {choose(frame)} -> {args.out}")


if __name__ == "__main__":
    main()
