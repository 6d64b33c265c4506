"""Table: issue 11's methods at every contamination rate (seed 0). The proposal's scores (ovr.csv,
seed 0 at every p) and the new methods but the trimmed-loss AE (beyond_rates.csv, `make rates`):
mean AUROC over the 10 classes with its 95% two-level bootstrap interval, one table per data
set, p in the columns; then the rank ensemble (`deepad score`'s default) against the proposal's
best score at each (data set, p), paired over classes, Holm over those tests: the one family,
fixed before the runs.

`python -m paper.tables.tab_beyond_rates OVR.csv RATES.csv SELECTION.json OUT.md`;
reads only these files.
"""

import json
import sys
from pathlib import Path

import pandas as pd

from deepad.store import write_text
from paper import common
from paper.tables import tab_beyond as BEYOND  # names, methods, sets

SEED = 0


def runs(ovr: pd.DataFrame, rates: pd.DataFrame, selection: dict) -> pd.DataFrame:
    """Seed 0's runs at every p: the proposal's (named as everywhere) and the new methods' (named as
    in tab_beyond), with `new` (True for issue 11's) and the table's row order in `order`."""
    old, _ = BEYOND.with_methods(ovr[ovr["seed"] == SEED])
    old = old[old["method"].isin(BEYOND.PROPOSAL)].assign(new=False)
    new = rates[(rates["seed"] == SEED) & (rates["status"].fillna("ok") == "ok")].copy()
    new["key"] = new["method"]
    new["method"] = [BEYOND.name(m, selection) for m in new["method"]]
    return pd.concat([old, new.assign(new=True)], ignore_index=True)


def table(results: pd.DataFrame, dataset: str, selection: dict) -> pd.DataFrame:
    """Methods x p for one data set: 'mean [lo, hi]' over classes."""
    part = results[results["dataset"] == dataset]
    ci = common.mean_ci(part, ["contamination"])
    ci["cell"] = [common.cell(*r) for r in ci[["mean", "lo", "hi"]].itertuples(index=False)]
    wide = ci.pivot(index="method", columns="contamination", values="cell")
    wide.columns = [f"p = {p:g}" for p in wide.columns]
    order = BEYOND.PROPOSAL + [BEYOND.name(m, selection) for m in BEYOND.NAMES]
    return wide.reindex([m for m in order if m in wide.index]).fillna("").reset_index()


def paired(results: pd.DataFrame) -> pd.DataFrame:
    """The rank ensemble against the proposal's best score (highest mean over classes) at each
    (data set, p), paired over classes; Holm over every row (one family)."""
    ensemble = results.loc[results["key"] == "ensemble", "method"].unique()
    means = common.class_means(results, ["dataset", "contamination"])
    rows = []
    for (ds, p), part in means.groupby(["dataset", "contamination"]):
        old = part[part["method"].isin(BEYOND.PROPOSAL)]
        if old.empty or not len(ensemble):
            continue
        best = old.groupby("method")["auroc"].mean().idxmax()
        sub = results[(results["dataset"] == ds) & (results["contamination"] == p)]
        rows.append(common.compare(sub, [(ensemble[0], best)], ["dataset", "contamination"]))
    cmp = pd.concat(rows, ignore_index=True)
    cmp["p_holm"] = common.holm(cmp["p_value"])  # one family: every (data set, p)
    cmp["verdict"] = [common.verdict(r) for _, r in cmp.iterrows()]
    cmp["median difference"] = [
        common.cell(d, lo, hi) for d, lo, hi in cmp[["median difference", "lo", "hi"]].to_numpy()
    ]
    cmp["dataset"] = cmp["dataset"].map(BEYOND.DATASETS)
    return cmp.drop(columns=["lo", "hi"]).round({"p_value": 4, "p_holm": 4})


def main() -> None:
    ovr, rates = pd.read_csv(sys.argv[1]), pd.read_csv(sys.argv[2])
    selection = json.loads(Path(sys.argv[3]).read_text())
    out = Path(sys.argv[4])
    results = runs(ovr, rates, selection)
    commit = ", ".join(sorted(rates["git_commit"].dropna().astype(str).unique()))
    md = (
        f"Beyond the proposal at every contamination rate, seed {SEED}: contaminated one-vs-rest, "
        f"train split, mean AUROC over the {results['nominal'].nunique()} classes "
        f"[{common.UNCERTAINTY}]; the proposal's scores from ovr / ovr_dbn, the new methods from "
        f"make rates (the trimmed-loss AE not run) (commit {commit})\n"
    )
    for ds, label in BEYOND.DATASETS.items():
        if (results["dataset"] == ds).any():
            md += f"\n**{label}**\n\n{table(results, ds, selection).to_markdown(index=False)}\n"
    cmp = paired(results)
    md += (
        "\n**The rank ensemble against the proposal's best score at each p** (paired over the "
        f"{results['nominal'].nunique()} classes, seed {SEED}; median difference with its 95% "
        f"bootstrap interval; two-sided Wilcoxon p, Holm over the {len(cmp)} tests)\n\n"
        f"{cmp.to_markdown(index=False)}\n"
    )
    write_text(out, md)
    tex = [table(results, ds, selection).to_latex(index=False) for ds in BEYOND.DATASETS]
    write_text(out.with_suffix(".tex"), "\n".join(tex))


if __name__ == "__main__":
    main()
