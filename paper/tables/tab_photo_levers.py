"""Table: issue 31's photo levers (`make levers`), one changed at a time from pre_knn: AUROC, mean
over both directions [95% bootstrap interval: the (rate, seed) draws resampled within each
direction], the draws on which the lever beats pre_knn, and its cost on one thread.

`python -m paper.tables.tab_photo_levers PHOTO_LEVERS.csv OUT.md`; reads only that file.
"""

import sys
from pathlib import Path

import pandas as pd

from paper import common, photos

BASE = "Lite0 head (pre_knn)"  # experiments/photo_levers.py's unchanged lever


def table(levers: pd.DataFrame) -> pd.DataFrame:
    levers = levers.assign(direction=levers["nominal"])
    draw = ["nominal", "contamination", "seed"]
    base = levers[levers["lever"] == BASE].set_index(draw)["auroc"]
    rows = []
    for (group, lever), part in levers.groupby(["group", "lever"], sort=False):
        mine = part.set_index(draw)["auroc"]
        rows.append({
            "changed": group, "lever": lever,
            "AUROC": common.cell(*photos.unit_ci(part, "auroc")),
            "beats pre_knn": f"{int((mine > base.reindex(mine.index)).sum())} / {len(mine)}",
            "features: ms / image": f"{1000 * part['seconds_features_per_image'].mean():.1f}",
            "detector: s / set": f"{part['seconds_detect'].median():.2f}",
        })  # fmt: skip
    return pd.DataFrame(rows)


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    levers = pd.read_csv(src)
    draws = levers.groupby("lever").size().max()
    caption = (
        "Photo levers (make levers; experiments/photo_levers.py), one changed at a time from "
        f"pre_knn (cosine kNN, k = {levers['k_pre_knn'].iloc[0]:g} n, on EfficientNet-Lite0's "
        "pooled head features at 224 px), on the photo experiment's draws (both directions, "
        f"its rates and seeds: {draws} draws): AUROC, mean over directions [95% bootstrap "
        "interval: the draws resampled within each direction]; the draws on which the lever "
        "scores above pre_knn; the features' milliseconds per photo and the detector's median "
        "seconds per set, one thread. Measured on the reported photos (no validation split of "
        f"photos exists): a record, not a choice (commit {photos.commits(levers)})"
    )
    common.write_table(out, caption, table(levers))


if __name__ == "__main__":
    main()
