"""Table: the proposal's own example on real photos, CIFAR-10 cats against dogs in both directions.
Per score: AUROC at each rate, the mean over both directions with its interval (seeds resampled
within each direction, `paper.photos.unit_ci`), and each direction's mean over rates and seeds.

`python -m paper.tables.tab_photos RESULTS.csv OUT.md`; reads only paper/results/cats_dogs.csv.
"""

import sys
from pathlib import Path

import pandas as pd

from paper import common, photos

ORDER = [
    "AE RE", "AE A1", "AE A2", "Deep AE RE", "Deep AE A1", "Deep AE A2", "Conv AE RE",
    "Conv AE A1", "Conv AE A2", "DBN RE", "DBN A1", "DBN A2", "DBN free energy",
    "raw pixels IF", "raw pixels kNN", "raw pixels kNN cosine", "rank ensemble (section 6)",
    "PyOD IForest", "PyOD KNN", "PyOD PCA", "PyOD ECOD",
]  # fmt: skip


def table(runs: pd.DataFrame) -> pd.DataFrame:
    """Rows: scores (networks first, EfficientNet-Lite0 by input size last)."""
    rows = []
    for score in photos.scores_in(runs, ORDER):
        part = runs[runs["score"] == score]
        row = {"score": score}
        for p, at in part.groupby("contamination"):
            row[f"p = {p:g}"] = common.cell(*photos.unit_ci(at, "auroc"))
        for d, at in part.groupby("direction"):
            row[photos.DIRECTIONS[d].split(",")[0]] = f"{at['auroc'].mean():.3f}"
        row["runs"] = len(part)
        rows.append(row)
    return pd.DataFrame(rows).fillna("")  # a score not run at a rate: an empty cell


def caption(runs: pd.DataFrame) -> str:
    seeds = runs.groupby(["direction", "contamination"])["seed"].nunique().max()
    nominal = int((runs["n"] - runs["n_anomalies"]).median())
    return (
        f"Cats against dogs (CIFAR-10 photos, RGB; {nominal:,} nominal photos, the other class "
        "drawn at rate p): AUROC, mean over both directions [95% bootstrap interval over the "
        f"{seeds} seeds within each direction; two directions bound any claim to these photos], "
        f"and each direction's mean over rates and seeds (commit {photos.commits(runs)})"
    )


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    runs = photos.named(pd.read_csv(src))
    common.write_table(out, caption(runs), table(runs))


if __name__ == "__main__":
    main()
