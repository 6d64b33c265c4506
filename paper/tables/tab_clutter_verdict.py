"""Table: the proposal's clutter claim as a function of its settings (the clutter sweep).

The claim: feature scores (A1, A2; the DBN's free energy) ignore background clutter that makes
reconstruction error (RE) raise false alarms. Measured per run by the *clutter sensitivity*, the
AUROC of cluttered against clean nominal images (0.5 = the score ignores clutter, 1 = it ranks every
cluttered image above every clean one). For each one-knob setting of conf/clutter_setting/ and each
network, a feature score is paired with the same network's RE (the pretrained network has no
decoder: with the H2O AE's RE, the proposal's baseline) over the class units (data set x nominal
class, seeds averaged): the median difference score - RE with its 95% bootstrap interval, the
two-sided Wilcoxon signed-rank p and the Holm p over every test of the table. The claim *holds* in
a cell where the score's sensitivity is lower than RE's (Holm p < 0.05) *and* the score ranks the
anomalies at least as well as RE, both against the cluttered nominal images (`auroc_vs_clutter`)
and overall (AUROC), each no lower than RE's minus MARGIN: a constant or near-chance score is as
clutter-blind as can be and still cannot hold. *lower, ranks worse*: less sensitive but not that;
*fails*: more sensitive; *tie*: no difference shown. Beside the pooled test, each data set's count
of units where the score is less sensitive (pooling can hide opposite data sets).

The premise first (`premise`): per setting, data set and network, RE's sensitivity against 0.5
(one-sample Wilcoxon over that data set's class units, Holm within each setting): does RE flag
the cluttered nominal images at all?

`python -m paper.tables.tab_clutter_verdict RESULTS.csv OUT.md` writes OUT.md and
OUT.tex; reads only the collected results file (paper/results/clutter_sweep.csv).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

from deepad.store import write_text
from paper import common
from paper.common import with_methods

ALPHA = 0.05
MARGIN = 0.02  # "at least as well as RE": no more than this below RE's AUROC
VALUE = "clutter_sensitivity"
RANKING = ("auroc_vs_clutter", "auroc")  # anomalies vs cluttered nominal images, and overall
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
        ranking = {
            metric: results.groupby(["clutter_setting", "method"])[metric].mean()
            if metric in results
            else pd.Series(dtype=float)
            for metric in RANKING
        }
        lower = per_dataset_lower(results, score, ref)
        for _, r in cmp.iterrows():
            m = means[means["clutter_setting"] == r["clutter_setting"]].set_index("method")
            at = r["clutter_setting"]
            ranks = {
                f"{who}_{metric}": ranking[metric].get((at, name), np.nan)
                for metric in RANKING
                for who, name in (("score", score), ("re", ref))
            }
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
                    **ranks,
                    **{f"lower in {d}": n for d, n in lower.get(at, {}).items()},
                }
            )
    table = pd.DataFrame(rows)
    if not len(table):
        return table
    table["p_holm"] = common.holm(table["p_value"])  # one family: every test of the table
    table["verdict"] = [verdict(r) for _, r in table.iterrows()]
    order = {s: i for i, s in enumerate(SETTINGS)}
    return table.sort_values(
        ["setting", "network", "score"], key=lambda c: c.map(order) if c.name == "setting" else c
    ).reset_index(drop=True)


def verdict(r) -> str:
    """holds / lower, ranks worse / fails / tie for one row of `verdicts` (module docstring)."""
    if r["p_holm"] >= ALPHA:
        return "tie"
    if r["median difference"] > 0:
        return "fails"
    ranks = all(r[f"score_{m}"] >= r[f"re_{m}"] - MARGIN for m in RANKING)  # NaN: cannot hold
    return "holds" if ranks else "lower, ranks worse"


def per_dataset_lower(results: pd.DataFrame, score: str, ref: str) -> dict[str, dict[str, str]]:
    """setting -> data set -> "k/n": units (seeds averaged) where the score is less sensitive."""
    means = results[results["method"].isin([score, ref])].groupby(
        ["clutter_setting", "dataset", "unit", "method"]
    )[VALUE].mean().unstack("method")  # fmt: skip
    out: dict[str, dict[str, str]] = {}
    if score not in means or ref not in means:
        return out
    both = means[[score, ref]].dropna()
    for (setting, dataset), part in both.groupby(level=["clutter_setting", "dataset"]):
        out.setdefault(setting, {})[dataset] = f"{int((part[score] < part[ref]).sum())}/{len(part)}"
    return out


def premise(results: pd.DataFrame) -> pd.DataFrame:
    """Per (setting, data set, network): RE's clutter sensitivity, its mean over the data set's
    units with the interval, the one-sample Wilcoxon p against 0.5 and Holm over the premise."""
    results = prepared(results)
    rows = []
    refs = sorted({ref for _, _, ref in pairs(results)})
    for (setting, dataset, method), part in results[results["method"].isin(refs)].groupby(
        ["clutter_setting", "dataset", "method"]
    ):
        units = part.groupby("unit")[VALUE].mean().to_numpy()
        groups = [g[VALUE].to_numpy(float) for _, g in part.groupby("unit")]
        lo, hi = common.two_level(groups)
        diff = units - 0.5
        nonzero = diff[diff != 0]
        p = wilcoxon(nonzero).pvalue if len(nonzero) else 1.0
        rows.append(
            {"setting": setting, "dataset": dataset, "RE": method, "mean": units.mean(),
             "lo": lo, "hi": hi, "units": len(units), "above 0.5": int((diff > 0).sum()),
             "p_value": float(p)}
        )  # fmt: skip
    table = pd.DataFrame(rows)
    if not len(table):
        return table
    by_setting = table.groupby("setting")["p_value"]  # a family per setting (its question)
    table["p_holm"] = by_setting.transform(lambda v: pd.Series(common.holm(v), index=v.index))
    table["verdict"] = [
        "not shown" if q >= ALPHA else "RE flags clutter" if m > 0.5 else "RE avoids clutter"
        for q, m in zip(table["p_holm"], table["mean"], strict=True)
    ]
    order = {s: i for i, s in enumerate(SETTINGS)}
    return table.sort_values(
        ["setting", "dataset", "RE"], key=lambda c: c.map(order) if c.name == "setting" else c
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
        f"(Holm p < {ALPHA}) and ranks the anomalies (against cluttered nominal images, and "
        f"overall) no more than {MARGIN} below RE; lower, ranks worse: less sensitive only; "
        "fails: more sensitive; tie: no difference shown. Lower in: units per data set where the "
        "score is less sensitive"
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
    per_data = [c for c in table.columns if c.startswith("lower in ")]
    shown = shown[
        [
            "setting", "network", "score", "RE sensitivity", "score sensitivity", "units",
            "score lower", *per_data, "median difference", "Wilcoxon p", "Holm p", "verdict",
        ]
    ]  # fmt: skip
    knobs = settings(units)
    first = premise(results)
    first_shown = first.assign(
        sensitivity=[common.cell(*v) for v in first[["mean", "lo", "hi"]].itertuples(index=False)],
        **{"Holm p": first["p_holm"].map("{:.2g}".format)},
    )[["setting", "dataset", "RE", "sensitivity", "units", "above 0.5", "Holm p", "verdict"]]
    md = (
        f"{caption}\n\n**Settings** (one knob changed from `base` each)\n\n"
        f"{knobs.to_markdown(index=False)}\n\n**The premise: RE's clutter sensitivity against "
        "0.5** (per data set; one-sample Wilcoxon over its units, Holm within each setting)"
        f"\n\n{first_shown.to_markdown(index=False)}\n\n"
        f"**Verdict by setting**\n\n"
        f"{verdict_map(table).to_markdown()}\n\n**Tests**\n\n{shown.to_markdown(index=False)}\n"
    )
    write_text(out, md)
    write_text(out.with_suffix(".tex"), shown.to_latex(index=False))


if __name__ == "__main__":
    main()
