"""Table: how far one class's AUROC moves across seeds (a seed redraws the anomalies and
reinitialises the network), per method and data set at p = 0.1 of the one-vs-rest results: the
median over classes of the seed range (max - min over seeds), the largest range and its class.
What the class-level intervals of the other tables average away.

`python -m paper.tables.tab_seed_spread RESULTS.csv OUT.md`; reads only the results.
"""

import sys
from pathlib import Path

import pandas as pd

from paper import common
from paper.common import with_methods, write_table

P = 0.1


def table(results: pd.DataFrame) -> pd.DataFrame:
    results, order = with_methods(results[results["contamination"] == P])
    spread = common.seed_spread(results, ["dataset"])
    rows = []
    for (dataset, method), part in spread.groupby(["dataset", "method"]):
        worst = part.loc[part["range"].idxmax()]
        rows.append(
            {
                "dataset": dataset,
                "method": method,
                "seeds": int(part["seeds"].max()),
                "median range over classes": part["range"].median(),
                "largest range": worst["range"],
                "its class": worst["nominal"],
            }
        )
    tab = pd.DataFrame(rows)
    tab["method"] = pd.Categorical(tab["method"], order)
    return tab.sort_values(["dataset", "method"]).reset_index(drop=True)


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    tab = table(pd.read_csv(src))
    caption = (
        f"Seed spread of one class's AUROC, one-vs-rest, p = {P}: range = max - min over the "
        "seeds of that class (anomalies redrawn, network reinitialised); median over the 10 "
        "classes and the largest"
    )
    write_table(out, caption, tab, floatfmt=".3f")


if __name__ == "__main__":
    main()
