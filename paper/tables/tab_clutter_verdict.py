"""Table: the proposal's clutter claim as a function of its settings (the clutter sweep).

The claim: feature scores (A1, A2; the DBN's free energy) ignore background clutter that makes
reconstruction error (RE) raise false alarms. Measured per run by the *clutter sensitivity*, the
AUROC of cluttered against clean nominal images (0.5 = the score ignores clutter, 1 = it ranks every
cluttered image above every clean one). For each one-knob setting of conf/clutter_setting/ and each
network, a feature score is paired with the same network's RE (the pretrained network has no
decoder: with the H2O AE's RE, the proposal's baseline) over the class units (data set x nominal
class, seeds averaged): the median difference score - RE with its 95% bootstrap interval, the
two-sided Wilcoxon signed-rank p and the Holm p over every test of the table. The claim *holds* in
a cell where the score's sensitivity is lower than RE's (Holm p < 0.05), *fails* where it is
higher, and is a *tie* otherwise.

`python -m paper.tables.tab_clutter_verdict RESULTS.csv OUT.md` writes OUT.md and
OUT.tex; reads only the collected results file (paper/results/clutter_sweep.csv).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from deepad.store import write_text
from paper import common
from paper.common import with_methods

ALPHA = 0.05
VALUE = "clutter_sensitivity"
NETWORKS = {  # model -> (network, its RE reference method)
    "ae_h2o": ("AE 784-50-784", "AE RE"),
    "dbn": ("DBN 784-500-200", "DBN RE"),
    "ae_dense": ("Deep AE 784-256-64", "Deep AE RE"),
    "ae_conv": ("Conv AE", "Conv AE RE"),
    "pretrained": ("EffNet-Lite0 (ImageNet)", "AE RE"),
}
SETTINGS = ["base", "q01", "q02", "q10", "faint", "short", "full"]  # conf/clutter_setting/


def prepared(results: pd.DataFrame) -> pd.DataFrame:
    """Finished runs with `method` and `unit` (data set : nominal class)."""
    results, _ = with_methods(results)
    results = results[results[VALUE].notna()].copy()
    results["unit"] = results["dataset"].astype(str) + ":" + results["nominal"].astype(str)
    return results


def settings(results: pd.DataFrame) -> pd.DataFrame:
    """Per setting, what it is, read from its runs: q, strength, AE epochs, nominal images."""
    nets = results[results["model"].isin(["ae_h2o", "ae_dense", "ae_conv"])]
    rows = []
    for name, part in results.groupby("clutter_setting"):
        epochs = nets.loc[nets["clutter_setting"] == name, "epochs"].dropna()
        rows.append(
            {
                "setting": name,
                "q": float(part["clutter_share"].iloc[0]),
                "strength": float(part["clutter_strength"].iloc[0]),
                "AE epochs": int(epochs.iloc[0]) if len(epochs) else np.nan,
                "nominal images": int(round((part["n"] - part["n_anomalies"]).median())),
            }
        )
    order = {s: i for i, s in enumerate(SETTINGS)}
    return (
        pd.DataFrame(rows).sort_values("setting", key=lambda s: s.map(order)).reset_index(drop=True)
    )


def pairs(results: pd.DataFrame) -> list[tuple[str, str, str]]:
    """(network, score, its RE) for every feature score present."""
    out = []
    for model, (network, ref) in NETWORKS.items():
        scores = results.loc[(results["model"] == model) & (results["features"] != "re"), "method"]
        for score in sorted(scores.unique()):
            if "raw" not in score:
                out.append((network, score, ref))
    return out


def verdicts(results: pd.DataFrame) -> pd.DataFrame:
    """One row per (setting, network, score): mean sensitivities, the paired test, the verdict."""
    results = prepared(results)
    rows = []
    for network, score, ref in pairs(results):
        cmp = common.compare(results, [(score, ref)], ["clutter_setting"], VALUE, unit="unit")
        means = common.mean_ci(
            results[results["method"].isin([score, ref])], ["clutter_setting"], VALUE, "unit"
        )
        for _, r in cmp.iterrows():
            m = means[means["clutter_setting"] == r["clutter_setting"]].set_index("method")
            rows.append(
                {
                    "setting": r["clutter_setting"],
                    "network": network,
                    "score": score,
                    "RE": ref,
                    "RE sensitivity": common.cell(*m.loc[ref, ["mean", "lo", "hi"]]),
                    "score sensitivity": common.cell(*m.loc[score, ["mean", "lo", "hi"]]),
                    "re_mean": m.loc[ref, "mean"],
                    "score_mean": m.loc[score, "mean"],
                    "units": r["classes"],
                    "score lower": r["losses"],
                    "median difference": r["median difference"],
                    "lo": r["lo"],
                    "hi": r["hi"],
                    "p_value": r["p_value"],
                }
            )
    table = pd.DataFrame(rows)
    if not len(table):
        return table
    table["p_holm"] = common.holm(table["p_value"])  # one family: every test of the table
    table["verdict"] = [
        "tie" if p >= ALPHA else "holds" if d < 0 else "fails"
        for p, d in zip(table["p_holm"], table["median difference"], strict=True)
    ]
    order = {s: i for i, s in enumerate(SETTINGS)}
    return table.sort_values(
        ["setting", "network", "score"], key=lambda c: c.map(order) if c.name == "setting" else c
    ).reset_index(drop=True)


def verdict_map(table: pd.DataFrame) -> pd.DataFrame:
    """Score x setting -> holds / fails / tie (blank: not run at that setting)."""
    present = [s for s in SETTINGS if s in set(table["setting"])]
    wide = table.pivot(index="score", columns="setting", values="verdict")[present].fillna("")
    order = list(dict.fromkeys(table["score"]))
    return wide.loc[order]


def main() -> None:
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    results = pd.read_csv(src)
    table = verdicts(results)
    units = prepared(results)
    seeds = sorted(units["seed"].unique().tolist())
    caption = (
        "Clutter verdict: clutter sensitivity (AUROC of cluttered vs clean nominal images; 0.5 = "
        "ignores clutter) of each feature score against its network's RE (EffNet-Lite0: against "
        "the H2O AE's RE), paired over class units (data set x nominal class; "
        f"{units['unit'].nunique()} units, seeds {seeds} averaged first). Cells: mean over units "
        f"[{common.UNCERTAINTY.replace('nominal classes', 'class units')}]; median difference "
        "score - RE with its 95% bootstrap interval; two-sided Wilcoxon signed-rank p, Holm-"
        f"corrected over all {len(table)} tests. holds: the score is less sensitive than RE "
        f"(Holm p < {ALPHA}); fails: more sensitive; tie: no difference shown"
    )
    shown = table.assign(
        **{
            "median difference": [
                common.cell(*v)
                for v in table[["median difference", "lo", "hi"]].itertuples(index=False)
            ],
            "Wilcoxon p": table["p_value"].map("{:.2g}".format),
            "Holm p": table["p_holm"].map("{:.2g}".format),
        }
    )
    shown = shown[
        [
            "setting", "network", "score", "RE sensitivity", "score sensitivity", "units",
            "score lower", "median difference", "Wilcoxon p", "Holm p", "verdict",
        ]
    ]  # fmt: skip
    knobs = settings(units)
    md = (
        f"{caption}\n\n**Settings** (one knob changed from `base` each)\n\n"
        f"{knobs.to_markdown(index=False)}\n\n**Verdict by setting**\n\n"
        f"{verdict_map(table).to_markdown()}\n\n**Tests**\n\n{shown.to_markdown(index=False)}\n"
    )
    write_text(out, md)
    write_text(out.with_suffix(".tex"), shown.to_latex(index=False))


if __name__ == "__main__":
    main()
