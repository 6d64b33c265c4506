"""Table: each feature score against its network's reconstruction error (A1 vs RE, A2 vs RE per
network; DBN free energy vs DBN RE; raw pixels vs AE RE), per data set and contamination rate p,
contaminated one-vs-rest. Paired over the nominal classes with seeds averaged first
(`deepad.stats.compare`): wins out of the classes, the median AUROC difference with its 95%
bootstrap interval, the two-sided Wilcoxon signed-rank p and the Holm-corrected p within each
contamination rate (a family per p: with 10 classes the smallest possible two-sided p is
2 / 2^10 = 0.002, so the 48 rows as one family could never reach 0.05; a family of 14 can).
Positive difference = the first method has the higher AUROC.

`python -m paper.tables.tab_wilcoxon RESULTS.csv OUT.md`; reads only the results.
"""

import sys
from pathlib import Path

import pandas as pd

from deepad.store import write_text
from paper import common
from paper.common import with_methods

PAIRS = [
    ("AE A1", "AE RE"),
    ("AE A2", "AE RE"),
    ("DBN A1", "DBN RE"),
    ("DBN A2 top", "DBN RE"),
    ("DBN A2", "DBN RE"),
    ("DBN free energy", "DBN RE"),
    ("raw pixels", "AE RE"),
]
ALPHA = 0.05


def table(results: pd.DataFrame, pairs=PAIRS) -> pd.DataFrame:
    """One row per (dataset, p, comparison), Holm over all rows; see the module docstring."""
    results, _ = with_methods(results)
    tab = common.compare(results, pairs, ["dataset", "contamination"], family=["contamination"])
    tab = tab.rename(columns={"contamination": "p"})
    tab["verdict"] = [common.verdict(r, ALPHA) for _, r in tab.iterrows()]
    return tab


def shown(tab: pd.DataFrame) -> pd.DataFrame:
    """The table as printed: wins as 'w/n', the difference with its interval."""
    return pd.DataFrame(
        {
            "dataset": tab["dataset"],
            "p": tab["p"],
            "comparison": tab["comparison"],
            "wins": [f"{w}/{n}" for w, n in zip(tab["wins"], tab["classes"], strict=True)],
            "median AUROC difference [95% CI]": [
                f"{m:+.3f} [{lo:+.3f}, {hi:+.3f}]"
                for m, lo, hi in tab[["median difference", "lo", "hi"]].itertuples(index=False)
            ],
            "Wilcoxon p": tab["p_value"].map(lambda v: f"{v:.3g}"),
            "Holm p": tab["p_holm"].map(lambda v: f"{v:.3g}"),
            "verdict": tab["verdict"],
        }
    )


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    tab = table(pd.read_csv(src))
    printed = shown(tab)
    md = (
        "Feature scores against reconstruction error, contaminated one-vs-rest: paired over the "
        f"{int(tab['classes'].max())} nominal classes (seeds averaged first); wins = classes where "
        "the first method has the higher AUROC; median difference with its 95% bootstrap interval "
        "over classes; two-sided Wilcoxon signed-rank p, Holm-corrected within each p (a family of "
        f"{tab.groupby('p').size().max()} tests; the smallest possible p with "
        f"{int(tab['classes'].max())} classes is {2 / 2 ** int(tab['classes'].max()):.4f}); "
        f"verdict at Holm p < {ALPHA}\n\n" + printed.to_markdown(index=False) + "\n"
    )
    write_text(out, md)
    write_text(out.with_suffix(".tex"), printed.to_latex(index=False))


if __name__ == "__main__":
    main()
