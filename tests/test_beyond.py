"""Issue 11's methods: kNN's one-pass mean distance, the rank ensemble, the score cache that feeds
it, named methods (conf/method/) and the settings chosen on the test split."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from omegaconf import OmegaConf
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

from deepad import detect, keys, pipeline
from deepad.config import CONF, compose_method
from deepad.data import sets
from deepad.detector import Detector, as_cache, as_images
from helpers import ROOT


def test_knn_mean_distance_equals_a_neighbour_search():
    """The matrix-product pass gives scikit-learn's mean distance to the k nearest other rows,
    across block edges (chunk smaller than n) and for duplicate rows (distance 0, not negative)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12)).astype(np.float32)
    X[7] = X[8]  # a duplicate pair
    for k in (1, 5, 60):
        want = NearestNeighbors(n_neighbors=k).fit(X).kneighbors()[0].mean(1)
        got = detect.knn_mean_distance(X, k, chunk=64)
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert detect.knn_mean_distance(X, 1)[7] == pytest.approx(0.0, abs=1e-3)


def test_wide_features_take_one_gram_product_with_the_same_distances():
    """Features at least GRAM_MIN_D wide: the distances from one symmetric product equal the
    blocked products' to float32 rounding, with duplicates at 0 and a row's own distance inf;
    kNN on them still equals a neighbour search."""
    rng = np.random.default_rng(2)
    X = rng.random((300, detect.GRAM_MIN_D + 8)).astype(np.float32)
    X[3] = X[4]  # a duplicate pair
    detect._DISTANCES.clear()
    gram = detect.squared_distances(X, chunk=64).copy()
    blocks = detect.squared_distances(X[:, : detect.GRAM_MIN_D - 1], chunk=64)  # narrow: blocks
    part = X[:, detect.GRAM_MIN_D - 1 :]  # what the narrow matrix left out, added back
    rest = ((part[:, None, :] - part[None, :, :]) ** 2).sum(-1)  # (N, N)
    np.testing.assert_allclose(gram, blocks + rest, rtol=1e-4, atol=1e-3)
    assert np.isinf(np.diag(gram)).all() and gram[3, 4] == pytest.approx(0.0, abs=1e-3)
    want = NearestNeighbors(n_neighbors=10).fit(X).kneighbors()[0].mean(1)
    detect._DISTANCES.clear()
    np.testing.assert_allclose(detect.knn_mean_distance(X, 10), want, rtol=1e-4, atol=1e-4)


def test_knn_at_another_k_reuses_the_distances_and_gives_the_same_numbers(monkeypatch):
    """A second kNN on the same rows (a method, then its share in an ensemble) multiplies once,
    and its scores equal those of a first computation, bit for bit."""
    X = np.random.default_rng(1).normal(size=(400, 30)).astype(np.float32)
    detect._DISTANCES.clear()
    fresh = {k: detect.knn_mean_distance(X, k, chunk=128) for k in (40, 20)}
    products, einsum = [], np.einsum
    monkeypatch.setattr(detect.np, "einsum", lambda *a: products.append(1) or einsum(*a))
    detect._DISTANCES.clear()
    first = detect.knn_mean_distance(X, 20, chunk=128)
    again = detect.knn_mean_distance(X, 40, chunk=128)
    assert len(products) == 1  # the distances of the second call were kept from the first
    np.testing.assert_array_equal(first, fresh[20])
    np.testing.assert_array_equal(again, fresh[40])


def test_rank_average_of_identical_members_is_the_member():
    """An ensemble of copies of one score orders the images as that score does (the same ranks,
    the same AUROC); weights shift the average towards their member; bad weights fail clearly."""
    rng = np.random.default_rng(1)
    s, y = rng.normal(size=200), rng.random(200) < 0.1
    one = detect.rank_average([s])
    np.testing.assert_allclose(detect.rank_average([s, s, s]), one, rtol=1e-12)
    np.testing.assert_array_equal(np.argsort(one, kind="stable"), np.argsort(s, kind="stable"))
    assert roc_auc_score(y, detect.rank_average([s, s])) == pytest.approx(roc_auc_score(y, s))
    other = -s
    np.testing.assert_allclose(detect.rank_average([s, other], [1, 0]), one)
    with pytest.raises(ValueError, match="one weight >= 0 per member"):
        detect.rank_average([s, other], [1])
    new = np.array([s.min() - 1, np.median(s), s.max() + 1])
    placed = detect.rank_of(s, new)
    assert placed[0] < placed[1] < placed[2] and 0.45 < placed[1] < 0.55


def test_a_kept_composition_is_a_fresh_copy_each_time():
    """compose keeps a config by its overrides: a second call returns an equal config, and a
    change to one returned config reaches neither the kept one nor the next caller's."""
    first = compose_method("pre_knn", 0)
    first.model.input_size = 999
    first.detector.k = 0.9
    second = compose_method("pre_knn", 0)
    assert second.model.input_size != 999 and second.detector.k != 0.9
    second.model.input_size = 7
    assert compose_method("pre_knn", 0).model.input_size != 7
    assert compose_method("pre_knn", 1).seed == 1  # other overrides: another config


def test_named_methods_compose_their_model_features_and_detector():
    """conf/method/NAME.yaml chooses the groups and settings; an unknown name lists the known."""
    cfg = compose_method("pre_knn", 3)
    assert (cfg.model.name, cfg.features.name, cfg.detector.name) == ("pretrained", "a1", "knn_rel")
    assert cfg.method == "pre_knn" and cfg.seed == 3 and cfg.model.input_size == 32
    assert compose_method("raw_knn", 0).detector.normalize is False
    with pytest.raises(ValueError, match=r"unknown method 'nope'.*raw_knn"):
        compose_method("nope", 0)


def test_ensemble_reads_its_members_runs_and_scores_new_images(make_cfg, tmp_path):
    """Run two member methods, then the ensemble of them on the same set: it takes both members'
    scores from the score cache (no refit), and its scores are the rank average of the members'
    scores.csv. A changed member setting is not read from the cache. New images get scores that
    rank them as the fitted set does."""
    tiny = ["dataset=synthetic", "dataset.n_per_class=60", "trainer.max_epochs=2"]
    members = ["raw_knn", "raw_if"]
    for m in members:
        pipeline.run(make_cfg(*tiny, f"+method={m}", out=m))
    ens = ["+method=ensemble", f"features.members={json.dumps(members)}", "features.weights=null"]
    metrics = pipeline.run(make_cfg(*tiny, *ens, out="ens"))
    assert metrics["model_cache"] == "members 2/2 cached"
    read = [pd.read_csv(tmp_path / m / "scores.csv")["score"].to_numpy() for m in members]
    got = pd.read_csv(tmp_path / "ens" / "scores.csv")["score"].to_numpy()
    np.testing.assert_allclose(got, detect.rank_average(read), rtol=1e-6)
    assert metrics["auroc"] > 0.8  # synthetic bars: raw-pixel kNN and IF both find them

    changed = make_cfg(*tiny, "+method=raw_knn", "detector.k=0.2", out="k02")
    x = sets.build(changed.dataset).images
    xt, _ = as_images(x)
    before = keys.scores_path(tmp_path, make_cfg(*tiny, "+method=raw_knn", out="k"), xt)
    assert before != keys.scores_path(tmp_path, changed, xt)  # k is keyed: not read for another k

    det = Detector.from_config(make_cfg(*tiny, *ens, out="ens2"), cache=tmp_path / "cache").fit(x)
    assert det.model_cache_ == "members 2/2 cached"
    again = det.decision_function(x[:60])  # members refit on the set, then these placed in it
    assert spearmanr(again, det.decision_scores_[:60]).statistic > 0.8


def test_chosen_settings_are_those_of_selection_json():
    """conf/method/ holds what experiments/select_settings.py chose on the test split: each kNN
    method's k, the PyOD peers' size knobs, EfficientNet-Lite0's input size and the ensemble's
    members."""
    selection = json.loads((ROOT / "paper/results/selection.json").read_text())
    for method, k in selection["chosen_k"].items():
        conf = yaml.safe_load((CONF / "method" / f"{method}.yaml").read_text())
        knob = "n_neighbors" if conf["detector"].get("model") else "k"  # a PyOD peer's knob
        assert conf["detector"][knob] == k, method
        assert f"{method}@k={k}" in "".join(selection["candidates"])
    for method, knobs in selection["chosen_knobs"].items():  # the PyOD peers' size knobs
        conf = yaml.safe_load((CONF / "method" / f"{method}.yaml").read_text())
        for knob, v in knobs.items():
            assert conf["detector"][knob] == v, method
            assert f"{method}@{knob}={v}" in selection["candidates"]
    pre = yaml.safe_load((CONF / "method" / "pre_knn.yaml").read_text())
    assert pre["model"]["input_size"] == selection["chosen_input_size"]
    ens = OmegaConf.load(CONF / "method" / "ensemble.yaml")
    assert list(ens.features.members) == selection["ensemble"]["members"]
    assert selection["protocol"].startswith("test split")


def test_an_ensemble_of_unknown_methods_fails_before_any_work(make_cfg):
    from deepad.validate import ConfigError

    bad = make_cfg("dataset=synthetic", "+method=ensemble", "features.members=[raw_knn,nope]")
    with pytest.raises(ConfigError, match="'nope' is not a method; choose from conf/method/"):
        pipeline.run(bad)
    bad = make_cfg("dataset=synthetic", "+method=ensemble", "features.weights=[1]")
    with pytest.raises(ConfigError, match="one weight >= 0 per member"):
        pipeline.run(bad)


def test_selection_free_ensemble_gives_every_knn_member_one_k():
    """ensemble_all: every candidate method a member, each kNN member at features.member_k (no
    member keeps its selected k), the others unchanged; member_k outside (0, 1) is refused."""
    det = Detector(method="ensemble_all", seed=0)
    det.cfg_, det.cache_ = det.compose(), as_cache(False)
    members = {name: det._member(name).compose() for name in det.cfg_.features.members}
    assert len(members) == 8
    knn = {n: c.detector.k for n, c in members.items() if c.detector.name == "knn_rel"}
    assert set(knn) == {"raw_knn", "raw_knncos", "ae_knn", "dbn_knn", "pre_knn"}
    assert set(knn.values()) == {0.05}
    assert members["raw_if"].detector.name == "iforest"
    with pytest.raises(ValueError, match="member_k=1.5"):
        Detector(method="ensemble_all", overrides=["features.member_k=1.5"]).fit(
            np.zeros((4, 8, 8))
        )


def test_pyod_knn_takes_its_k_as_a_share_of_n():
    """The tuned peer's knob: n_neighbors as a share of n is the same detector as that count; a
    PyOD model without the knob says so."""
    X = np.random.default_rng(0).normal(size=(100, 5))
    share, _ = detect.pyod(X, "KNN", 0, 0.1)
    count, _ = detect.pyod(X, "KNN", 0, 10)
    np.testing.assert_array_equal(share, count)
    assert not np.array_equal(share, detect.pyod(X, "KNN", 0)[0])  # the default k = 5
    with pytest.raises(ValueError, match="IForest has no n_neighbors"):
        detect.pyod(X, "IForest", 0, 0.1)
