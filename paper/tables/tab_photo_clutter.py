"""Table: what each score's false alarms look like on the cat and dog photos, by the label-free
measures of `deepad.data.measures` (border clutter, contrast, brightness), at the first rate. Per
score, among the nominal photos: Spearman's rho of the score with each measure, and the share of
its k highest-scored nominal photos (k = the number of anomalies) in the top quartile of each
measure (chance 0.25) [interval: seeds resampled within each direction, `paper.photos`].

`python -m paper.tables.tab_photo_clutter CATS_DOGS.csv SCORES.csv.gz MEASURES.csv OUT.md`.
"""

import sys
from pathlib import Path

import pandas as pd

from paper import common, photos
from paper.tables.tab_photos import ORDER


def table(frame: pd.DataFrame, p: float) -> pd.DataFrame:
    at = frame[frame["contamination"] == p]
    rows = []
    for score in photos.scores_in(at, ORDER):
        part = at[at["score"] == score]
        row = {"score": score, "AUROC": f"{photos.unit_ci(part, 'auroc')[0]:.3f}"}
        for m in photos.MEASURES:
            row[f"rho {m}"] = f"{photos.unit_ci(part, f'rho_{m}')[0]:+.2f}"
        for m in photos.MEASURES:
            row[f"false alarms in top {m} quartile"] = common.cell(
                *photos.unit_ci(part, f"top_{m}")
            )
        rows.append(row)
    return pd.DataFrame(rows)


def main() -> None:
    src, scores, measures, out = map(Path, sys.argv[1:5])
    frame = photos.draws(pd.read_csv(src), pd.read_csv(scores), pd.read_csv(measures))
    p = float(frame["contamination"].min())
    seeds = frame.groupby("direction")["seed"].nunique().max()
    caption = (
        f"False alarms on the cat and dog photos at p = {p:g}: rank correlation (rho, mean over "
        "draws) of each score with border clutter, contrast, brightness and saturation among the "
        "nominal photos, and the share of its top-k nominal photos in each measure's top "
        f"quartile (chance {photos.CHANCE:g}) [95% bootstrap interval over the {seeds} seeds "
        f"within each direction] (commit {photos.commits(frame)})"
    )
    common.write_table(out, caption, table(frame, p))


if __name__ == "__main__":
    main()
