"""Table: how far the three scores of experiment 1 (H2O's "ugly digits": the default autoencoder on
the MNIST test set, no anomalies) agree on what is ugly. Per pair of methods: Spearman rank
correlation of the 10,000 scores, and the overlap of their k highest-scored images (k = 100, 1%);
mean ± std over seeds. Per method, its rank correlation with the digit's ink mass (mean intensity,
`deepad.data.measures` brightness: RE's ugly digits look thick), and the digit classes most
frequent among its top k.

`python -m paper.tables.tab_ugly_digits RESULTS.csv [MEASURES.csv] OUT.md` reads RESULTS.csv, the
per-image scores beside it (RESULTS_scores.csv.gz, written by experiments/collect.py --scores) and
the per-image measures (`python -m deepad.data.measures DATA OUT mnist:test`).
"""

import itertools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from deepad.store import write_text
from paper.common import with_methods

K = 100


def scores_by_method(results: pd.DataFrame, scores: pd.DataFrame) -> dict[int, pd.DataFrame]:
    """seed -> (images x methods) score matrix."""
    merged = scores.merge(results[["run_dir", "method", "seed"]], on="run_dir")
    return {
        int(seed): part.pivot_table(index="index", columns="method", values="score")
        for seed, part in merged.groupby("seed")
    }


def top(column: pd.Series, k: int = K) -> set:
    return set(column.sort_values(ascending=False, kind="stable").index[:k])


def agreement(wide: dict[int, pd.DataFrame], order: list[str]) -> pd.DataFrame:
    rows = []
    for a, b in itertools.combinations([m for m in order if m in next(iter(wide.values()))], 2):
        rho = [spearmanr(w[a], w[b]).statistic for w in wide.values()]
        overlap = [len(top(w[a]) & top(w[b])) / K for w in wide.values()]
        rows.append(
            {"methods": f"{a} vs {b}", "Spearman rho": mean_sd(rho),
             f"top-{K} overlap": mean_sd(overlap)}
        )  # fmt: skip
    return pd.DataFrame(rows)


def ink(scores: pd.DataFrame, results: pd.DataFrame, measures: pd.DataFrame) -> dict[str, list]:
    """Per method, Spearman's rho of its scores with the ink mass, one value per seed."""
    merged = scores.merge(results[["run_dir", "method"]], on="run_dir").merge(
        measures[["source_index", "brightness"]], on="source_index", validate="m:1"
    )
    out: dict[str, list] = {}
    for (method, _run), part in merged.groupby(["method", "run_dir"]):
        out.setdefault(method, []).append(spearmanr(part["score"], part["brightness"]).statistic)
    return out


def mean_sd(values) -> str:
    return f"{np.mean(values):.3f}" + (
        f" ± {np.std(values, ddof=1):.3f}" if len(values) > 1 else ""
    )


def ugliest_classes(scores: pd.DataFrame, results: pd.DataFrame, order: list[str]) -> pd.DataFrame:
    """Per method, the three digit classes with the largest share of its top-k images (all seeds)."""
    merged = scores.merge(results[["run_dir", "method"]], on="run_dir")
    rows = {}
    for (method, _run), part in merged.groupby(["method", "run_dir"]):
        rows.setdefault(method, []).append(part.nlargest(K, "score")["class"])
    out = {}
    for method in [m for m in order if m in rows]:
        share = pd.concat(rows[method]).value_counts(normalize=True).head(3)
        out[method] = ", ".join(f"{c} ({s:.0%})" for c, s in share.items())
    return pd.DataFrame({f"commonest digits among the top {K}": out})


def main() -> None:
    *inputs, out = map(Path, sys.argv[1:])  # RESULTS.csv [MEASURES.csv] OUT.md
    src = inputs[0]
    results, order = with_methods(pd.read_csv(src))
    scores = pd.read_csv(src.with_name(src.stem + "_scores.csv.gz"))
    wide = scores_by_method(results, scores)
    tab = agreement(wide, order)
    classes = ugliest_classes(scores, results, order)
    if len(inputs) > 1:
        rho = ink(scores, results, pd.read_csv(inputs[1]))
        classes.insert(0, "rho with ink mass", pd.Series({m: mean_sd(v) for m, v in rho.items()}))
    fitted = results["n_fit"].dropna() if "n_fit" in results else pd.Series(dtype=float)
    trained = f"networks fit on {int(fitted.iloc[0]):,} training digits, " if len(fitted) else ""
    md = (
        f"Ugly digits (MNIST test set, {len(next(iter(wide.values())))} images, no anomalies; "
        f"{trained}{len(wide)} seeds): agreement between the rankings, mean ± std over seeds\n\n"
        + tab.to_markdown(index=False)
        + "\n\n"
        + classes.to_markdown()
        + "\n"
    )
    write_text(out, md)
    write_text(out.with_suffix(".tex"), tab.to_latex(index=False) + "\n" + classes.to_latex())


if __name__ == "__main__":
    main()
