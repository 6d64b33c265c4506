"""Table: paired Wilcoxon signed-rank tests of each feature score against reconstruction error
(A1 vs RE, A2 vs RE, per network; DBN free energy vs DBN RE), over the (nominal class, seed) pairs
of the one-vs-rest results, per data set. Positive median difference = the feature score has higher AUROC.

`python paper/tables/tab_wilcoxon.py RESULTS.csv OUT.md [README.md]`; reads only the results.
"""

import sys
from pathlib import Path

import pandas as pd
from scipy.stats import wilcoxon

from deepad.report import with_methods
from deepad.store import write_between_markers, write_text

PAIRS = [
    ("AE A1", "AE RE"),
    ("AE A2", "AE RE"),
    ("DBN A1", "DBN RE"),
    ("DBN A2", "DBN RE"),
    ("DBN free energy", "DBN RE"),
    ("raw pixels", "AE RE"),
]


def table(results: pd.DataFrame) -> pd.DataFrame:
    results, _ = with_methods(results)
    wide = results.pivot_table(
        index=["dataset", "nominal", "seed"], columns="method", values="auroc"
    )
    rows = []
    for dataset, a, b in [(d, a, b) for d in results["dataset"].unique() for a, b in PAIRS]:
        if a in wide and b in wide:
            pair = wide.loc[dataset, [a, b]].dropna()
            diff = pair[a] - pair[b]
            test = wilcoxon(pair[a], pair[b])
            rows.append(
                {
                    "dataset": dataset,
                    "comparison": f"{a} vs {b}",
                    "pairs": len(pair),
                    "wins": int((diff > 0).sum()),
                    "median AUROC difference": diff.median(),
                    "p-value": test.pvalue,
                }
            )
    return pd.DataFrame(rows).set_index(["dataset", "comparison"])


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    tab = table(results)
    md = (
        f"Paired Wilcoxon signed-rank tests, AUROC over (nominal class, seed) pairs, one-vs-rest "
        f"p = {results['contamination'].iloc[0]}; wins = pairs where the first method scores higher\n\n"
        + tab.reset_index().to_markdown(index=False, floatfmt=".3g")
        + "\n"
    )
    write_text(out, md)
    write_text(out.with_suffix(".tex"), tab.to_latex(float_format="%.3g"))
    if len(sys.argv) > 3:
        write_between_markers(Path(sys.argv[3]), "results:wilcoxon", md)


if __name__ == "__main__":
    main()
