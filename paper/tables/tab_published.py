"""Table: our AUROC beside published numbers under the same protocol (contaminated one-vs-rest,
p = 0.1, mean over the 10 nominal classes).

Published numbers are citations, not results of this repository. Source: the ODIM authors' result
workbook, github.com/jshwang0311/ODIM, commit 2d07d6c, `Results_Excel/merge_diff_odim_20240325.xlsx`,
sheet `image_text_merge`, rows `mnist` and `FashionMNIST`, columns `iF`, `oneClassSVM`, `deepSVDD`,
`RSRAE` and `ODIM` (the code of Kim, Hwang, Lee, Kim and Kim, "ODIM: Outlier Detection via Likelihood
of Under-Fitted Generative Models", ICML 2024, PMLR 235). In that sheet `iF` and `ODIM` hold the same
Fashion-MNIST value, 0.90904, to five digits; we quote it as it is. Ours come from RESULTS.csv.

`python -m paper.tables.tab_published RESULTS.csv OUT.md`.
"""

import sys
from pathlib import Path

import pandas as pd

from deepad.store import write_text
from paper.common import with_methods

SOURCE = (
    "jshwang0311/ODIM@2d07d6c Results_Excel/merge_diff_odim_20240325.xlsx, "
    "sheet image_text_merge, column {}"
)
PUBLISHED = {  # method: (MNIST, Fashion-MNIST, the sheet's column)
    "Isolation Forest, raw pixels": (0.819, 0.909, "iF"),
    "OCSVM": (0.847, 0.874, "oneClassSVM"),
    "Deep SVDD": (0.753, 0.808, "deepSVDD"),
    "RSRAE": (0.902, 0.844, "RSRAE"),
    "ODIM": (0.836, 0.909, "ODIM"),
}
DATASETS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


def table(results: pd.DataFrame) -> pd.DataFrame:
    results, order = with_methods(results[results["contamination"] == 0.1])
    ours = results.groupby(["method", "dataset"])["auroc"].mean().unstack("dataset")
    ours = ours.reindex(index=order, columns=list(DATASETS)).rename(columns=DATASETS)
    ours.index = [f"{m} (ours)" for m in ours.index]
    ours["source"] = "this repository, `make reproduce`"
    published = pd.DataFrame(
        [(m, *v[:2], SOURCE.format(v[2])) for m, v in PUBLISHED.items()],
        columns=["method", *DATASETS.values(), "source"],
    ).set_index("method")
    return pd.concat([ours, published])


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    tab = table(results)
    seeds = results.loc[results["contamination"] == 0.1, "seed"].nunique()
    md = (
        "Mean AUROC over the 10 nominal classes, contaminated one-vs-rest, p = 0.1 (ours: seeds "
        f"averaged first, {seeds} seeds; published: the authors' runs, quoted from the file named "
        "in the source column, no interval given there; empty = not run)\n\n"
        + tab.to_markdown(floatfmt=".3f", missingval="")
        + "\n"
    )
    write_text(out, md)
    write_text(out.with_suffix(".tex"), tab.to_latex(float_format="%.3f", na_rep="--"))


if __name__ == "__main__":
    main()
