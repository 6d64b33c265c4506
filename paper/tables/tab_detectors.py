"""Table: detector sensitivity, contaminated one-vs-rest at p = 0.1: A1 and A2 of each network
scored by Isolation Forest, kNN (k = 10) and LOF (k = 20), mean over classes of the seed-averaged
AUROC with its 95% two-level bootstrap interval; and how many distinct scores each gives (ties:
`roc_auc_score` counts a tied anomaly-nominal pair as half a correct ordering, so a score with few
distinct values is pulled towards 0.5 within each tie).

`python -m paper.tables.tab_detectors OVR.csv DEEP.csv OUT.md`; reads only the results files. The
detectors sweep runs kNN and LOF; Isolation Forest on the same features is the one-vs-rest runs'
(ovr.csv: the H2O AE and the DBN; deep.csv: the deeper networks), not run twice.
"""

import sys
from pathlib import Path

import pandas as pd

from paper import common
from paper.common import DETECTOR_NAMES, method_name, with_methods, write_table

P = 0.1


RUN = ["dataset", "model", "features", "detector", "a2_layers", "nominal", "contamination", "seed"]


def runs(ovr: pd.DataFrame, deep: pd.DataFrame) -> pd.DataFrame:
    """The detector comparison's runs: deep.csv's, and ovr.csv's Isolation Forest runs of the same
    features; a run in both (results collected before the duplicate was dropped) counts once."""
    both = pd.concat([deep, ovr], ignore_index=True)
    return both.drop_duplicates([c for c in RUN if c in both.columns], keep="first")


def scored(results: pd.DataFrame) -> pd.DataFrame:
    """A1 / A2 runs at P with `score`: the method's name without its detector."""
    results = results[(results["contamination"] == P) & results["features"].isin(["a1", "a2"])]
    results, _ = with_methods(results)
    results["score"] = [
        method_name(m, f, "iforest", a)
        for m, f, a in zip(
            results["model"],
            results["features"],
            results.get("a2_layers", [None] * len(results)),
            strict=True,
        )
    ]
    return results


def intervals(results: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, score, detector): mean over classes and its 95% bootstrap interval."""
    return common.mean_ci(scored(results), ["dataset", "score", "detector"])


def table(results: pd.DataFrame) -> pd.DataFrame:
    ci = intervals(results)
    results = scored(results)
    ci["cell"] = [common.cell(*r) for r in ci[["mean", "lo", "hi"]].itertuples(index=False)]
    wide = ci.pivot(index=["dataset", "score"], columns="detector", values="cell")
    wide = wide.rename(columns=DETECTOR_NAMES).fillna("")  # e.g. the conv AE: Isolation Forest only
    distinct = results.pivot_table(
        index=["dataset", "score"], columns="detector", values="n_distinct_scores", aggfunc="median"
    ).rename(columns=lambda d: f"distinct scores {DETECTOR_NAMES.get(d, d)}")
    n = results.groupby(["dataset", "score"])["n"].median().rename("images")
    distinct = distinct.round(0).astype("Int64").astype(object).where(distinct.notna(), "")
    return pd.concat([wide, distinct, n.astype(int)], axis=1).reset_index()


def main() -> None:
    ovr, deep, out = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2]), Path(sys.argv[3])
    tab = table(runs(ovr, deep))
    caption = (
        f"Detector sensitivity, contaminated one-vs-rest, p = {P}: mean AUROC over the 10 classes "
        f"(seeds averaged first) [{common.UNCERTAINTY}], by the detector that scores the features; "
        "distinct scores: median over runs of the number of distinct values among the set's "
        "images (AUROC counts a tied anomaly-nominal pair as half)"
    )
    write_table(out, caption, tab)


if __name__ == "__main__":
    main()
