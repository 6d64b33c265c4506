"""Table: our AUROC beside published numbers under the same protocol (contaminated one-vs-rest,
p = 0.1, mean over the 10 nominal classes).

Published numbers are citations, not results of this repository: the ODIM authors' result files
(Kim et al., "ODIM: Outlier detection via likelihood of under-fitted generative models", ICML 2023),
which report raw-pixel Isolation Forest, OCSVM, Deep SVDD (Ruff et al. 2018), RSRAE (Lai et al.
2020; best of its two variants) and ODIM on MNIST and Fashion-MNIST. Ours come from RESULTS.csv.

`python paper/tables/tab_published.py RESULTS.csv OUT.md [README.md]`.
"""

import sys
from pathlib import Path

import pandas as pd

from deepad.report import with_methods
from deepad.store import write_between_markers, write_text

SOURCE = "ODIM authors' result files (Kim et al., ICML 2023)"
PUBLISHED = {  # method: (MNIST, Fashion-MNIST)
    "Isolation Forest, raw pixels": (0.819, 0.909),
    "OCSVM": (0.847, 0.874),
    "Deep SVDD": (0.753, 0.808),
    "RSRAE (best variant)": (0.902, 0.872),
    "ODIM": (0.836, 0.909),
}
DATASETS = {"mnist": "MNIST", "fashion_mnist": "Fashion-MNIST"}


def table(results: pd.DataFrame) -> pd.DataFrame:
    results, order = with_methods(results[results["contamination"] == 0.1])
    ours = results.groupby(["method", "dataset"])["auroc"].mean().unstack("dataset")
    ours = ours.reindex(index=order, columns=list(DATASETS)).rename(columns=DATASETS)
    ours.index = [f"{m} (ours)" for m in ours.index]
    ours["source"] = "this repository, `make reproduce`"
    published = pd.DataFrame(
        [(m, *v, SOURCE) for m, v in PUBLISHED.items()],
        columns=["method", *DATASETS.values(), "source"],
    ).set_index("method")
    return pd.concat([ours, published])


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    tab = table(results)
    seeds = results.loc[results["contamination"] == 0.1, "seed"].nunique()
    md = (
        "Mean AUROC over the 10 nominal classes, contaminated one-vs-rest, p = 0.1 (ours: also over "
        f"{seeds} seeds; published: the authors' runs; empty = not run)\n\n"
        + tab.to_markdown(floatfmt=".3f", missingval="")
        + "\n"
    )
    write_text(out, md)
    write_text(out.with_suffix(".tex"), tab.to_latex(float_format="%.3f", na_rep="--"))
    if len(sys.argv) > 3:
        write_between_markers(Path(sys.argv[3]), "results:published", md)


if __name__ == "__main__":
    main()
