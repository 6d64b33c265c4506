"""Table: what EfficientNet-Lite0's input size gives on the cat and dog photos (upsampled from
32 px) and what it costs. AUROC of A1 and A2 (Isolation Forest) and of section 6's cosine kNN, mean
over both directions and rates [interval: the (rate, seed) draws resampled within each direction];
the seconds of one feature pass over a set of the same size, from the pretrained_size runs (which
do not use the feature cache).

`python -m paper.tables.tab_photo_size CATS_DOGS.csv PRETRAINED_SIZE.csv OUT.md`; reads only those.
"""

import sys
from pathlib import Path

import pandas as pd

from paper import common, photos

COLUMNS = {"A1 IF": "EffNet-Lite0 A1", "A2 IF": "EffNet-Lite0 A2", "kNN": "EffNet-Lite0 kNN"}


def table(runs: pd.DataFrame, size: pd.DataFrame) -> pd.DataFrame:
    pre = runs[runs["model"] == "pretrained"].copy()
    pre["base"] = pre["score"].str.replace(r" @ \d+ px$", "", regex=True)
    size = size[(size["status"].fillna("ok") == "ok") & (size["features"] == "a1")]
    seconds = size.groupby("input_size")["seconds_features"].mean()
    n = int(size["n"].iloc[0]) if len(size) else 0
    rows = []
    for s, part in pre.groupby("input_size"):
        row = {"input size (px)": int(s)}
        for column, base in COLUMNS.items():
            row[column] = common.cell(*photos.unit_ci(part[part["base"] == base], "auroc"))
        row[f"feature seconds ({n} images)"] = f"{seconds[s]:.1f}" if s in seconds.index else "n/a"
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    src, size_src, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    runs = photos.named(pd.read_csv(src))
    size = pd.read_csv(size_src)
    threads = ", ".join(str(int(t)) for t in sorted(size["torch_threads"].dropna().unique()))
    caption = (
        "EfficientNet-Lite0 (ImageNet weights, frozen) on the cat and dog photos by input size: "
        "AUROC, mean over both directions and rates [95% bootstrap interval over the (rate, seed) "
        "draws within each direction], and the seconds of one feature pass (pretrained_size runs, "
        f"{threads} torch threads; each photo's features are computed once per size and cached) "
        f"(commit {photos.commits(runs)})"
    )
    common.write_table(out, caption, table(runs, size))


if __name__ == "__main__":
    main()
