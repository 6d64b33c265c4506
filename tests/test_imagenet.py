"""The proposal's ImageNet experiment (conf/experiment/imagenet.yaml) on a generated folder in
ImageNet's layout: one folder per synset (WordNet ID) of JPEGs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from omegaconf import OmegaConf
from PIL import Image

from deepad import pipeline
from deepad.config import CONF, compose


def _imagenet(root: Path, per_nominal: int = 20, per_anomaly: int = 3) -> dict[str, str]:
    """Synset folders of 24 x 24 JPEGs: landscapes (sky over ground, a horizon that moves) for the
    nominal synsets, a bright animal-like blob on grey for the anomaly synsets."""
    synsets = OmegaConf.load(CONF / "experiment/imagenet.yaml").dataset.synsets
    nominal = OmegaConf.load(CONF / "experiment/imagenet.yaml").dataset.nominal
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:24, 0:24]
    for name, wnid in synsets.items():
        folder = root / wnid
        folder.mkdir(parents=True)
        for i in range(per_nominal if name in nominal else per_anomaly):
            if name in nominal:
                horizon = rng.integers(8, 16)
                img = np.where((yy < horizon)[..., None], [90, 140, 220], [60, 150, 60])
            else:
                blob = ((yy - 12) ** 2 + (xx - 12) ** 2 < 40)[..., None]
                img = np.where(blob, [230, 200, 120], [128, 128, 128])
            img = np.clip(img + rng.normal(0, 8, img.shape), 0, 255).astype(np.uint8)
            Image.fromarray(img).save(folder / f"{wnid}_{i}.JPEG", quality=95)
    return dict(synsets)


@pytest.mark.parametrize("model", ["ae_h2o", "pretrained"])
def test_imagenet_experiment_finds_the_dogs_and_cats(tmp_path, monkeypatch, model):
    _imagenet(tmp_path / "train")
    monkeypatch.setenv("IMAGENET", str(tmp_path / "train"))
    experiment = "imagenet" if model == "ae_h2o" else "imagenet_pretrained"
    overrides = [
        f"+experiment={experiment}",
        f"model={model}",
        "features=a1" if model == "pretrained" else "features=re",
        "dataset.size=24" if model == "ae_h2o" else "dataset.size=32",
        "trainer.max_epochs=20",
        "trainer.batch_size=16",
        "logger=none",
        f"paths.output_dir={tmp_path / 'run'}",
        f"paths.cache={tmp_path / 'cache'}",
    ]
    cfg = compose(overrides)
    metrics = pipeline.run(cfg)
    assert metrics["n"] == 7 * 20 + metrics["n_anomalies"] and metrics["n_anomalies"] == 7
    assert metrics["auroc"] > 0.9  # the blobs are far from every landscape


def test_without_imagenet_the_paper_says_it_was_not_run(tmp_path):
    from paper import write_paper as wp

    text, missing = wp.fill("{{optional_table:imagenet}}", tmp_path, {})
    assert "make reproduce IMAGENET=/path/to/imagenet/train" in text and not missing
    (tmp_path / "imagenet.md").write_text("| method | AUROC |\n")
    assert wp.fill("{{optional_table:imagenet}}", tmp_path, {})[0] == "| method | AUROC |"
