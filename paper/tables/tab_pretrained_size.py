"""Table: EfficientNet-Lite0 input size against feature-extraction seconds, AUROC (A1, A2) and the
clutter sensitivity (AUROC of cluttered vs clean nominal images; 0.5 = ignores clutter), on one
clutter set (see conf/experiment/pretrained_size.yaml).

`python -m paper.tables.tab_pretrained_size RESULTS.csv OUT.md`; reads only the results.
"""

import sys
from pathlib import Path

import pandas as pd

from deepad.store import write_text


def table(results: pd.DataFrame) -> pd.DataFrame:
    results = results[results["status"].fillna("ok") == "ok"]
    wide = results.pivot_table(
        index="input_size",
        columns="features",
        values=["auroc", "clutter_sensitivity", "seconds_features"],
    )
    out = pd.DataFrame(
        {
            "feature seconds": wide[("seconds_features", "a1")],  # A2 reuses A1's forward pass
            "A1 AUROC": wide[("auroc", "a1")],
            "A2 AUROC": wide[("auroc", "a2")],
            "A1 clutter sensitivity": wide[("clutter_sensitivity", "a1")],
            "A2 clutter sensitivity": wide[("clutter_sensitivity", "a2")],
        }
    )
    out.index.name = "input size (px)"
    return out


def threads(results: pd.DataFrame) -> str:
    """The torch threads the seconds were measured with ('2 threads'), if the runs recorded it."""
    if "torch_threads" not in results or results["torch_threads"].isna().all():
        return "threads not recorded"
    n = sorted(int(t) for t in results["torch_threads"].dropna().unique())
    return f"{'/'.join(map(str, n))} torch thread{'s' if n != [1] else ''}"


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    first = results.iloc[0]
    md = (
        f"EfficientNet-Lite0 input size: clutter MNIST, nominal {first['nominal']}, n = {first['n']} "
        f"images, {threads(results)} on this 2-core CPU, one run per cell (no interval) "
        f"(commit {first['git_commit']})\n\n" + table(results).to_markdown(floatfmt=".3f") + "\n"
    )
    write_text(out, md)
    write_text(out.with_suffix(".tex"), table(results).to_latex(float_format="%.3f"))


if __name__ == "__main__":
    main()
