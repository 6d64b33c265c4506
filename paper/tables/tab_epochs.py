"""Table: the epochs-sensitivity check (issue 28, item 1). The verdicts of the Wilcoxon table
(`tab_wilcoxon.PAIRS`: each feature score against its network's RE) at p = 0.1 and seed 0, once
for the networks at the chosen length (ovr's runs) and once for the same networks trained twice as
long (long_ae.yaml, long_dbn.yaml), paired over the classes, Holm within each length; a row says
whether the verdict moved.

`python -m paper.tables.tab_epochs OVR.csv EPOCHS_CHECK.csv OUT.md`; reads only the results.
"""

import sys
from pathlib import Path

import pandas as pd

from paper.common import write_table
from paper.tables import tab_wilcoxon

P, SEED = 0.1, 0


def table(ovr: pd.DataFrame, twice: pd.DataFrame) -> pd.DataFrame:
    """One row per (data set, comparison): the verdict and median difference at each length."""
    chosen = ovr[(ovr["contamination"] == P) & (ovr["seed"] == SEED)]
    runs = pd.concat([chosen.assign(length="chosen"), twice.assign(length="twice")])
    runs = runs[runs["features"] != "raw"]
    tabs = []
    for length, part in runs.groupby("length"):
        tab = tab_wilcoxon.table(part)
        tabs.append(tab.assign(length=length))
    both = pd.concat(tabs).pivot_table(
        index=["dataset", "comparison"],
        columns="length",
        values=["median difference", "verdict", "classes"],
        aggfunc="first",
    )
    out = pd.DataFrame(
        {
            "classes": both["classes"]["chosen"].astype(int),
            "chosen: median difference": both["median difference"]["chosen"],
            "chosen: verdict": both["verdict"]["chosen"],
            "twice: median difference": both["median difference"]["twice"],
            "twice: verdict": both["verdict"]["twice"],
        }
    ).reset_index()
    out["moved"] = out["chosen: verdict"] != out["twice: verdict"]
    return out


def main() -> None:
    ovr, twice, out = (Path(a) for a in sys.argv[1:4])
    tab = table(pd.read_csv(ovr), pd.read_csv(twice))
    epochs = pd.read_csv(twice).groupby("model")["epochs_trained"].max().astype(int).to_dict()
    shown = tab.assign(moved=tab["moved"].map({True: "yes", False: "no"}))
    caption = (
        f"Epochs sensitivity: each feature score against its network's RE at p = {P}, seed {SEED}, "
        "with the networks at the chosen length and trained twice as long "
        f"({', '.join(f'{m}: {e}' for m, e in sorted(epochs.items()))} epochs, the DBN's per "
        "layer at most); paired over the classes, median AUROC difference, verdict at Holm p < "
        f"{tab_wilcoxon.ALPHA} within each length (one seed: the interval holds the class spread "
        f"only); {int(tab['moved'].sum())} of {len(tab)} verdicts moved"
    )
    write_table(out, caption, shown, floatfmt="+.3f")


if __name__ == "__main__":
    main()
