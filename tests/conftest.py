"""Shared fixtures: composed real configs with tiny overrides, generated image sets."""

from __future__ import annotations

import os

import numpy as np
import pytest
from omegaconf import DictConfig

from deepad.config import compose
from helpers import DATA

os.environ.setdefault("WANDB_MODE", "offline")  # never hang on a network that is not there
os.environ.setdefault("WANDB_SILENT", "true")


@pytest.fixture
def make_cfg(tmp_path):
    """compose(config.yaml, overrides) with outputs, cache and W&B inside tmp_path, logger off."""

    def _make(*overrides: str, out: str = "run") -> DictConfig:
        base = [
            f"paths.output_dir={tmp_path / out}",
            f"paths.cache={tmp_path / 'cache'}",
            f"paths.data={DATA}",
            "logger=none",
            "trainer.progress_bar=false",
        ]
        return compose(base + list(overrides))

    return _make


@pytest.fixture
def blobs():
    """Generated labelled images (N, 1, 8, 8): classes 0..2 as smooth blobs at three places."""
    rng = np.random.default_rng(0)
    images, labels = [], []
    for k, (cy, cx) in enumerate([(2, 2), (5, 5), (2, 5)]):
        yy, xx = np.mgrid[0:8, 0:8]
        blob = 255 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 2.0)
        for _ in range(200):
            images.append(np.clip(blob + rng.normal(0, 10, (8, 8)), 0, 255).astype(np.uint8))
            labels.append(k)
    return np.stack(images)[:, None], np.array(labels)
