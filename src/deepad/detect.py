"""Detectors over feature matrices, and the metrics of evaluation.

Isolation Forest (Liu, Ting & Zhou, ICDM 2008) is the proposal's detector (Step 3); kNN distance,
LOF and one-class SVM are there for comparison. Every detector returns scores with
higher = more anomalous. Only `evaluate` reads the evaluation record.
"""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors
from sklearn.svm import OneClassSVM

from deepad.data.sets import EvalRecord


def iforest(
    X: np.ndarray, n_estimators: int = 100, max_samples="auto", random_state: int = 0
) -> np.ndarray:
    """Isolation Forest fit and scored on X (N, d) -> (N,); transductive, as in the proposal."""
    forest = IsolationForest(
        n_estimators=n_estimators, max_samples=max_samples, random_state=random_state
    )
    return -forest.fit(X).score_samples(X)


def knn(X: np.ndarray, k: int = 10) -> np.ndarray:
    """Mean distance to the k nearest other points (N, d) -> (N,)."""
    dist, _ = NearestNeighbors(n_neighbors=k + 1).fit(X).kneighbors(X)
    return dist[:, 1:].mean(1)


def lof(X: np.ndarray, k: int = 20) -> np.ndarray:
    """Local outlier factor (N, d) -> (N,)."""
    model = LocalOutlierFactor(n_neighbors=k).fit(X)
    return -model.negative_outlier_factor_


def ocsvm(X: np.ndarray, nu: float = 0.1, gamma="scale") -> np.ndarray:
    """One-class SVM with an RBF kernel, (N, d) -> (N,)."""
    return -OneClassSVM(nu=nu, gamma=gamma).fit(X).decision_function(X)


def score(features: np.ndarray, cfg) -> np.ndarray:
    """Features -> anomaly scores: a 1-D array is a score already; a matrix goes to `cfg.name`."""
    if features.ndim == 1:
        return features.astype(np.float64)
    X = features.astype(np.float32)  # (N, d)
    if cfg.name == "iforest":
        return iforest(X, cfg.n_estimators, cfg.max_samples, cfg.random_state)
    if cfg.name == "knn":
        return knn(X, cfg.k)
    if cfg.name == "lof":
        return lof(X, cfg.k)
    if cfg.name == "ocsvm":
        return ocsvm(X, cfg.nu, cfg.gamma)
    raise ValueError(f"unknown detector {cfg.name!r}; choose iforest, knn, lof or ocsvm")


def order(scores: np.ndarray, seed: int) -> np.ndarray:
    """Indices most anomalous first, (N,) -> (N,). Equal scores are ordered by a permutation drawn
    with the seed, never by position or file name (a file named to sort first would otherwise win
    every tie): the same seed gives the same order."""
    tiebreak = np.random.default_rng([int(seed), 2]).permutation(len(scores))  # (N,)
    return np.lexsort((tiebreak, -np.asarray(scores, dtype=np.float64)))


def rank(scores: np.ndarray, seed: int) -> np.ndarray:
    """Rank of each image, 1 = most anomalous, ties broken as in `order`: (N,) -> (N,) int64."""
    ranks = np.empty(len(scores), dtype=np.int64)
    ranks[order(scores, seed)] = np.arange(1, len(scores) + 1)
    return ranks


def ties(scores: np.ndarray) -> dict[str, float]:
    """How much of a ranking is decided by ties: the number of distinct scores and the share of
    images whose score equals another image's (0 = no ties; AUROC counts a tie as half a win)."""
    _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
    return {
        "n_distinct_scores": int(len(counts)),
        "tied_share": float((counts[inverse] > 1).mean()) if len(scores) else 0.0,
    }


def evaluate(scores: np.ndarray, record: EvalRecord) -> dict[str, float]:
    """AUROC and average precision of scores against the hidden anomaly flags; on a clutter set
    also the clutter false-alarm share (share of `nominal_clutter` among the k top-scored, k = number
    of anomalies) and the AUROC of anomalies against the cluttered nominal images only.
    A set without anomalies (p = 0, the ugly-digits setting) has no AUROC or AP: NaN."""
    y = record.is_anomaly.astype(int)
    both = 0 < y.sum() < len(y)
    out = {
        "auroc": float(roc_auc_score(y, scores)) if both else float("nan"),
        "ap": float(average_precision_score(y, scores)) if both else float("nan"),
        "n": int(len(y)),
        "n_anomalies": int(y.sum()),
    }
    clutter = record.groups == "nominal_clutter"
    if clutter.any() and both:
        top = np.argsort(-scores, kind="stable")[: out["n_anomalies"]]
        keep = clutter | record.is_anomaly
        out.update(
            n_clutter=int(clutter.sum()),
            clutter_false_alarm_share=float(clutter[top].mean()),
            auroc_vs_clutter=float(roc_auc_score(y[keep], scores[keep])),
        )
    return out
