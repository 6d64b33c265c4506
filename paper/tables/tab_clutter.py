"""Table: background clutter on MNIST (the proposal's Figure 1). Per nominal class and method: AUROC
of anomalies against all nominal images; the clutter sensitivity, AUROC of cluttered against clean
nominal images (0.5 = the score ignores clutter, 1 = it ranks every cluttered image first; unlike a
top-k share it has no ceiling set by the number of cluttered images); and the AUROC of anomalies
against cluttered nominal images only.

`python paper/tables/tab_clutter.py RESULTS.csv OUT.md [README.md]` writes OUT.md and OUT.tex (and
the table between README's `results:clutter` markers); reads only the collected results file.
"""

import sys
from pathlib import Path

import pandas as pd

from deepad.report import with_methods
from deepad.store import write_between_markers, write_text

METRICS = {
    "auroc": "AUROC (anomalies vs all nominal)",
    "clutter_sensitivity": "clutter sensitivity (cluttered vs clean nominal; 0.5 = ignores clutter)",
    "auroc_vs_clutter": "AUROC of anomalies vs cluttered nominal",
}


def tables(results: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One table per metric: nominal class x method, with the mean over classes."""
    results, order = with_methods(results)
    out = {}
    for metric, label in METRICS.items():
        if metric not in results:
            continue
        part = results.pivot_table(index="nominal", columns="method", values=metric, aggfunc="mean")
        part = part[order]
        part.loc["mean"] = part.mean()
        out[label] = part
    return out


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    tabs = tables(results)
    commit = ", ".join(sorted(results["git_commit"].astype(str).unique()))
    md = (
        f"Clutter MNIST: p = {results['contamination'].iloc[0]} anomalies (other digits), "
        f"q = {results['clutter_share'].iloc[0]} of nominal images on natural textures; "
        f"cells = mean over seeds {sorted(results['seed'].unique().tolist())} (the frozen "
        f"pretrained network: seed 0 only); A1, A2 and raw pixels scored by Isolation Forest "
        f"(commit {commit})\n"
    )
    md += "".join(
        f"\n**{label}**\n\n{t.to_markdown(floatfmt='.3f')}\n" for label, t in tabs.items()
    )
    write_text(out, md)
    latex = [f"% {label}\n" + t.to_latex(float_format="%.3f") for label, t in tabs.items()]
    write_text(out.with_suffix(".tex"), "\n".join(latex))
    if len(sys.argv) > 3:
        write_between_markers(Path(sys.argv[3]), "results:clutter", md)


if __name__ == "__main__":
    main()
