"""Clutter sets and their metrics, image-folder data sets, and the ImageNet-pretrained network."""

import numpy as np
import pytest
import torch
from PIL import Image

from deepad import detect, features, pipeline
from deepad.data import folders, sets, sources
from deepad.data.sets import EvalRecord
from deepad.models.pretrained import PretrainedNet


def _digits(blobs):
    return sets.contaminate(*blobs, nominal=[0], anomaly=None, p=0.1, seed=0)


def test_clutter_share_groups_and_determinism(blobs):
    base = _digits(blobs)
    a = sets.add_clutter(base, share=0.25, strength=0.7, textures=["brick", "grass"], seed=3)
    b = sets.add_clutter(base, share=0.25, strength=0.7, textures=["brick", "grass"], seed=3)
    cluttered = a.record.groups == "nominal_clutter"
    assert cluttered.sum() == round(0.25 * 200) and not (cluttered & a.record.is_anomaly).any()
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(
        a.images[~cluttered], base.images[~cluttered]
    )  # the rest untouched
    changed = a.images[cluttered].astype(int) - base.images[cluttered].astype(int)
    assert (changed >= 0).all() and (
        changed > 0
    ).mean() > 0.3  # a background appeared under the object
    assert (a.images[cluttered][base.images[cluttered] == 255] == 255).all()  # opaque object kept


def test_clutter_is_nested_in_share_and_strength(blobs):
    """A sweep over q compares like with like: the images cluttered at q = 0.1 are among those at
    q = 0.3, each on the same background crop; a weaker strength keeps images and crops."""
    base = _digits(blobs)
    small, large, faint = (
        sets.add_clutter(base, share=q, strength=s, textures=["brick", "grass"], seed=3)
        for q, s in ((0.1, 0.7), (0.3, 0.7), (0.3, 0.35))
    )
    in_small = small.record.groups == "nominal_clutter"
    in_large = large.record.groups == "nominal_clutter"
    assert in_small.sum() == 20 and in_large.sum() == 60 and (in_large[in_small]).all()
    np.testing.assert_array_equal(small.images[in_small], large.images[in_small])
    assert (faint.record.groups == large.record.groups).all()
    brighter = large.images[in_large].astype(int) - faint.images[in_large].astype(int)
    assert (brighter >= 0).all() and (brighter > 0).mean() > 0.3  # same crop, half as bright


def test_clutter_rgb_and_errors(blobs):
    base = _digits(blobs)
    rgb = sets.ImageSet(np.repeat(base.images, 3, axis=1), base.source_index, base.record)
    out = sets.add_clutter(rgb, share=0.5, strength=1.0, textures=["coffee"], seed=0)
    c = out.images[out.record.groups == "nominal_clutter"]
    assert c.shape[1] == 3 and np.abs(c[:, 0].astype(int) - c[:, 2]).mean() > 1  # coloured texture
    with pytest.raises(ValueError, match="unknown clutter texture 'wallpaper'"):
        sets.add_clutter(base, 0.5, 0.7, ["wallpaper"], 0)
    with pytest.raises(ValueError, match=r"clutter share q=1.5 is out of range"):
        sets.add_clutter(base, 1.5, 0.7, ["brick"], 0)


def test_clutter_metrics():
    groups = np.array(
        ["anomaly", "nominal_clutter", "anomaly", "nominal", "nominal_clutter", "nominal"]
    )
    record = EvalRecord(groups == "anomaly", np.zeros(6, int), groups)
    scores = np.array([0.9, 0.8, 0.1, 0.2, 0.7, 0.3])  # top 2: an anomaly and a cluttered nominal
    m = detect.evaluate(scores, record)
    assert m["clutter_false_alarm_share"] == 0.5 and m["n_clutter"] == 2
    assert m["auroc_vs_clutter"] == 0.5  # anomalies 0.9, 0.1 vs clutter 0.8, 0.7


def test_clutter_run_reports_clutter_metrics(make_cfg):
    m = pipeline.run(
        make_cfg(
            "dataset=synthetic",
            "dataset.n_per_class=100",
            "+dataset.clutter.share=0.1",
            "+dataset.clutter.strength=0.8",
            "+dataset.clutter.textures=[gravel]",
            "features=raw",
        )
    )
    assert m["n_clutter"] == 10 and 0.0 <= m["clutter_false_alarm_share"] <= 1.0


# --- image folders ------------------------------------------------------------------------------


def _write(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)


@pytest.fixture
def folder(tmp_path):
    """sky: blue-ish smooth images (png, jpg); dog: noisy orange (bmp, webp); one broken file."""
    rng = np.random.default_rng(0)
    root = tmp_path / "imgs"
    for i in range(40):
        sky = np.zeros((20, 24, 3), np.uint8) + np.array([80, 140, 230], np.uint8)
        sky = np.clip(sky + rng.normal(0, 5, sky.shape), 0, 255).astype(np.uint8)
        _write(root / "sky" / f"s{i}.{'png' if i % 2 else 'jpg'}", sky)
    for i in range(12):
        dog = np.clip(rng.normal([200, 120, 40], 60, (30, 30, 3)), 0, 255).astype(np.uint8)
        _write(root / "n02084071" / f"d{i}.{'bmp' if i % 2 else 'webp'}", dog)
    (root / "sky" / "broken.png").write_bytes(b"not an image")
    (root / "empty").mkdir()
    return root


def test_image_folder_reads_classes_and_skips_bad_files(folder):
    with pytest.warns(UserWarning, match=r"skipping unreadable image .*broken\.png"):
        images, labels = folders.read_image_folder.__wrapped__(
            str(folder), ("sky", "dog"), size=16, synsets=(("dog", "n02084071"),)
        )
    assert images.shape == (52, 3, 16, 16) and images.dtype == np.uint8
    assert np.bincount(labels).tolist() == [40, 12]
    grey, _ = folders.read_image_folder.__wrapped__(str(folder), ("sky",), size=8, grey=True)
    assert grey.shape == (40, 1, 8, 8)


def test_image_folder_errors_name_the_problem(folder):
    with pytest.raises(sources.DataSourceError, match=r"broken\.png: unreadable image"):
        folders.read_image_folder.__wrapped__(str(folder), ("sky",), on_bad_image="error")
    with pytest.raises(
        sources.DataSourceError,
        match=r"class 'cat' is missing .*classes found: \['empty', 'n02084071', 'sky'\]",
    ):
        folders.read_image_folder.__wrapped__(str(folder), ("sky", "cat"))
    with pytest.raises(sources.DataSourceError, match="class 'empty' is empty"):
        folders.read_image_folder.__wrapped__(str(folder), ("empty",))


@pytest.mark.filterwarnings("ignore:skipping unreadable image")
@pytest.mark.parametrize(
    "model,extra",
    [("ae_h2o", ()), ("ae_conv", ()), ("dbn", ("dataset.grey=true", "model.sizes=[32,16]"))],
)
def test_image_folder_runs_through_the_pipeline(make_cfg, folder, model, extra):
    cfg = make_cfg(
        "dataset=image_folder",
        f"dataset.root={folder}",
        "dataset.nominal=[sky]",
        "dataset.anomaly=[dog]",
        "+dataset.synsets={dog: n02084071}",
        "dataset.size=16",
        "dataset.contamination=0.2",
        f"model={model}",
        "trainer.max_epochs=30",
        "trainer.batch_size=10",
        "features=re",
        *extra,
    )
    m = pipeline.run(cfg)
    assert m["n"] == 50 and m["n_anomalies"] == 10
    assert m["auroc"] > 0.9  # noisy orange among smooth blue is easy


# --- ImageNet-pretrained features ----------------------------------------------------------------


@pytest.fixture(scope="module")
def effnet():
    return PretrainedNet(input_size=224)


def test_pretrained_weights_recognise_a_cat(effnet):
    from skimage import data

    x = torch.from_numpy(data.chelsea()).permute(2, 0, 1)[None].float() / 255  # (1, 3, H, W)
    with torch.no_grad():
        top = effnet.backbone(effnet.prepare(x)).argmax(1).item()  # ImageNet class scores
    assert 281 <= top <= 285, top  # ImageNet's domestic cats (tabby .. Egyptian cat)


def test_folded_batch_norm_gives_the_unfolded_networks_numbers(effnet):
    """The folded network (what PretrainedNet runs) maps images as the packaged network with its
    batch norms does, to float rounding, and has no batch norm left."""
    from deepad.models.pretrained import load_efficientnet_lite0

    plain = load_efficientnet_lite0().eval()
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules())
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in effnet.backbone.modules())
    effnet.input_size = 64
    x = torch.rand(8, 1, 28, 28)
    with torch.no_grad():
        folded = effnet.feature_map(x)  # (8, 1280, 2, 2)
        reference = plain.extract_features(effnet.prepare(x))
    assert folded.shape == reference.shape
    torch.testing.assert_close(folded, reference, atol=1e-4, rtol=1e-4)
    assert reference.abs().max() > 1  # not a comparison of zeros


def test_pretrained_features_shapes_and_errors(effnet):
    x = torch.rand(4, 1, 28, 28)
    effnet.input_size = 64
    a1 = features.extract(effnet, x, "a1")
    a2 = features.extract(effnet, x, "a2")
    assert a1.shape == (4, 1280) and (a1 >= 0).all()  # pooled ReLU6 outputs
    np.testing.assert_array_equal(a2, (a1 > 0).astype(np.uint8))
    with pytest.raises(ValueError, match="model=pretrained has no decoder"):
        features.extract(effnet, x, "re")


def test_pretrained_feature_cache_rows_equal_a_direct_pass(effnet, tmp_path):
    """Rows come back from the per-image cache identical to a direct pass, in any batch and in a
    new process's store; another input size or changed weights compute afresh."""
    from deepad.models.pretrained import FeatureStore

    x = torch.rand(40, 1, 28, 28)
    effnet.input_size = 32
    with torch.no_grad():
        direct = effnet.feature_map(x).mean((2, 3)).numpy()  # (40, 1280), one batch
    effnet.use_cache(tmp_path)
    try:
        part = features.extract(effnet, x[5:8], "a1")  # 3 images: computed, written
        np.testing.assert_array_equal(part, direct[5:8])
        chunks = list((tmp_path / "features").rglob("*.npz"))
        assert len(chunks) == 1 and chunks[0].parent.name.endswith("-32px")
        FeatureStore._open.clear()  # as a new process: read from disk
        np.testing.assert_array_equal(features.extract(effnet, x, "a1"), direct)
        assert len(list((tmp_path / "features").rglob("*.npz"))) == 2  # only the 37 new ones
        FeatureStore._open.clear()
        calls = []
        effnet.feature_map = lambda b: calls.append(len(b)) or torch.ones(len(b), 1280, 1, 1)
        np.testing.assert_array_equal(features.extract(effnet, x, "a1"), direct)
        assert calls == []  # every row from the cache
        effnet.input_size = 64  # another size: computed again
        assert (features.extract(effnet, x[:2], "a1") == 1).all() and calls == [16]  # padded
        effnet.input_size = 32
        with torch.no_grad():
            effnet.backbone._fc.bias.add_(1.0)  # other weights: another folder, computed again
        try:
            assert (features.extract(effnet, x[:2], "a1") == 1).all() and len(calls) == 2
        finally:
            with torch.no_grad():
                effnet.backbone._fc.bias.sub_(1.0)
    finally:
        del effnet.feature_map
        effnet.use_cache(None)


def test_pretrained_runs_without_training(make_cfg):
    m = pipeline.run(
        make_cfg(
            "dataset=synthetic",
            "dataset.n_per_class=30",
            "model=pretrained",
            "model.input_size=32",
            "features=a1",
        )
    )
    assert m["model_cache"] == "pretrained" and m["feature_dim"] == 1280 and m["seconds_train"] < 5


def test_mask_opacity_keeps_dark_items_opaque():
    item = np.zeros((1, 4, 4), np.uint8)
    item[0, 1:3, 1:3] = 30  # a dark garment on an exactly black background
    bg = np.ones((1, 4, 4))
    masked = sets.paste(item, bg, strength=0.8, opacity="mask")
    assert (masked[0, 1:3, 1:3] == 30).all() and (masked[0, 0] == round(0.8 * 255)).all()
    bright = sets.paste(item, bg, strength=0.8, opacity="brightness")
    assert (bright[0, 1:3, 1:3] > 30).all()  # brightness opacity lets the background through
    with pytest.raises(ValueError, match="dataset.clutter.opacity='glass'"):
        sets.paste(item, bg, 0.8, opacity="glass")


@pytest.mark.parametrize("setting", ["base", "q10", "faint"])
def test_real_clutter_fashion_setting_end_to_end(make_cfg, setting):
    """A clutter-sweep cell on real Fashion-MNIST (300 nominal images, raw pixels): the setting
    sets q / strength and labels the run; the textures are what raw pixels see first."""
    cfg = make_cfg(
        "dataset=clutter_fashion",
        "dataset.nominal=[3]",
        f"+clutter_setting={setting}",
        "dataset.cap=300",
        "features=raw",
        out=setting,
    )
    assert cfg.clutter_setting == setting and cfg.dataset.clutter.share == (
        0.1 if setting == "q10" else 0.05
    )
    assert cfg.dataset.clutter.strength == (0.35 if setting == "faint" else 0.7)
    m = pipeline.run(cfg)
    assert m["n_clutter"] == (30 if setting == "q10" else 15) and m["n"] == 300 + 16
    assert m["clutter_sensitivity"] > 0.9  # a background is far from every clean item's pixels
