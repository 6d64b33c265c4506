"""What the paper's scripts share: the names of the methods, the table writer and the statistics.

Names: `method_name` turns a run's (model, features, detector, a2_layers) into the name tables and
figures print ("AE A1", "DBN A2 top", "AE A1 kNN"); `with_methods` adds it to collected results.

Statistics. The unit of replication is the nominal class: the seeds of one class share its images, so they are
averaged first (`class_means`), and tests pair two methods over the classes, never over
(class, seed) pairs, which would count one class three times (pseudo-replication).

- `mean_ci`: the mean over classes of the seed-averaged values with its 95% two-level bootstrap
  interval (classes, then the seeds within each; `two_level`): the one uncertainty measure of
  the paper's tables and figures, holding the seed spread as well as the class spread.
- `compare`: per cell, method A against method B paired over classes: wins out of n, the median
  difference with a 95% bootstrap interval, the two-sided Wilcoxon signed-rank p (Wilcoxon 1945;
  exact for n <= 25 without ties) and the Holm-corrected p over the table's family (`holm`, Holm 1979).
- `seed_spread`: per class, how far one method's AUROC moves across seeds (max - min).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from deepad.store import write_text

# (model, features) -> the name of the method in tables and figures. Raw pixels use no model.
METHOD_NAMES = {
    ("ae_h2o", "re"): "AE RE",
    ("ae_h2o", "a1"): "AE A1",
    ("ae_h2o", "a2"): "AE A2",
    ("dbn", "re"): "DBN RE",
    ("dbn", "a1"): "DBN A1",
    ("dbn", "a2"): "DBN A2",
    ("dbn", "free_energy"): "DBN free energy",
    ("ae_dense", "re"): "Deep AE RE",
    ("ae_dense", "a1"): "Deep AE A1",
    ("ae_dense", "a2"): "Deep AE A2",
    ("ae_conv", "re"): "Conv AE RE",
    ("ae_conv", "a1"): "Conv AE A1",
    ("ae_conv", "a2"): "Conv AE A2",
    ("pretrained", "a1"): "EffNet-Lite0 A1",
    ("pretrained", "a2"): "EffNet-Lite0 A2",
    ("ae_h2o", "raw"): "raw pixels",
}


DETECTOR_NAMES = {
    "iforest": "IF",
    "knn": "kNN",
    "knn_rel": "kNN (k relative to n, cosine)",
    "lof": "LOF",
    "ocsvm": "OCSVM",
    "pyod": "PyOD",
}


def method_name(model: str, features: str, detector=None, a2_layers=None) -> str:
    """A run's method in tables and figures: 'AE A1'; a DBN's A2 over the top layer only is
    'DBN A2 top' (the default reads every hidden layer); a detector other than Isolation Forest on
    feature vectors is named after it: 'AE A1 kNN'. Results without a column read as the default
    of the time they were made (Isolation Forest; DBN A2 on the top layer before a2_layers=all)."""
    name = METHOD_NAMES.get((model, features), f"{model} {features}")
    if model == "dbn" and features == "a2" and a2_layers != "all":
        name += " top"
    if features in ("a1", "a2", "raw") and isinstance(detector, str) and detector != "iforest":
        name += f" {DETECTOR_NAMES.get(detector, detector)}"
    return name


def with_methods(results: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The collected results with a `method` column, only runs that finished, and the methods
    present in their reading order."""
    if "status" in results:
        results = results[results["status"].fillna("ok") == "ok"]
    cols = [
        results[c] if c in results else [None] * len(results) for c in ("detector", "a2_layers")
    ]
    keys = zip(results["model"], results["features"], *cols, strict=True)
    names = [method_name(*k) for k in keys]
    results = results.assign(method=names)
    known = [
        method_name(m, f, d, a)
        for (m, f) in METHOD_NAMES
        for a in ("all", "top")
        for d in DETECTOR_NAMES
    ]
    order = list(dict.fromkeys(n for n in known if n in set(names)))
    return results, order + sorted(set(names) - set(order))


def write_table(out: Path, caption: str, table: pd.DataFrame, floatfmt: str | None = None) -> str:
    """A paper table: OUT.md (caption, blank line, Markdown) and OUT.tex; returns the Markdown.
    `floatfmt` (e.g. ".3g"): how both print floats (default: each library's own)."""
    md_fmt = {"floatfmt": floatfmt} if floatfmt else {}
    tex_fmt = {"float_format": f"%{floatfmt}"} if floatfmt else {}
    md = f"{caption}\n\n{table.to_markdown(index=False, **md_fmt)}\n"
    write_text(out, md)
    write_text(out.with_suffix(".tex"), table.to_latex(index=False, **tex_fmt))
    return md


# --- statistics --------------------------------------------------------------------------------

CI = 0.95
RESAMPLES = 10_000
UNCERTAINTY = "95% two-level bootstrap interval: classes, then seeds within each"


def holm(pvalues: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error), in the input's order: the i-th
    smallest p times (m - i), made monotone, capped at 1. NaN stays NaN and does not count."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full_like(p, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = len(valid)
    order = valid[np.argsort(p[valid], kind="stable")]
    adjusted = np.maximum.accumulate(p[order] * (m - np.arange(m)))
    out[order] = np.minimum(adjusted, 1.0)
    return out


def class_means(
    results: pd.DataFrame, by: Sequence[str], value: str = "auroc", unit: str = "nominal"
) -> pd.DataFrame:
    """Seeds averaged within each class: one row per (*by, method, unit) with `value` and `seeds`."""
    keys = [*by, "method", unit]
    grouped = results.groupby(keys, dropna=False)[value]
    return pd.concat([grouped.mean(), grouped.size().rename("seeds")], axis=1).reset_index()


def bootstrap(values: np.ndarray, stat=np.mean, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of `stat` over the rows of `values` (seeded)."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    draws = values[rng.integers(0, len(values), size=(RESAMPLES, len(values)))]
    lo, hi = np.quantile(stat(draws, axis=1), [(1 - CI) / 2, (1 + CI) / 2])
    return float(lo), float(hi)


def two_level(groups: Sequence[np.ndarray], seed: int = 0) -> tuple[float, float]:
    """95% two-level percentile-bootstrap interval of the mean of class means: each replicate
    draws the classes with replacement, then the seeds within each drawn class with replacement
    (Davison & Hinkley 1997, section 3.8), so the interval holds the seed spread as well as the
    class spread. One seed a class: the plain bootstrap over classes."""
    groups = [np.asarray(g, dtype=float) for g in groups if len(g)]
    if len(groups) < 2:
        return (np.nan, np.nan)
    rng = np.random.default_rng(seed)
    # (C, R): each class's seed-resampled mean in each replicate
    means = np.stack([g[rng.integers(0, len(g), (RESAMPLES, len(g)))].mean(1) for g in groups])
    picks = rng.integers(0, len(groups), (RESAMPLES, len(groups)))  # (R, C) classes drawn
    draws = means[picks, np.arange(RESAMPLES)[:, None]].mean(1)  # (R,)
    lo, hi = np.quantile(draws, [(1 - CI) / 2, (1 + CI) / 2])
    return float(lo), float(hi)


def mean_ci(
    results: pd.DataFrame, by: Sequence[str], value: str = "auroc", unit: str = "nominal"
) -> pd.DataFrame:
    """Per (*by, method): the mean over classes of the seed-averaged value, its 95% two-level
    bootstrap interval (`two_level`: classes, then seeds within them; `lo`, `hi`), the number of
    classes and of runs."""
    rows = []
    for key, part in results.groupby([*by, "method"], dropna=False):
        groups = [g[value].dropna().to_numpy(float) for _, g in part.groupby(unit, dropna=False)]
        groups = [g for g in groups if len(g)]
        lo, hi = two_level(groups)
        mean = float(np.mean([g.mean() for g in groups])) if groups else np.nan
        rows.append((*key, mean, lo, hi, len(groups), sum(len(g) for g in groups)))
    return pd.DataFrame(rows, columns=[*by, "method", "mean", "lo", "hi", "classes", "runs"])


def cell(mean: float, lo: float, hi: float) -> str:
    """'0.883 [0.851, 0.912]', or the mean alone when there is no interval."""
    return f"{mean:.3f}" if np.isnan(lo) else f"{mean:.3f} [{lo:.3f}, {hi:.3f}]"


def compare(
    results: pd.DataFrame,
    pairs: Sequence[tuple[str, str]],
    by: Sequence[str],
    value: str = "auroc",
    unit: str = "nominal",
    family: Sequence[str] = (),
) -> pd.DataFrame:
    """Method A against method B for each pair and each cell of `by`, paired over classes (seeds
    averaged). One row per (cell, pair): classes, wins (A higher), losses, the median difference
    A - B with its 95% bootstrap interval, the Wilcoxon p (`p_value`) and the Holm p (`p_holm`).
    `family`: columns of `by` whose values each make one Holm family (default: the whole table).
    With n classes the smallest two-sided exact Wilcoxon p is 2 / 2^n (0.002 for 10), so a family
    of m tests can reach Holm p < 0.05 only if m * 2 / 2^n < 0.05."""
    per_class = class_means(results, by, value, unit)
    wide = per_class.pivot_table(index=[*by, unit], columns="method", values=value, dropna=False)
    rows = []
    cells = wide.index.droplevel(unit).unique() if by else [()]
    for key in cells:
        part = wide.loc[key] if by else wide
        for a, b in pairs:
            if a not in part or b not in part:
                continue
            both = part[[a, b]].dropna()
            if len(both) == 0:
                continue
            diff = (both[a] - both[b]).to_numpy()
            lo, hi = bootstrap(diff, np.median)
            nonzero = diff[diff != 0]
            p = wilcoxon(nonzero).pvalue if len(nonzero) >= 1 else 1.0
            rows.append(
                {
                    **dict(zip(by, key if isinstance(key, tuple) else (key,), strict=True)),
                    "comparison": f"{a} vs {b}",
                    "classes": len(both),
                    "wins": int((diff > 0).sum()),
                    "losses": int((diff < 0).sum()),
                    "median difference": float(np.median(diff)),
                    "lo": lo,
                    "hi": hi,
                    "p_value": float(p),
                }
            )
    table = pd.DataFrame(rows)
    if len(table):
        groups = table.groupby(list(family), sort=False) if family else [(None, table)]
        table["p_holm"] = np.nan
        for _, part in groups:
            table.loc[part.index, "p_holm"] = holm(part["p_value"])
    return table


def verdict(row: pd.Series, alpha: float = 0.05) -> str:
    """'A better' / 'B better' when the Holm p is below alpha, else 'no difference shown'."""
    a, b = row["comparison"].split(" vs ")
    if row["p_holm"] < alpha:
        return f"{a} higher" if row["median difference"] > 0 else f"{b} higher"
    return "no difference shown"


def seed_spread(results: pd.DataFrame, by: Sequence[str], value: str = "auroc") -> pd.DataFrame:
    """Per (*by, method, nominal): the range (max - min) of the value over seeds."""
    grouped = results.groupby([*by, "method", "nominal"])[value]
    spread = (grouped.max() - grouped.min()).rename("range")
    return pd.concat([spread, grouped.size().rename("seeds")], axis=1).reset_index()
