"""Figure: what each score reacts to on the cat and dog photos. Per score and direction (first
rate, seed 0): its highest-scored nominal photos (its false alarms, grey frames) beside its
highest-scored anomalies (red frames), most anomalous first.

`python -m paper.figures.fig_photos CATS_DOGS.csv SCORES.csv.gz OUT.png [DATA_DIR]`: the runs'
ranks from the collected results; the photos themselves from the data (`make data`), by index.
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from deepad.data import sources  # noqa: E402
from deepad.report import tile  # noqa: E402
from deepad.store import write_atomic  # noqa: E402
from paper import photos  # noqa: E402

SCORES = ["AE RE", "AE A1", "AE A2", "DBN RE", "DBN free energy"]  # and EffNet kNN, largest size
SHOWN = 8  # photos per side


def picks(runs: pd.DataFrame, scores: pd.DataFrame) -> list[tuple[str, str, pd.DataFrame]]:
    """(score, direction, that run's scores) for the figure's rows, in order."""
    at = runs[(runs["contamination"] == runs["contamination"].min()) & (runs["seed"] == 0)]
    knn = at[at["score"].str.startswith("EffNet-Lite0 kNN")]
    wanted = SCORES + ([knn.sort_values("input_size")["score"].iloc[-1]] if len(knn) else [])
    rows = []
    for direction in sorted(at["direction"].unique()):
        for score in wanted:
            run = at[(at["score"] == score) & (at["direction"] == direction)]
            if len(run):
                rows.append((score, direction, scores[scores["run_dir"] == run["run_dir"].iloc[0]]))
    return rows


def main() -> None:
    src, scores_src, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    data = sys.argv[4] if len(sys.argv) > 4 else "data"
    runs = photos.named(pd.read_csv(src))
    rows = picks(runs, pd.read_csv(scores_src))
    images = sources.load_cats_dogs(data, download=False)["all"].images  # (2000, 3, 32, 32)
    fig, axes = plt.subplots(len(rows), 2, figsize=(11, 0.85 * len(rows) + 0.6), squeeze=False)
    for (score, direction, run), (left, right) in zip(rows, axes, strict=True):
        ranked = run.sort_values("rank")
        for ax, anomalous, what in ((left, False, "false alarms"), (right, True, "anomalies")):
            top = ranked[ranked["is_anomaly"].astype(bool) == anomalous].head(SHOWN)
            groups = top["group"].to_numpy()
            ax.imshow(tile(images[top["source_index"].to_numpy()], groups, cols=SHOWN))
            ax.axis("off")
            nominal = photos.DIRECTIONS[direction].split(" nominal")[0]
            ax.set_title(f"{score} ({nominal} nominal): top {what}", fontsize=8)
    fig.tight_layout()
    write_atomic(out, lambda tmp: fig.savefig(tmp, dpi=110, format="png"))


if __name__ == "__main__":
    main()
