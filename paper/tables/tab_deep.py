"""Table: the proposal's scores on deeper networks, contaminated one-vs-rest at p = 0.1: RE, A1 and
A2 (Isolation Forest) of the H2O AE (784-50-784), the deep dense AE (784-256-64-256-784), the conv
AE and the DBN (A2 over every hidden layer; A2 of the top layer only beside it), each the mean over
classes of the seed-averaged AUROC with its 95% two-level bootstrap interval; and each feature
score against its network's RE, paired over classes (`deepad.stats.compare`, Holm over the table).

`python -m paper.tables.tab_deep OVR.csv DEEP.csv OUT.md`; reads only the two results files.
"""

import sys
from pathlib import Path

import pandas as pd

from deepad.store import write_text
from paper import common
from paper.common import with_methods

P = 0.1
NETWORKS = {  # network: its (RE, A1, A2) methods
    "AE 784-50-784": ("AE RE", "AE A1", "AE A2"),
    "Deep AE 784-256-64-256-784": ("Deep AE RE", "Deep AE A1", "Deep AE A2"),
    "Conv AE (16-32 ch., 32-d code)": ("Conv AE RE", "Conv AE A1", "Conv AE A2"),
    "DBN 784-500-200": ("DBN RE", "DBN A1", "DBN A2"),
    "DBN, A2 of the top layer": ("DBN RE", "DBN A1", "DBN A2 top"),
}
KEYS = ["method", "dataset", "nominal", "seed"]


def combined(ovr: pd.DataFrame, deep: pd.DataFrame) -> pd.DataFrame:
    """The Isolation Forest runs at p = 0.1 of both files, once per (method, data set, class,
    seed): ovr's first (the same config run in both files gives the same numbers)."""
    frames = [with_methods(f[f["contamination"] == P])[0] for f in (ovr, deep)]
    both = pd.concat(frames, ignore_index=True)
    both = both[both["detector"].fillna("iforest") == "iforest"]
    return both.drop_duplicates(KEYS, keep="first")


def table(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    ci = common.mean_ci(results, ["dataset"]).set_index(["dataset", "method"])
    pairs = sorted({(f, re) for re, a1, a2 in NETWORKS.values() for f in (a1, a2)})
    tests = common.compare(results, pairs, ["dataset"]).set_index(["dataset", "comparison"])
    rows = []
    for dataset in sorted(results["dataset"].unique()):
        for network, (re, a1, a2) in NETWORKS.items():
            if (dataset, re) not in ci.index or (dataset, a2) not in ci.index:
                continue  # e.g. no top-layer-only DBN runs in these results
            row = {"dataset": dataset, "network": network}
            for name, method in (("RE", re), ("A1", a1), ("A2", a2)):
                if (dataset, method) in ci.index:
                    c = ci.loc[(dataset, method)]
                    row[name] = common.cell(c["mean"], c["lo"], c["hi"])
                    row[f"{name} seeds"] = int(c["runs"] / c["classes"])
            for name, method in (("A1 vs RE", a1), ("A2 vs RE", a2)):
                key = (dataset, f"{method} vs {re}")
                if key in tests.index:
                    t = tests.loc[key]
                    row[name] = (
                        f"{int(t['wins'])}/{int(t['classes'])}, {t['median difference']:+.3f}, "
                        f"Holm p {t['p_holm']:.2g}"
                    )
            rows.append(row)
    columns = ["dataset", "network", "RE", "A1", "A2", "A1 vs RE", "A2 vs RE"]
    tab = pd.DataFrame(rows).reindex(columns=columns + ["RE seeds", "A1 seeds", "A2 seeds"])
    return tab.fillna(""), tests.reset_index()


def main() -> None:
    ovr, deep, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    results = combined(pd.read_csv(ovr), pd.read_csv(deep))
    tab, tests = table(results)
    seeds = ", ".join(
        f"{m} {int(n)}" for m, n in results.groupby("method")["seed"].nunique().items() if n < 3
    )
    md = (
        f"Deeper networks, contaminated one-vs-rest, p = {P}: mean AUROC over the 10 classes "
        f"(seeds averaged first) [{common.UNCERTAINTY}]; feature score vs RE: wins out of the "
        f"classes, median difference, Holm p over the {len(tests)} tests of this table. "
        f"Fewer than 3 seeds: {seeds or 'none'}\n\n"
        + tab.drop(columns=[c for c in tab if c.endswith(" seeds")]).to_markdown(index=False)
        + "\n"
    )
    write_text(out, md)
    write_text(out.with_suffix(".tex"), tab.to_latex(index=False))


if __name__ == "__main__":
    main()
