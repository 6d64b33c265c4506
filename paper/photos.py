"""What the natural-photo scripts share (the proposal's cats-and-dogs question on CIFAR-10 photos):
each run's score name, and per run, what its nominal false alarms look like by the label-free
measures of `deepad.data.measures` (clutter, contrast, brightness, saturation).

Per run (one score, one direction, one rate, one seed), among the nominal photos only:
- `rho_<m>`: Spearman's rank correlation of the score with measure m;
- `top_<m>`: the false-alarm enrichment, the share of the run's k highest-scored nominal photos
  (k = its number of anomalies) in the top quartile of m among its nominal photos (chance: 0.25).

Units: two directions (cats nominal, dogs nominal) cannot carry a test over classes, so intervals
and tests pair the (direction, seed) draws of one rate: a seed redraws the anomalies and the
networks, not the nominal photos. Intervals resample the seeds within each direction and average
the two directions (`unit_ci`); tests are paired t-tests over the draws, Holm-corrected per
question, rate and one-knob setting (`knob`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr, ttest_1samp

from paper import common

MEASURES = ("clutter", "contrast", "brightness", "saturation")
CHANCE = 0.25  # the top quartile's share of nominal photos
DIRECTIONS = {"0": "cats nominal, dogs anomalous", "1": "dogs nominal, cats anomalous"}
NAMED = {  # named methods (conf/method/) as the photo tables print them
    "raw_if": "raw pixels IF",
    "raw_knn": "raw pixels kNN",
    "raw_knncos": "raw pixels kNN cosine",
    "ensemble": "rank ensemble (section 6)",
    "pyod_iforest": "PyOD IForest",
    "pyod_knn": "PyOD KNN",
    "pyod_pca": "PyOD PCA",
    "pyod_ecod": "PyOD ECOD",
    "pre_knn": "EffNet-Lite0 kNN",
}


TRAINED = ("ae_h2o", "ae_dense", "ae_conv")  # the AEs whose training length is a knob


def named(results: pd.DataFrame) -> pd.DataFrame:
    """Finished runs with a `score` column: 'AE RE', 'EffNet-Lite0 A1 @ 224 px', 'PyOD PCA'; an
    autoencoder trained for fewer epochs than the most its model got here (the one-knob check,
    cats_dogs_short.yaml) is 'AE RE (30 epochs)'."""
    results = results[results["status"].fillna("ok") == "ok"].copy()
    longest = results[results["model"].isin(TRAINED)].groupby("model")["epochs"].max()
    names = []
    for _, r in results.iterrows():
        method = r.get("method")
        if isinstance(method, str) and method in NAMED:
            name = NAMED[method]
        else:
            name = common.method_name(r["model"], r["features"], r["detector"], r.get("a2_layers"))
        if r["model"] == "pretrained" and not np.isnan(r.get("input_size", np.nan)):
            name += f" @ {int(r['input_size'])} px"
        if r["model"] in longest.index and r["epochs"] < longest[r["model"]]:
            name += f" ({int(r['epochs'])} epochs)"
        names.append(name)
    results["score"] = names
    results["direction"] = results["nominal"].astype(str)
    return results


def false_alarms(scores: pd.DataFrame, measures: pd.DataFrame) -> pd.DataFrame:
    """Per run_dir: rho_<m> and top_<m> (module docstring), from the collected per-image scores
    and the per-image measures (joined on source_index)."""
    table = scores.merge(measures, on="source_index", how="left", validate="m:1")
    rows = []
    for run_dir, part in table.groupby("run_dir", sort=False):
        nominal = part[~part["is_anomaly"].astype(bool)]
        k = int(part["is_anomaly"].astype(bool).sum())
        top = nominal.sort_values("rank").head(k)  # rank 1 = most anomalous; ties by the seed
        row = {"run_dir": run_dir, "k": k}
        for m in MEASURES:
            row[f"rho_{m}"] = float(spearmanr(nominal["score"], nominal[m]).statistic)
            cut = nominal[m].quantile(1 - CHANCE)
            row[f"top_{m}"] = float((top[m] > cut).mean()) if k else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def unit_ci(frame: pd.DataFrame, value: str, seed: int = 0) -> tuple[float, float, float]:
    """Mean over directions of the seed-mean of `value`, with a 95% bootstrap interval that
    resamples the seeds within each direction (rows: one per direction and seed)."""
    groups = [g[value].to_numpy(dtype=float) for _, g in frame.groupby("direction")]
    groups = [g[~np.isnan(g)] for g in groups]
    groups = [g for g in groups if len(g)]
    if not groups:
        return (np.nan, np.nan, np.nan)
    mean = float(np.mean([g.mean() for g in groups]))
    if all(len(g) < 2 for g in groups):
        return (mean, np.nan, np.nan)
    rng = np.random.default_rng(seed)
    draws = np.mean(
        [g[rng.integers(0, len(g), size=(common.RESAMPLES, len(g)))].mean(1) for g in groups],
        axis=0,
    )
    lo, hi = np.quantile(draws, [(1 - common.CI) / 2, (1 + common.CI) / 2])
    return mean, float(lo), float(hi)


def paired_p(frame: pd.DataFrame, a: str, b: str, value: str) -> tuple[float, float, int]:
    """Score a against score b on `value`, paired over (direction, seed): mean difference a - b,
    two-sided paired t-test p, and the number of pairs (frame: one rate's runs)."""
    wide = frame.pivot_table(index=["direction", "seed"], columns="score", values=value)
    if a not in wide or b not in wide:
        return (np.nan, np.nan, 0)
    diff = (wide[a] - wide[b]).dropna().to_numpy()
    if len(diff) < 2:
        return (float(diff.mean()) if len(diff) else np.nan, np.nan, len(diff))
    p = 1.0 if np.allclose(diff, diff[0]) and diff[0] == 0 else ttest_1samp(diff, 0).pvalue
    return float(diff.mean()), float(p), len(diff)


def against_chance(frame: pd.DataFrame, value: str) -> float:
    """Two-sided one-sample t-test p of `value` against the chance share, over the draws."""
    values = frame[value].dropna().to_numpy(dtype=float)
    if len(values) < 2 or np.allclose(values, values[0]):
        return np.nan
    return float(ttest_1samp(values, CHANCE).pvalue)


def commits(runs: pd.DataFrame) -> str:
    """The short commits that made these runs, for a caption."""
    return ", ".join(sorted(runs["git_commit"].dropna().astype(str).str[:7].unique()))


def scores_in(results: pd.DataFrame, order: Sequence[str]) -> list[str]:
    """The scores of `order` that the results hold, then the others by name and input size."""
    present = set(results["score"])

    def key(name: str) -> tuple[str, int]:
        base, _, size = name.partition(" @ ")
        return base, int(size.split()[0]) if size else 0

    return [s for s in order if s in present] + sorted(present - set(order), key=key)


def draws(results: pd.DataFrame, scores: pd.DataFrame, measures: pd.DataFrame) -> pd.DataFrame:
    """One row per finished run: its score, direction, rate, seed, AUROC, AP and its false-alarm
    statistics (`false_alarms`)."""
    runs = named(results)
    stats = false_alarms(scores[scores["run_dir"].isin(runs["run_dir"])], measures)
    return runs.merge(stats, on="run_dir", how="left", validate="1:1")


RE_OF = {  # a score -> the reconstruction error of the same network (the proposal's baseline)
    "AE A1": "AE RE",
    "AE A2": "AE RE",
    "Deep AE A1": "Deep AE RE",
    "Deep AE A2": "Deep AE RE",
    "Conv AE A1": "Conv AE RE",
    "Conv AE A2": "Conv AE RE",
    "DBN A1": "DBN RE",
    "DBN A2": "DBN RE",
    "DBN free energy": "DBN RE",
}
MARGIN = 0.02  # "ranks the anomalies at least as well as RE": AUROC no lower than RE's minus this
ALPHA = 0.05


def premise(frame: pd.DataFrame) -> pd.DataFrame:
    """Question 1, per rate: does each network's RE send its false alarms to the top quartile of a
    measure more (or less) often than chance? Mean share [interval], t-test p against 0.25, Holm
    over the question's tests at that rate."""
    rows = []
    for p, part in frame.groupby("contamination"):
        for re in sorted(set(baselines(part["score"].unique()).values())):
            runs = part[part["score"] == re]
            if runs.empty:
                continue
            for m in MEASURES:
                mean, lo, hi = unit_ci(runs, f"top_{m}")
                rho = unit_ci(runs, f"rho_{m}")[0]
                rows.append(
                    {"p": p, "RE": re, "measure": m, "share": mean, "lo": lo, "hi": hi,
                     "rho": rho, "p_value": against_chance(runs, f"top_{m}"), "draws": len(runs)}
                )  # fmt: skip
    table = pd.DataFrame(rows)
    if len(table):
        family = [table["p"], table["RE"].map(knob)]
        table["p_holm"] = table.groupby(family)["p_value"].transform(lambda s: common.holm(s))
        table["verdict"] = [
            "not shown" if not q < ALPHA else ("enriched" if share > CHANCE else "depleted")
            for q, share in zip(table["p_holm"], table["share"], strict=True)
        ]
    return table


def knob(score: str) -> str:
    """The one-knob setting a score was run at: '30 epochs' for 'AE RE (30 epochs)', else ''.
    Each setting is a Holm family of its own (per question and rate)."""
    return score.partition(" (")[2].rstrip(")")


def baselines(scores: Sequence[str]) -> dict[str, str]:
    """Each feature score and the RE it is judged against: its own network's (`RE_OF`; 'AE A1
    (30 epochs)' against 'AE RE (30 epochs)'); for EfficientNet-Lite0, which has no decoder, the
    H2O AE's (the proposal's baseline)."""
    out = {}
    for score in scores:
        base, paren, knob = score.partition(" (")
        if base in RE_OF:
            out[score] = RE_OF[base] + paren + knob
        elif score.startswith("EffNet-Lite0"):
            out[score] = "AE RE"
    return out


def remedy(frame: pd.DataFrame, measure: str = "clutter") -> pd.DataFrame:
    """Question 2, per rate: is a feature score's false-alarm enrichment for `measure` lower than
    its baseline RE's (`baselines`), while it ranks the anomalies at least as well (AUROC >= RE's
    - MARGIN and its interval above 0.5)? Paired over the draws, Holm over the question's tests at
    that rate. A score that reacts to nothing (enrichment 0.25, AUROC 0.5) cannot hold."""
    rows = []
    pairs = baselines(scores_in(frame, list(RE_OF)))
    for p, part in frame.groupby("contamination"):
        pairs_here = {a: b for a, b in pairs.items() if {a, b} <= set(part["score"])}
        for score, re in pairs_here.items():
            diff, pval, n = paired_p(part, score, re, f"top_{measure}")
            auc, auc_lo, _ = unit_ci(part[part["score"] == score], "auroc")
            re_auc = unit_ci(part[part["score"] == re], "auroc")[0]
            rows.append(
                {"p": p, "score": score, "RE": re, "difference": diff, "p_value": pval,
                 "pairs": n, "auroc": auc, "auroc_lo": auc_lo, "re_auroc": re_auc}
            )  # fmt: skip
    table = pd.DataFrame(rows)
    if len(table):
        family = [table["p"], table["score"].map(knob)]
        table["p_holm"] = table.groupby(family)["p_value"].transform(lambda s: common.holm(s))
        table["verdict"] = [verdict(r) for r in table.itertuples(index=False)]
    return table


def verdict(r) -> str:
    """holds / fails / not shown for one row of `remedy` (its docstring)."""
    lower = r.p_holm < ALPHA and r.difference < 0
    detects = r.auroc_lo > 0.5 and r.auroc >= r.re_auroc - MARGIN
    if lower and detects:
        return "holds"
    if r.p_holm < ALPHA and r.difference > 0:
        return "fails"
    return "fewer clutter alarms, detects no better" if lower else "not shown"


WINDOW = 10  # epochs over which a curve's final relative change is measured


def convergence(curves: pd.DataFrame) -> pd.DataFrame:
    """Per network (and DBN layer): epochs trained and the final relative change of its training
    loss, (L[t-WINDOW] - L[t]) / L[t-WINDOW] / WINDOW per epoch at its last epoch t."""
    loss = curves[curves["metric"] == "train/loss"]
    rows = []
    for (model, key, layer), net in loss.groupby(["model", "model_key", "layer"]):
        values = net.sort_values("epoch")["value"].to_numpy()
        w = min(WINDOW, len(values) - 1)
        change = (values[-w - 1] - values[-1]) / values[-w - 1] / w if w > 0 else np.nan
        rows.append(
            {"model": model, "model_key": key, "layer": layer, "epochs": len(values),
             "final_change": change}
        )  # fmt: skip
    return pd.DataFrame(rows)
