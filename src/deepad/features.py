"""Per-image features of a fitted network, after the proposal's Step 2 (Saketh & Radha):

- `re`: reconstruction error, the mean squared error per image (the H2O tutorial's score) -> (N,)
- `a1`: the middle-layer (bottleneck) activations -> (N, d)
- `a2`: which hidden units an image activates, over all hidden layers, as a binary matrix:
        a unit is active above its activation's midpoint (tanh > 0, relu > 0, sigmoid > 0.5) -> (N, k)
- `raw`: the flattened pixels, no network (the baseline) -> (N, C*H*W)

A 1-D result is a score already (higher = more anomalous); a 2-D one goes to a detector.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

VARIANTS = ("re", "a1", "a2", "raw", "free_energy")
NEEDS_MODEL = {"re": True, "a1": True, "a2": True, "raw": False, "free_energy": True}


def reconstruction_error(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Mean squared error per image: (B, C, H, W) x 2 -> (B,)."""
    return (x - x_hat).pow(2).flatten(1).mean(1)


def active_pattern(hidden: list[tuple[torch.Tensor, float]]) -> torch.Tensor:
    """[(activation (B, ...), midpoint), ...] -> (B, k) uint8, 1 where a unit is above its midpoint."""
    return torch.cat([(h.flatten(1) > mid) for h, mid in hidden], dim=1).to(torch.uint8)


def _one_batch(net: nn.Module, x: torch.Tensor, variant: str) -> torch.Tensor:
    if variant == "re":
        return reconstruction_error(x, net.reconstruct(x))
    if variant == "a1":
        return net.bottleneck(x).flatten(1)
    if variant == "a2":
        return active_pattern(net.hidden(x))
    if variant == "free_energy":
        return net.free_energy(x)
    raise AssertionError(variant)


@torch.no_grad()
def extract(
    net: nn.Module | None,
    x: torch.Tensor,
    variant: str,
    batch_size: int = 2048,
    progress: bool = False,
) -> np.ndarray:
    """Features of images x (N, C, H, W) in [0, 1]: (N,) scores or an (N, d) matrix (see module doc)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown features variant {variant!r}; choose one of {list(VARIANTS)}")
    if variant == "raw":
        return x.flatten(1).numpy()  # (N, C*H*W)
    if variant == "free_energy" and not hasattr(net, "free_energy"):
        raise ValueError(
            f"features=free_energy needs an energy-based model (model=dbn); {type(net).__name__} has no "
            "free energy. Use features=re, a1 or a2 with an autoencoder."
        )
    net.eval()
    device = next(net.parameters()).device
    chunks = x.split(batch_size)
    shown = tqdm(
        chunks, desc=f"features {variant}", disable=not progress or len(chunks) < 4, leave=False
    )
    return torch.cat([_one_batch(net, xb.to(device), variant).cpu() for xb in shown]).numpy()
