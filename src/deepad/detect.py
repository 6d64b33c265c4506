"""Detectors over feature matrices, and the metrics of evaluation.

Isolation Forest (Liu, Ting & Zhou, ICDM 2008) is the proposal's detector (Step 3); kNN distance,
LOF and one-class SVM are there for comparison. Every detector returns scores with
higher = more anomalous. Only `evaluate` reads the evaluation record.
"""

from __future__ import annotations

import contextlib
import hashlib
import warnings
from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor, NearestNeighbors
from sklearn.svm import OneClassSVM

from deepad.data.sets import EvalRecord

Scorer = Callable[[np.ndarray], np.ndarray]  # new rows (M, d) -> their scores (M,)


def iforest(
    X: np.ndarray, n_estimators: int = 100, max_samples="auto", random_state: int = 0
) -> tuple[np.ndarray, Scorer]:
    """Isolation Forest fit on X (N, d): X's scores (N,), transductive as in the proposal, and a
    scorer of new rows."""
    forest = IsolationForest(
        n_estimators=n_estimators, max_samples=max_samples, random_state=random_state
    ).fit(X)
    return -forest.score_samples(X), lambda new: -forest.score_samples(new)


def neighbours(k: float, n: int) -> int:
    """k as a count (an integer >= 1) or as a share of the set's n points (0 < k < 1: round(k n),
    at least 1), at most n - 1."""
    if isinstance(k, bool) or not (k >= 1 and float(k).is_integer() or 0 < k < 1):
        raise ValueError(
            f"detector.k={k!r}: give a count of neighbours (an integer >= 1) or a share of the "
            "set (a number between 0 and 1, e.g. 0.05)"
        )
    count = int(k) if k >= 1 else max(1, round(k * n))
    return min(count, n - 1)


def _unit(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (N, d) -> (N, d); a zero row stays zero."""
    return X / np.maximum(np.linalg.norm(X, axis=1, keepdims=True), 1e-12)


_GRAPHS: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}  # features digest -> neighbours
NEIGHBOURS_MIN = 20  # a graph holds at least this many neighbours, for kNN's k and LOF's k alike
_DISTANCES: dict[tuple[bytes, int], np.ndarray] = {}  # (features digest, chunk) -> (N, N) float32
DISTANCES_KEPT = 6  # matrices kept: each kNN member of section 6's ensembles, one set at a time
DISTANCES_MAX_N = 12_000  # larger sets are not kept ((N, N) float32: 576 MB at this N)
GRAM_MIN_D = 128  # at least this wide: one symmetric Gram product (`squared_distances`)


def _digest(X: np.ndarray) -> bytes:
    """A key of a feature matrix: its shape, dtype and bytes."""
    h = hashlib.sha1(str((X.shape, X.dtype)).encode() + np.ascontiguousarray(X).tobytes())
    return h.digest()


def knn_graph(X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distances and indices of each row's k nearest other rows, (N, k) each, nearest first
    (scikit-learn's exact search; a row is not its own neighbour). The graph of the last few
    feature matrices is kept with at least NEIGHBOURS_MIN neighbours, so kNN and LOF on the same
    features (the detectors sweep runs both on every network) search once."""
    key = _digest(X)
    if key not in _GRAPHS or _GRAPHS[key][0].shape[1] < k:
        width = min(max(k, NEIGHBOURS_MIN), len(X) - 1)
        _GRAPHS[key] = NearestNeighbors(n_neighbors=width).fit(X).kneighbors()
        while len(_GRAPHS) > 4:
            _GRAPHS.pop(next(iter(_GRAPHS)))
    dist, idx = _GRAPHS[key]
    return dist[:, :k], idx[:, :k]


def squared_distances(X: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Squared Euclidean distances between the rows of X (N, d) float32, a row's to itself inf:
    (N, N), by matrix product, a block of `chunk` rows at a time. The last DISTANCES_KEPT matrices
    are kept (N <= DISTANCES_MAX_N), so kNN at several k on one feature matrix (a method and the
    same method as an ensemble member, run one after the other) multiplies once; a kept matrix
    holds the same numbers as a new one."""
    key = (_digest(X), chunk)
    if key in _DISTANCES:
        return _DISTANCES[key]
    sq = np.einsum("ij,ij->i", X, X)  # (N,)
    # Wide rows: the whole Gram matrix in one product, which BLAS computes as a symmetric rank-k
    # update (half the multiplications of row blocks); narrow rows: the blocks, cheaper there.
    gram = X @ X.T if X.shape[1] >= GRAM_MIN_D and len(X) <= DISTANCES_MAX_N else None  # (N, N)
    d2 = gram if gram is not None else np.empty((len(X), len(X)), dtype=np.float32)
    for start in range(0, len(X), chunk):
        block = X[start : start + chunk]  # (c, d)
        product = gram[start : start + chunk] if gram is not None else block @ X.T  # (c, N)
        part = sq[start : start + chunk, None] + sq[None] - 2.0 * product  # (c, N)
        np.maximum(part, 0.0, out=part)
        part[np.arange(len(block)), np.arange(start, start + len(block))] = np.inf  # not itself
        d2[start : start + chunk] = part
    if len(X) <= DISTANCES_MAX_N:
        _DISTANCES[key] = d2
        while len(_DISTANCES) > DISTANCES_KEPT:
            _DISTANCES.pop(next(iter(_DISTANCES)))
    return d2


def knn_mean_distance(X: np.ndarray, k: int, chunk: int = 2048) -> np.ndarray:
    """Mean Euclidean distance of each row to its k nearest other rows, (N, d) -> (N,): the
    squared distances (`squared_distances`, shared between calls on the same rows) and a partial
    sort, a block of `chunk` rows at a time. The same numbers as a neighbour search to float32
    rounding, and faster at large k (no sorted neighbour lists)."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    d2 = squared_distances(X, chunk)  # (N, N)
    out = np.empty(len(X))
    for start in range(0, len(X), chunk):
        nearest = np.partition(d2[start : start + chunk], k - 1, axis=1)[:, :k]  # (c, k), unordered
        out[start : start + chunk] = np.sqrt(nearest).mean(1)
    return out


def knn(X: np.ndarray, k: float = 10, normalize: bool = False) -> tuple[np.ndarray, Scorer]:
    """Mean distance to the k nearest other points (N, d) -> (N,) (a point is not its own
    neighbour); new rows: mean distance to their k nearest points of X (Ramaswamy, Rastogi &
    Shim, SIGMOD 2000, with the mean of the k distances as in Angiulli & Pizzuti 2002).

    k may be a share of N (`neighbours`): the anomalies of a contaminated set are often a cluster
    of p x N images of one other class, which any k below the cluster's size scores as normal.
    `normalize`: on L2-normalised rows (cosine geometry), as for deep features."""
    X = _unit(X) if normalize else X
    k = neighbours(k, len(X))
    if k > NEIGHBOURS_MIN:  # a share of n: no graph to share with LOF; one pass, no index
        mean_dist = knn_mean_distance(X, k)
    else:
        mean_dist = knn_graph(X, k)[0].mean(1)

    def scorer(new: np.ndarray) -> np.ndarray:
        near = NearestNeighbors(n_neighbors=k).fit(X)
        return near.kneighbors(_unit(new) if normalize else new, k)[0].mean(1)

    return mean_dist, scorer


def rank_average(members: list[np.ndarray], weights: list[float] | None = None) -> np.ndarray:
    """Weighted mean of the members' ranks, each scaled to (0, 1] (ties share their mean rank):
    [(N,), ...] -> (N,), higher = more anomalous. Rank averaging makes scores of different scales
    comparable (Aggarwal & Sathe, "Outlier Ensembles", 2017, ch. 5)."""
    weights = [1.0] * len(members) if weights is None else list(weights)
    if len(weights) != len(members) or not members or min(weights) < 0 or sum(weights) <= 0:
        raise ValueError(
            f"ensemble weights {weights} for {len(members)} members: give one weight >= 0 per "
            "member, not all 0"
        )
    ranks = [rankdata(m) / len(m) for m in members]  # (N,) each
    return np.average(np.stack(ranks), axis=0, weights=weights)


def rank_of(reference: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Where new scores (M,) fall among reference scores (N,), on `rank_average`'s (0, 1] scale."""
    ref = np.sort(reference)
    low, high = np.searchsorted(ref, new, "left"), np.searchsorted(ref, new, "right")
    return (low + high + 1) / 2 / len(ref)  # a tie with reference values takes their mean rank


def lof(X: np.ndarray, k: int = 20) -> tuple[np.ndarray, Scorer]:
    """Local outlier factor (Breunig et al., SIGMOD 2000) (N, d) -> (N,), the same numbers as
    scikit-learn's LocalOutlierFactor (its float32 distances and 1e-10 in the density; a test
    compares), from the shared neighbour graph (`knn_graph`); new rows by scikit-learn's novelty
    mode, fit when asked."""
    k = min(k, len(X) - 1)
    dist, idx = knn_graph(X, k)  # (N, k) each
    dist = dist.astype(X.dtype, copy=False) if X.dtype == np.float32 else dist  # as sklearn does
    reach = np.maximum(dist, dist[idx, k - 1])  # reach-dist(p, o) = max(d(p, o), k-dist(o))
    lrd = 1.0 / (reach.mean(1) + 1e-10)  # (N,) local reachability density
    scores = (lrd[idx] / lrd[:, None]).mean(1)  # (N,) LOF

    def scorer(new: np.ndarray) -> np.ndarray:
        model = LocalOutlierFactor(n_neighbors=k, novelty=True).fit(X)
        return -model.score_samples(new)

    return scores, scorer


def ocsvm(X: np.ndarray, nu: float = 0.1, gamma="scale") -> tuple[np.ndarray, Scorer]:
    """One-class SVM with an RBF kernel, (N, d) -> (N,)."""
    svm = OneClassSVM(nu=nu, gamma=gamma).fit(X)
    return -svm.decision_function(X), lambda new: -svm.decision_function(new)


PYOD = {  # PyOD class -> its module: the peers of issue 11 (Zhao, Nasrullah & Li, JMLR 2019)
    "IForest": "iforest",
    "KNN": "knn",
    "PCA": "pca",
    "ECOD": "ecod",
    "AutoEncoder": "auto_encoder",
    "DIF": "dif",
    "DeepSVDD": "deep_svdd",
}


PYOD_SIZES = ("n_estimators", "n_components")  # size knobs a detector.pyod config may set


def pyod(
    X: np.ndarray,
    model: str,
    random_state: int = 0,
    n_neighbors: float | None = None,
    sizes: dict[str, int] | None = None,
) -> tuple[np.ndarray, Scorer]:
    """A PyOD detector with the library's defaults, seeded, fit on X (N, d): its training scores
    `decision_scores_` (N,) and `decision_function` for new rows. The library's own choices stand
    (its AutoEncoder's and DeepSVDD's epochs, DIF's ensemble, KNN's k = 5): a peer run as its users
    run it; `n_neighbors` (a count, or a share of n as `neighbours` reads it) replaces KNN's and
    LOF's k, for the peer tuned by the rule of section 6 (experiments/select_settings.py); `sizes`
    replaces other size knobs by the same rule (IForest's n_estimators, PCA's n_components).
    Models: Liu et al. 2008 (IForest), Ramaswamy et al. 2000 (KNN), Shyu et al. 2003 (PCA),
    Li et al. 2022 (ECOD), Aggarwal 2017 (AutoEncoder), Xu et al. 2023 (DIF), Ruff et al. 2018
    (DeepSVDD)."""
    if model not in PYOD:
        raise ValueError(
            f"unknown PyOD model {model!r} (detector.model); choose one of {list(PYOD)}"
        )
    import importlib
    import inspect

    cls = getattr(importlib.import_module(f"pyod.models.{PYOD[model]}"), model)
    accepts = inspect.signature(cls).parameters
    kwargs = {"random_state": int(random_state)} if "random_state" in accepts else {}
    kwargs |= {"verbose": 0} if "verbose" in accepts else {}
    kwargs |= {"n_features": X.shape[1]} if "n_features" in accepts else {}  # DeepSVDD's input
    kwargs |= {"device": "cpu"} if "device" in accepts else {}
    if n_neighbors is not None:
        if "n_neighbors" not in accepts:
            raise ValueError(f"detector.n_neighbors: PyOD's {model} has no n_neighbors; drop it")
        kwargs["n_neighbors"] = neighbours(n_neighbors, len(X))
    for knob, value in (sizes or {}).items():
        if knob not in accepts:
            raise ValueError(f"detector.{knob}: PyOD's {model} has no {knob}; drop it")
        kwargs[knob] = int(value)
    np.random.seed(int(random_state))  # DeepSVDD's validation split draws from numpy's global RNG
    with _no_pin_memory_warning():
        detector = cls(**kwargs).fit(X)

    def scorer(new: np.ndarray) -> np.ndarray:
        with _no_pin_memory_warning():
            return detector.decision_function(new)

    return np.asarray(detector.decision_scores_, dtype=np.float64), scorer


@contextlib.contextmanager
def _no_pin_memory_warning():
    """PyOD's data loaders ask for pinned memory, which a CPU-only torch warns about each time."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*'pin_memory' argument is set as true.*")
        yield


def fit(features: np.ndarray, cfg) -> tuple[np.ndarray, Scorer]:
    """Fit the detector `cfg.name` on features (N, d): their scores (N,) and a scorer of new rows.
    A 1-D feature (N,) is a score already. Higher = more anomalous."""
    if features.ndim == 1:
        return features.astype(np.float64), lambda new: new.astype(np.float64)
    X = features.astype(np.float32)  # (N, d)
    if cfg.name == "iforest":
        scores, scorer = iforest(X, cfg.n_estimators, cfg.max_samples, cfg.random_state)
    elif cfg.name in ("knn", "knn_rel"):
        scores, scorer = knn(X, cfg.k, bool(cfg.get("normalize", False)))
    elif cfg.name == "lof":
        scores, scorer = lof(X, cfg.k)
    elif cfg.name == "ocsvm":
        scores, scorer = ocsvm(X, cfg.nu, cfg.gamma)
    elif cfg.name == "pyod":
        sizes = {k: cfg[k] for k in PYOD_SIZES if cfg.get(k) is not None}  # tuned size knobs
        scores, scorer = pyod(X, cfg.model, cfg.random_state, cfg.get("n_neighbors"), sizes)
    else:
        raise ValueError(
            f"unknown detector {cfg.name!r}; choose iforest, knn, knn_rel, lof, ocsvm or pyod"
        )
    return scores, lambda new: scorer(new.astype(np.float32))


def score(features: np.ndarray, cfg) -> np.ndarray:
    """Features -> anomaly scores of the same images (see `fit`)."""
    return fit(features, cfg)[0]


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
    also the *clutter sensitivity* (AUROC of cluttered against clean nominal images: 0.5 = the score
    ignores clutter, 1 = every cluttered image above every clean one; no ceiling, unlike a top-k
    share), the AUROC of anomalies against the cluttered nominal images only, and the clutter
    false-alarm share (share of `nominal_clutter` among the k top-scored, k = number of anomalies)
    with its maximum min(1, n_clutter / k).
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
        nominal = ~record.is_anomaly.astype(bool)
        out.update(
            n_clutter=int(clutter.sum()),
            clutter_sensitivity=float(roc_auc_score(clutter[nominal], scores[nominal]))
            if clutter.sum() < nominal.sum()
            else float("nan"),
            auroc_vs_clutter=float(roc_auc_score(y[keep], scores[keep])),
            clutter_false_alarm_share=float(clutter[top].mean()),
            clutter_false_alarm_max=float(min(1.0, clutter.sum() / max(1, out["n_anomalies"]))),
        )
    return out
