"""Label-free measures of an image's background and tone, for the proposal's clutter question on
natural photos (Saketh & Radha, "Anomaly detection in image data sets using deep learning": RE is
drawn to cluttered backgrounds; features are not).

- `clutter`: mean gradient magnitude of the grey image in the border ring outside the central box
  (the object of a CIFAR-10 photo sits mostly in the centre; its background fills the ring);
- `contrast`: standard deviation of the grey image;
- `brightness`: mean of the grey image;
- `saturation`: mean colourfulness, max - min over the RGB channels per pixel (0 for grey images).

Grey = the channel mean, in [0, 1]; gradients are central differences (`np.gradient`). None reads a
label. `python -m deepad.data.measures ROOT OUT.csv [SOURCE]` writes them for every image of a
source by its source index (what the paper's tables join on): `cats_dogs` (default) or `mnist:test`
(the ugly digits; there brightness is the ink mass per pixel).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

MARGIN = 0.25  # the central box leaves this share of the side on each edge to the border ring
MEASURES = ("clutter", "contrast", "brightness", "saturation")


def grey(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) uint8 -> (N, H, W) float in [0, 1], the channel mean."""
    return images.astype(np.float64).mean(1) / 255.0


def border_mask(h: int, w: int, margin: float = MARGIN) -> np.ndarray:
    """(H, W) bool, True outside the central box of side (1 - 2 margin) of the image's."""
    my, mx = round(margin * h), round(margin * w)
    mask = np.ones((h, w), dtype=bool)
    mask[my : h - my, mx : w - mx] = False
    return mask


def clutter(images: np.ndarray, margin: float = MARGIN) -> np.ndarray:
    """(N, C, H, W) uint8 -> (N,) mean gradient magnitude in the border ring."""
    g = grey(images)  # (N, H, W)
    dy, dx = np.gradient(g, axis=(1, 2))
    magnitude = np.hypot(dy, dx)  # (N, H, W)
    return magnitude[:, border_mask(*g.shape[1:], margin)].mean(1)


def measure(images: np.ndarray) -> pd.DataFrame:
    """Every measure of every image: (N, len(MEASURES)) as a frame."""
    g = grey(images)
    chroma = (images.max(1).astype(np.float64) - images.min(1)) / 255.0  # (N, H, W)
    return pd.DataFrame(
        {
            "clutter": clutter(images),
            "contrast": g.std((1, 2)),
            "brightness": g.mean((1, 2)),
            "saturation": chroma.mean((1, 2)),
        }
    )


def main() -> None:
    from deepad.data import sources
    from deepad.store import write_atomic

    root, out = sys.argv[1], Path(sys.argv[2])
    name, _, split = (sys.argv[3] if len(sys.argv) > 3 else "cats_dogs").partition(":")
    if name not in sources.LOADERS:
        sys.exit(f"measures: unknown source {name!r}; choose {', '.join(sources.LOADERS)}")
    images = sources.LOADERS[name](root)[split or "all"].images
    images = images[:, None] if images.ndim == 3 else images  # (N, C, H, W)
    table = measure(images).round(6)
    table.insert(0, "source_index", np.arange(len(table)))
    write_atomic(out, lambda tmp: table.to_csv(tmp, index=False))
    print(f"measures of {len(table)} images of {name} {split} -> {out}")


if __name__ == "__main__":
    main()
