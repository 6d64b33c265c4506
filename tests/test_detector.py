"""`from deepad import Detector`: the scikit-learn / PyOD habit on generated images."""

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.metrics import roc_auc_score

from deepad import Detector, detector, pipeline
from deepad.data import sets

SMALL = {"params": {"trainer": {"max_epochs": 20, "batch_size": 16}, "model.hidden": [16]}}


@pytest.fixture(scope="module")
def bars():
    """Class 0 bars with 10% class-5 bars mixed in (labels for the test only), and fresh images."""
    src = sets.synthetic_source(n_per_class=80, seed=0)
    s = sets.contaminate(src.images, src.labels, [0], [5], p=0.1, seed=0)
    new = sets.synthetic_source(n_per_class=20, seed=1)
    keep = np.isin(new.labels, [0, 5])
    return s.images[:, 0], s.record.is_anomaly, new.images[keep], new.labels[keep] == 5


@pytest.mark.parametrize("features", ["re", "a1", "a2"])
def test_fit_scores_labels_and_new_images(bars, features):
    images, is_anomaly, new, new_anomaly = bars
    # the default 784-50-784 network (16 units give A2 few patterns), at a constant rate: annealed,
    # 50 units fit 89 tiny images too closely for this floor
    trainer = {
        "trainer": SMALL["params"]["trainer"],
        "model.lr": 1e-3,
        "model.lr_schedule": "constant",
    }
    det = Detector(features=features, seed=0, contamination=0.1, params=trainer).fit(images)
    assert det.decision_scores_.shape == (len(images),)
    assert roc_auc_score(is_anomaly, det.decision_scores_) > 0.9
    assert det.labels_.sum() == pytest.approx(0.1 * len(images), abs=2)
    assert set(np.flatnonzero(det.labels_)) == set(
        np.flatnonzero(det.decision_scores_ > det.threshold_)
    )
    scores = det.decision_function(new)  # images it was not fit on
    assert scores.shape == (len(new),) and roc_auc_score(new_anomaly, scores) > 0.9
    np.testing.assert_array_equal(det.predict(new), (scores > det.threshold_).astype(int))


def test_every_input_form_gives_the_same_scores(bars, tmp_path):
    images = bars[0][:60]
    folder = tmp_path / "imgs"
    folder.mkdir()
    for i, img in enumerate(images):
        Image.fromarray(img).save(folder / f"{i:03d}.png")
    paths = sorted(folder.glob("*.png"))
    forms = {
        "uint8 (N, H, W)": images,
        "uint8 (N, C, H, W)": images[:, None],
        "float in [0, 1]": images / 255.0,
        "float in [0, 255]": images.astype(np.float32),
        "tensor": torch.from_numpy(images),
        "paths": paths,
        "folder": folder,
    }
    scores = {k: Detector(seed=0, **SMALL).fit(v).decision_scores_ for k, v in forms.items()}
    for name, s in scores.items():
        np.testing.assert_allclose(s, scores["uint8 (N, H, W)"], rtol=1e-5, err_msg=name)
    assert Detector(seed=0, **SMALL).fit(folder).files_[0].endswith("000.png")


def test_nothing_is_written_unless_a_cache_folder_is_given(bars, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    detector.clear_memory()
    first = Detector(seed=0, **SMALL).fit(bars[0])
    assert first.model_cache_ == "miss" and list(tmp_path.iterdir()) == []
    assert Detector(seed=0, **SMALL).fit(bars[0]).model_cache_ == "hit"  # this process
    assert Detector(seed=0, cache=False, **SMALL).fit(bars[0]).model_cache_ == "miss"  # forced
    disk = Detector(seed=0, cache=tmp_path / "c", **SMALL)
    detector.clear_memory()
    assert disk.fit(bars[0]).model_cache_ == "miss"
    (model,) = (tmp_path / "c" / "models").glob("*.pt")
    assert model.with_suffix(".curves.json").is_file()
    assert len(disk.curves_) == len(first.curves_) > 0  # every epoch trained (the rule may end it)
    detector.clear_memory()
    again = Detector(seed=0, cache=tmp_path / "c", **SMALL).fit(bars[0])
    assert again.model_cache_ == "hit" and again.curves_ == disk.curves_  # curves from the cache
    np.testing.assert_array_equal(again.decision_scores_, first.decision_scores_)


def test_bad_images_and_use_before_fit_name_the_problem():
    with pytest.raises(ValueError, match=r"images of shape \(5,\): give \(N, H, W\)"):
        Detector().fit(np.zeros(5))
    with pytest.raises(ValueError, match="image values from -1.0 to 1.0: need 0..1 or 0..255"):
        Detector().fit(np.linspace(-1, 1, 2 * 8 * 8).reshape(2, 8, 8))
    with pytest.raises(RuntimeError, match=r"call fit\(images\) before decision_function"):
        Detector().decision_function(np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="contamination=0.7: need 0 < contamination < 0.5"):
        Detector(contamination=0.7).fit(np.zeros((2, 8, 8), np.uint8))


def test_pipeline_run_scores_are_the_detectors(make_cfg):
    """One path: a run's scores are what a Detector of the same config gives for its images."""
    cfg = make_cfg("dataset=synthetic", "dataset.n_per_class=60", "trainer.max_epochs=5",
                   "model.hidden=[16]", "features=a2")  # fmt: skip
    metrics = pipeline.run(cfg)
    images = sets.build(cfg.dataset).images
    det = Detector("ae_h2o", "a2", seed=0, params={"trainer.max_epochs": 5, "model.hidden": [16]})
    scores = det.fit(images).decision_scores_
    y = sets.build(cfg.dataset).record.is_anomaly
    assert roc_auc_score(y, scores) == metrics["auroc"]


def test_the_scikit_learn_estimator_contract(bars):
    """__init__ stores its parameters as given; get_params / set_params / clone round-trip them;
    fit returns self and adds only attributes ending in `_`; a clone fits to the same scores."""
    from sklearn.base import clone

    det = Detector(features="a1", seed=3, contamination=0.05, **SMALL)
    params = det.get_params()
    assert params["features"] == "a1" and params["seed"] == 3 and params["model"] is None
    before = dict(vars(det))
    assert det.fit(bars[0]) is det
    added = set(vars(det)) - set(before)
    assert added and all(name.endswith("_") for name in added), sorted(added)
    assert {k: vars(det)[k] for k in before} == before  # parameters untouched by fit
    twin = clone(det)
    assert twin.get_params() == params and not hasattr(twin, "decision_scores_")
    np.testing.assert_array_equal(twin.fit(bars[0]).decision_scores_, det.decision_scores_)
    assert twin.set_params(seed=4) is twin and twin.get_params()["seed"] == 4


def test_a_named_method_is_the_method_and_clashing_choices_are_refused():
    cfg = Detector(method="raw_knn", seed=2).compose()
    assert (cfg.method, cfg.model.name, cfg.features.name, cfg.detector.name) == (
        "raw_knn", "ae_h2o", "raw", "knn_rel",
    )  # fmt: skip
    with pytest.raises(ValueError, match="sets model, features and detector itself"):
        Detector(method="raw_knn", features="a1").compose()
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        Detector(method="nope").compose()


def test_help_lists_every_choice():
    doc = Detector.__doc__
    for name in ("ae_h2o", "dbn", "pretrained", "a2", "free_energy", "iforest", "lof", "ensemble"):
        assert name in doc
