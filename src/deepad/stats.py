"""The statistics every table and figure of the paper uses, in one place.

The unit of replication is the nominal class: the seeds of one class share its images, so they are
averaged first (`class_means`), and tests pair two methods over the classes, never over
(class, seed) pairs, which would count one class three times (pseudo-replication).

- `mean_ci`: the mean over classes with its 95% percentile-bootstrap interval over classes: the one
  uncertainty measure of the paper's tables and figures.
- `compare`: per cell, method A against method B paired over classes: wins out of n, the median
  difference with a 95% bootstrap interval, the two-sided Wilcoxon signed-rank p (Wilcoxon 1945;
  exact for n <= 25 without ties) and the Holm-corrected p over the table's family (`holm`, Holm 1979).
- `seed_spread`: per class, how far one method's AUROC moves across seeds (max - min).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

CI = 0.95
RESAMPLES = 10_000
UNCERTAINTY = "95% bootstrap interval over nominal classes (seeds averaged first)"


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


def mean_ci(
    results: pd.DataFrame, by: Sequence[str], value: str = "auroc", unit: str = "nominal"
) -> pd.DataFrame:
    """Per (*by, method): the mean over classes of the seed-averaged value, its 95% bootstrap
    interval over classes (`lo`, `hi`), the number of classes and of runs."""
    per_class = class_means(results, by, value, unit)
    rows = []
    for key, part in per_class.groupby([*by, "method"], dropna=False):
        lo, hi = bootstrap(part[value].to_numpy())
        rows.append((*key, part[value].mean(), lo, hi, len(part), int(part["seeds"].sum())))
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
