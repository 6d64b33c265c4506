"""Detectors find an obvious outlier group; metrics read only the record."""

import numpy as np
import pytest
from omegaconf import OmegaConf
from sklearn.metrics import roc_auc_score

from deepad import detect
from deepad.data.sets import EvalRecord


def _outlier_set(n=500, k=25, d=10):
    rng = np.random.default_rng(0)
    far = 6 * rng.choice([-1, 1], size=(k, d)) + rng.normal(0, 1, (k, d))  # scattered, far away
    X = np.vstack([rng.normal(0, 1, (n, d)), far])
    y = np.r_[np.zeros(n, bool), np.ones(k, bool)]
    return X, EvalRecord(
        is_anomaly=y, classes=y.astype(int), groups=np.where(y, "anomaly", "nominal")
    )


@pytest.mark.parametrize(
    "name,extra",
    [
        ("iforest", {"n_estimators": 100, "max_samples": "auto", "random_state": 0}),
        ("knn", {"k": 10}),
        ("lof", {"k": 20}),
        ("ocsvm", {"nu": 0.1, "gamma": "scale"}),
    ],
)
def test_detectors_find_an_obvious_outlier_group(name, extra):
    X, record = _outlier_set()
    scores = detect.score(X, OmegaConf.create({"name": name, **extra}))
    m = detect.evaluate(scores, record)
    assert m["auroc"] > 0.95 and m["n"] == 525 and m["n_anomalies"] == 25


def test_iforest_is_seeded():
    X, _ = _outlier_set()
    np.testing.assert_array_equal(
        detect.iforest(X, random_state=3)[0], detect.iforest(X, random_state=3)[0]
    )
    assert not np.array_equal(
        detect.iforest(X, random_state=3)[0], detect.iforest(X, random_state=4)[0]
    )


def test_a_score_vector_passes_through_and_unknown_detector_errors():
    s = np.array([0.1, 0.9, 0.3])
    np.testing.assert_array_equal(detect.score(s, OmegaConf.create({"name": "iforest"})), s)
    with pytest.raises(ValueError, match="unknown detector 'svdd'"):
        detect.score(np.zeros((3, 2)), OmegaConf.create({"name": "svdd"}))


@pytest.mark.parametrize("model", ["IForest", "KNN", "PCA", "ECOD", "AutoEncoder", "DIF"])
def test_pyod_peers_find_an_obvious_outlier_group(model):
    """PyOD's detectors with the library's defaults (issue 11's peers), through `detect.fit`."""
    X, record = _outlier_set()
    cfg = OmegaConf.create({"name": "pyod", "model": model, "random_state": 0})
    scores, scorer = detect.fit(X, cfg)
    assert scores.shape == (525,) and detect.evaluate(scores, record)["auroc"] > 0.95
    assert scorer(X[-25:]).mean() > scorer(X[:25]).mean()  # new rows: the far group higher


def test_pyod_deep_peers_are_seeded_and_unknown_models_are_named():
    X, _ = _outlier_set(n=200, k=10)
    runs = [detect.pyod(X, "DeepSVDD", s)[0] for s in (1, 1, 2)]
    assert runs[0].shape == (210,)
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.array_equal(runs[0], runs[2])
    with pytest.raises(ValueError, match=r"unknown PyOD model 'LUNAR'.*'IForest'.*'DeepSVDD'"):
        detect.pyod(X, "LUNAR")


def _clutter_record(n_clean=60, n_clutter=20, n_anomaly=10):
    groups = np.array(
        ["nominal"] * n_clean + ["nominal_clutter"] * n_clutter + ["anomaly"] * n_anomaly
    )
    return EvalRecord(is_anomaly=groups == "anomaly", classes=np.zeros(len(groups)), groups=groups)


def test_clutter_sensitivity_is_known_on_made_up_scores():
    """+1 on every cluttered image: sensitivity 1; a constant: 0.5; a score that ignores clutter
    but finds anomalies: 0.5 and AUROC 1. The false-alarm share comes with its ceiling."""
    rec = _clutter_record()
    rng = np.random.default_rng(0)
    noise = rng.random(len(rec.groups)) * 0.1
    on_clutter = noise + (rec.groups == "nominal_clutter")
    m = detect.evaluate(on_clutter, rec)
    assert m["clutter_sensitivity"] == 1.0 and m["n_clutter"] == 20
    assert m["clutter_false_alarm_share"] == 1.0 and m["clutter_false_alarm_max"] == 1.0
    assert detect.evaluate(np.zeros(len(rec.groups)), rec)["clutter_sensitivity"] == 0.5
    on_anomaly = np.where(rec.is_anomaly, 1.0, 0.0)
    m = detect.evaluate(on_anomaly, rec)
    assert m["clutter_sensitivity"] == 0.5 and m["auroc"] == 1.0 and m["auroc_vs_clutter"] == 1.0
    few = _clutter_record(n_clutter=4, n_anomaly=10)
    assert detect.evaluate(np.zeros(len(few.groups)), few)["clutter_false_alarm_max"] == 0.4


def test_knn_with_k_relative_to_n_sees_a_tight_anomaly_cluster():
    """500 nominal points spread in 10-d, 50 anomalies packed in one tight cluster: with k = 1
    each anomaly's nearest neighbour is a cluster mate (scored normal), with k = 20% of n the
    neighbours reach past the cluster and the anomalies rank first."""
    rng = np.random.default_rng(0)
    nominal = rng.normal(0, 1, (500, 10))
    cluster = 4.0 + rng.normal(0, 0.01, (50, 10))
    X = np.vstack([nominal, cluster]).astype(np.float32)
    y = np.r_[np.zeros(500), np.ones(50)]
    small = roc_auc_score(y, detect.knn(X, 1)[0])
    large = roc_auc_score(y, detect.knn(X, 0.2)[0])
    assert small < 0.2 and large > 0.99
    assert detect.neighbours(0.2, 550) == 110 and detect.neighbours(10, 5) == 4
    with pytest.raises(ValueError, match="detector.k=1.5"):
        detect.neighbours(1.5, 100)


def test_knn_normalize_scores_directions_not_lengths():
    """On L2-normalised rows a point's length does not count: scaled copies score alike."""
    rng = np.random.default_rng(1)
    X = rng.normal(0, 1, (200, 8)).astype(np.float32)
    scaled = X * rng.uniform(1, 10, (200, 1)).astype(np.float32)
    a, scorer = detect.knn(X, 0.05, normalize=True)
    b, _ = detect.knn(scaled, 0.05, normalize=True)
    assert np.allclose(a, b, atol=1e-5) and np.allclose(scorer(X[:5] * 3), scorer(X[:5]), atol=1e-5)


def test_lof_and_knn_share_one_neighbour_search_and_match_scikit_learn(monkeypatch):
    """LOF from the shared graph gives scikit-learn's LocalOutlierFactor numbers exactly (also
    with duplicate rows), kNN the same as a direct search; LOF after kNN on the same features
    searches no more."""
    from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors

    rng = np.random.default_rng(0)
    dense = rng.normal(size=(400, 30)).astype(np.float32)
    duplicated = np.repeat(rng.normal(size=(100, 4)), 3, axis=0).astype(np.float32)
    for X in (dense, duplicated):
        detect._GRAPHS.clear()
        ref = -LocalOutlierFactor(n_neighbors=20, novelty=True).fit(X).negative_outlier_factor_
        np.testing.assert_array_equal(detect.lof(X, 20)[0], ref)
    searches = []
    original = NearestNeighbors.kneighbors
    monkeypatch.setattr(
        NearestNeighbors,
        "kneighbors",
        lambda self, *a, **k: searches.append(1) or original(self, *a, **k),
    )
    detect._GRAPHS.clear()
    near = original(NearestNeighbors(n_neighbors=11).fit(dense), dense)[0][:, 1:].mean(1)
    np.testing.assert_array_equal(detect.knn(dense, 10)[0], near)
    detect.lof(dense, 20)
    assert len(searches) == 1
    detect.lof(dense, 30)  # a wider graph than kept: searched again
    assert len(searches) == 2
