"""Table: which of the paper's verdicts survive a reproduction on another machine. Every paired,
Holm-corrected verdict of sections 2, 3, 4 and 6 is computed twice, by the same table code: from
the committed results and from a full `make reproduce` on another machine of the same kind
(paper/results/rerun/; the caption names the commits of both, which must compute the same, so
that only float rounding differs, which the DBN's sampling amplifies). A verdict that differs
between the two is fragile: a finding of neither machine.

`python -m paper.tables.tab_fragile RESULTS_DIR RERUN_DIR OUT.md`; reads only the collected
results (ovr, deep, beyond, clutter_sweep; selection.json and peers.csv from RESULTS_DIR for both).
"""

import json
import sys
from pathlib import Path

import pandas as pd

from deepad.store import write_text
from paper import common
from paper.tables import tab_beyond, tab_clutter_verdict, tab_deep, tab_wilcoxon

FAMILIES = {
    "wilcoxon": "2: feature score vs RE (one-vs-rest)",
    "deep": "3: deeper networks, feature vs RE",
    "clutter": "4: clutter sweep, score vs RE",
    "beyond": "6: new methods vs the proposal and peers",
}


def verdicts(results: Path, shared: Path) -> pd.DataFrame:
    """Every verdict of the paper from one results folder: family, test, verdict."""
    ovr, deep = pd.read_csv(results / "ovr.csv"), pd.read_csv(results / "deep.csv")
    parts = []
    w = tab_wilcoxon.table(ovr)
    w["test"] = w["dataset"] + ", p = " + w["p"].astype(str) + ": " + w["comparison"]
    parts.append(w.assign(family="wilcoxon")[["family", "test", "verdict"]])
    _, d = tab_deep.table(tab_deep.combined(ovr, deep))
    d["verdict"] = d.apply(common.verdict, axis=1)
    d["test"] = d["dataset"] + ": " + d["comparison"]
    parts.append(d.assign(family="deep")[["family", "test", "verdict"]])
    c = tab_clutter_verdict.verdicts(pd.read_csv(results / "clutter_sweep.csv"))
    c["test"] = c["setting"] + ": " + c["score"] + " vs " + c["RE"]
    parts.append(c.assign(family="clutter")[["family", "test", "verdict"]])
    selection = json.loads((shared / "selection.json").read_text())
    peers = pd.read_csv(shared / "peers.csv") if (shared / "peers.csv").is_file() else None
    runs = tab_beyond.runs(ovr, pd.read_csv(results / "beyond.csv"), selection, peers)
    b = tab_beyond.paired(runs)
    b["test"] = b["dataset"] + ": " + b["comparison"]
    parts.append(b.assign(family="beyond")[["family", "test", "verdict"]])
    return pd.concat(parts, ignore_index=True)


def drift(results: Path, rerun: Path) -> pd.DataFrame:
    """Per network, over every run both folders hold: the share with the same AUROC to the last
    digit, and the largest |difference| of AUROC and AP."""
    parts = []
    for name in ("ovr", "deep", "beyond", "clutter_sweep"):
        a, b = pd.read_csv(results / f"{name}.csv"), pd.read_csv(rerun / f"{name}.csv")
        both = a.merge(b[["run_dir", "auroc", "ap"]], on="run_dir", suffixes=("", "_rerun"))
        parts.append(both[["model", "features", "auroc", "ap", "auroc_rerun", "ap_rerun"]])
    runs = pd.concat(parts, ignore_index=True).dropna(subset=["auroc"])
    runs["network"] = runs["model"].where(runs["features"] != "raw", "raw pixels")
    runs["same"] = runs["auroc"] == runs["auroc_rerun"]
    runs["d_auroc"] = (runs["auroc"] - runs["auroc_rerun"]).abs()
    runs["d_ap"] = (runs["ap"] - runs["ap_rerun"]).abs()
    return (
        runs.groupby("network")
        .agg(
            runs=("same", "size"),
            same_auroc=("same", "mean"),
            max_d_auroc=("d_auroc", "max"),
            max_d_ap=("d_ap", "max"),
        )  # fmt: skip
        .sort_values("max_d_auroc")
        .reset_index()
    )


def drift_summary(d: pd.DataFrame) -> str:
    worst = d.iloc[-1]
    exact = d.loc[d["same_auroc"] == 1, "network"].tolist()
    return (
        f"The rerun moves {worst['network']} most: up to {worst['max_d_auroc']:.4f} AUROC and "
        f"{worst['max_d_ap']:.4f} AP, with {worst['same_auroc']:.0%} of its runs unchanged; "
        f"unchanged in every run: {', '.join(exact) or 'none'}."
    )


def table(paper: pd.DataFrame, rerun: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per family: verdicts, the same on both machines, fragile; and the fragile ones."""
    both = paper.merge(rerun, on=["family", "test"], suffixes=("", " (rerun)"), how="outer")
    both["same"] = both["verdict"] == both["verdict (rerun)"]
    tab = both.groupby("family", sort=False).agg(verdicts=("test", "size"), same=("same", "sum"))
    tab["fragile"] = tab["verdicts"] - tab["same"]
    tab = tab.reindex([f for f in FAMILIES if f in tab.index])
    tab.index = tab.index.map(FAMILIES)
    fragile = both.loc[~both["same"], ["family", "test", "verdict", "verdict (rerun)"]]
    fragile["family"] = fragile["family"].map(FAMILIES)
    return tab.reset_index(), fragile.reset_index(drop=True)


def summary(tab: pd.DataFrame, fragile: pd.DataFrame) -> str:
    n, same = int(tab["verdicts"].sum()), int(tab["same"].sum())
    moved = "; ".join(
        f"{test} ({here} here, {there} on the rerun)"
        for test, here, there in fragile[["test", "verdict", "verdict (rerun)"]].to_numpy()
    )
    return (
        f"Of the paper's {n} paired verdicts, {same} are the same on both machines and "
        f"{n - same} {'is' if n - same == 1 else 'are'} fragile" + (f": {moved}." if moved else ".")
    )


def commits(folder: Path) -> str:
    """The commits that made a results folder's runs (the four files this table reads)."""
    found = {
        str(c)[:7]
        for name in ("ovr", "deep", "beyond", "clutter_sweep")
        for c in pd.read_csv(folder / f"{name}.csv")["git_commit"].dropna()
    }
    return ", ".join(sorted(found))


def main() -> None:
    results, rerun, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    tab, fragile = table(verdicts(results, results), verdicts(rerun, results))
    moved = drift(results, rerun)
    caption = (
        "Verdicts on two machines: each paired, Holm-corrected verdict of the paper computed from "
        f"the committed results (commits {commits(results)}) and from a full rerun on another "
        f"2-core AMD EPYC machine ({rerun}, commits {commits(rerun)}); counts of verdicts (no "
        "interval: a verdict is the same or not)"
    )
    drift_caption = (
        "Per network, over every run of both result sets: the share of runs with the same AUROC to the last "
        "digit and the largest |difference| of AUROC and AP (maxima over the runs, no interval)"
    )
    md = (
        f"{drift_caption}\n\n{moved.to_markdown(index=False, floatfmt='.4f')}\n\n"
        f"{drift_summary(moved)}\n\n"
        f"{caption}\n\n{tab.to_markdown(index=False)}\n\n"
        + (f"{fragile.to_markdown(index=False)}\n\n" if len(fragile) else "")
        + f"{summary(tab, fragile)}\n"
    )
    write_text(out, md)
    write_text(out.with_suffix(".tex"), tab.to_latex(index=False))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
