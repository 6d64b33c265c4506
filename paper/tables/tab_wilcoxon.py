"""Table: paired Wilcoxon signed-rank tests of each feature score against reconstruction error
(A1 vs RE, A2 vs RE, per network; DBN free energy vs DBN RE), over the (nominal class, seed) pairs
of the one-vs-rest results, per data set and contamination rate p. Positive median difference =
the feature score has higher AUROC.

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
        index=["dataset", "contamination", "nominal", "seed"], columns="method", values="auroc"
    )
    rows = []
    cells = results[["dataset", "contamination"]].drop_duplicates().sort_values("contamination")
    for (dataset, p), (a, b) in [(tuple(c), pair) for c in cells.values for pair in PAIRS]:
        if a in wide and b in wide:
            pair = wide.loc[(dataset, p), [a, b]].dropna()
            diff = pair[a] - pair[b]
            test = wilcoxon(pair[a], pair[b]) if (diff != 0).any() else None
            rows.append(
                {
                    "dataset": dataset,
                    "p": p,
                    "comparison": f"{a} vs {b}",
                    "pairs": len(pair),
                    "wins": int((diff > 0).sum()),
                    "median AUROC difference": diff.median(),
                    "p-value": test.pvalue if test else 1.0,
                }
            )
    return pd.DataFrame(rows).set_index(["dataset", "p", "comparison"])


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    tab = table(results)
    md = (
        "Paired Wilcoxon signed-rank tests (two-sided), AUROC over (nominal class, seed) pairs, "
        "one-vs-rest, per data set and contamination p; wins = pairs where the first method "
        "scores higher\n\n" + tab.reset_index().to_markdown(index=False, floatfmt=".3g") + "\n"
    )
    write_text(out, md)
    write_text(out.with_suffix(".tex"), tab.to_latex(float_format="%.3g"))
    if len(sys.argv) > 3:
        write_between_markers(Path(sys.argv[3]), "results:wilcoxon", md)


if __name__ == "__main__":
    main()
