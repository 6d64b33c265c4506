"""Table: the proposal's natural-image experiment (conf/experiment/imagenet.yaml): nature scenes and
flowers as nominal ImageNet synsets, dogs and cats as anomalies at p = 5%; AUROC and AP of each
method, mean over seeds with the range over seeds (one set: no classes to resample).

`python -m paper.tables.tab_imagenet IMAGENET.csv OUT.md`; reads only the results file.
"""

import sys
from pathlib import Path

import pandas as pd

from paper.common import with_methods, write_table


def table(results: pd.DataFrame) -> pd.DataFrame:
    results, order = with_methods(results)
    rows = []
    for method in order:
        part = results[results["method"] == method]
        rows.append(
            {
                "method": method,
                "AUROC": f"{part['auroc'].mean():.3f} [{part['auroc'].min():.3f}, "
                f"{part['auroc'].max():.3f}]",
                "AP": f"{part['ap'].mean():.3f}",
                "seeds": part["seed"].nunique(),
                "images": int(part["n"].median()),
                "anomalies": int(part["n_anomalies"].median()),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    tab = table(pd.read_csv(src))
    caption = (
        "ImageNet synsets, nominal: alp, valley, lakeside, seashore, cliff, volcano, daisy; "
        "anomalies (p = 0.05): golden and Labrador retrievers, German shepherd, tabby, tiger, "
        "Persian and Siamese cats; 64 x 64 RGB. AUROC: mean over seeds [min, max over seeds]"
    )
    write_table(out, caption, tab)


if __name__ == "__main__":
    main()
