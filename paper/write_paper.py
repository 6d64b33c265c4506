"""Write paper.md from paper/paper.in.md: every number comes from the collected results.

`python -m paper.write_paper TEMPLATE.md RESULTS_DIR TABLES_DIR OUT.md` replaces
- `{{table:NAME}}` with TABLES_DIR/NAME.md,
- `{{optional_table:NAME}}` with TABLES_DIR/NAME.md if its experiment ran, else NOT_RUN[NAME],
- `{{figure:NAME}}` with the image figures/NAME.png (relative to OUT.md),
- `{{KIND:ARG:...}}` with a number computed here from RESULTS_DIR/*.csv (see VALUES); a number the
  profile did not produce (e.g. p = 0.01 in the quick profile) reads "n/a" and is listed on stderr.
"""

import importlib
import json
import math
import re
import sys
from pathlib import Path

import pandas as pd

from deepad.store import write_text
from paper import common
from paper.common import DETECTOR_NAMES, with_methods


def table_script(name: str):
    """paper/tables/tab_NAME.py as a module: its tests and cited numbers, not a copy of them."""
    return importlib.import_module(f"paper.tables.tab_{name}")


COLUMNS = [
    "dataset",
    "contamination",
    "nominal",
    "seed",
    "method",
    "auroc",
    "ap",
    "input_size",
    "git_commit",
]


def load(results_dir: Path, name: str) -> pd.DataFrame:
    """A collected results file with its methods; empty if the profile did not make it."""
    path = results_dir / f"{name}.csv"
    if not path.is_file():
        return pd.DataFrame(columns=[*COLUMNS, "seconds_total", "model_cache", "features", "model"])
    return with_methods(pd.read_csv(path))[0]


FLAT = 0.01  # a training curve is called flat when its median last-epoch change is below 1%


def listing(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def ovr_values(ovr: pd.DataFrame) -> dict[str, str]:
    """Means, intervals, paired tests and the computed comparisons of the one-vs-rest matrix."""
    out: dict[str, str] = {}
    if not len(ovr):
        return out
    ci = common.mean_ci(ovr, ["dataset", "contamination"])
    for r in ci.itertuples(index=False):
        key = f"{r.dataset}:{r.contamination:g}:{r.method}"
        out[f"auroc:{key}"] = f"{r.mean:.3f}"
        out[f"ci:{key}"] = f"[{r.lo:.3f}, {r.hi:.3f}]"
    for (d, p, m), part in ovr.groupby(["dataset", "contamination", "method"]):
        out[f"ap:{d}:{p:g}:{m}"] = f"{part['ap'].mean():.3f}"
    tests = table_script("wilcoxon").table(ovr)
    for r in tests.rename(columns={"median difference": "median_difference"}).itertuples(
        index=False
    ):
        a, b = r.comparison.split(" vs ")
        key = f"{r.dataset}:{r.p:g}:{a}:{b}"
        out[f"wins:{key}"] = f"{r.wins}/{r.classes}"
        out[f"holm:{key}"] = f"{r.p_holm:.2g}"
    for (d, c), part in tests.groupby(["dataset", "comparison"]):  # the verdict across p
        verdicts = sorted(set(part["verdict"]))
        a, b = c.split(" vs ")
        out[f"verdicts:{d}:{a}:{b}"] = (
            f"{verdicts[0]} at every p"
            if len(verdicts) == 1
            else "; ".join(
                f"{v} at p = {', '.join(f'{p:g}' for p in part.loc[part['verdict'] == v, 'p'])}"
                for v in verdicts
            )
        )
    significant = tests[tests["verdict"] != "no difference shown"]
    out["tests:by_family"] = "; ".join(  # one Holm family per p: counts are never pooled across
        f"p = {p:g}: {int((part['verdict'] != 'no difference shown').sum())} of {len(part)}"
        for p, part in tests.groupby("p")
    )
    feature_wins = significant[significant["median difference"] > 0]  # the first (non-RE) higher
    out["tests:feature_wins"] = (
        "none"
        if feature_wins.empty
        else listing(
            [f"{r.comparison} on {r.dataset} at p = {r.p:g}" for r in feature_wins.itertuples()]
        )
    )
    lo, hi = ovr["contamination"].min(), ovr["contamination"].max()
    for d, part in ci.groupby(
        "dataset"
    ):  # which score loses most AUROC from the lowest to the highest p
        wide = part.pivot(index="method", columns="contamination", values="mean")
        if lo in wide and hi in wide:
            drop = (wide[lo] - wide[hi]).sort_values(ascending=False)
            out[f"drops:{d}"] = listing([f"{m} {v:.3f}" for m, v in drop.items()])
            out[f"fastest:{d}"] = f"{drop.index[0]} ({drop.iloc[0]:.3f})"
    spread = table_script("seed_spread").table(ovr)
    worst = spread.loc[spread["largest range"].idxmax()]
    out["spread:worst"] = (
        f"{worst['method']} on {worst['dataset']} class {worst['its class']}: "
        f"{worst['largest range']:.3f}"
    )
    out["spread:median_range"] = (
        f"{spread['median range over classes'].min():.3f}-{spread['median range over classes'].max():.3f}"
    )
    best = (
        ci[ci["contamination"] == 0.1]
        .sort_values("mean", ascending=False)
        .groupby("dataset")
        .head(1)
    )
    for r in best.itertuples(index=False):
        out[f"best:{r.dataset}:0.1"] = f"{r.method} ({r.mean:.3f})"
    return out


def deep_values(ovr: pd.DataFrame, deep: pd.DataFrame, curves: pd.DataFrame) -> dict[str, str]:
    """The deeper networks, the detectors and convergence at p = 0.1."""
    out: dict[str, str] = {}
    if len(deep) and len(ovr):
        both = table_script("deep").combined(ovr, deep)
        ci = common.mean_ci(both, ["dataset"])
        for r in ci.itertuples(index=False):
            out[f"deep:{r.dataset}:{r.method}"] = f"{r.mean:.3f}"
        _, tests = table_script("deep").table(both)
        out["deep:tests"] = str(len(tests))
        out["deep:feature_beats_re"] = str(
            int(((tests["median difference"] > 0) & (tests["p_holm"] < 0.05)).sum())
        )
        out["deep:re_beats_feature"] = str(
            int(((tests["median difference"] < 0) & (tests["p_holm"] < 0.05)).sum())
        )
        wins = tests[(tests["median difference"] > 0) & (tests["p_holm"] < 0.05)]
        out["deep:feature_wins"] = (
            "none"
            if wins.empty
            else listing([f"{r.comparison} on {r.dataset}" for r in wins.itertuples()])
        )
        tab = table_script("detectors")
        det = tab.intervals(tab.runs(ovr, deep))  # the detector table's numbers
        for (d, score), part in det.groupby(["dataset", "score"]):
            means = dict(zip(part["detector"].map(DETECTOR_NAMES), part["mean"], strict=True))
            for c, v in means.items():
                out[f"det:{d}:{score}:{c}"] = f"{v:.3f}"
            out[f"detrange:{d}:{score}"] = f"{max(means.values()) - min(means.values()):.3f}"
            out[f"detbest:{d}:{score}"] = max(means, key=means.get)
        trained = pd.concat([ovr, deep])  # seconds to train one network, from the runs
        trained = trained[trained["model_cache"] == "miss"].groupby("model")["seconds_train"].mean()
        if {"ae_conv", "ae_h2o"} <= set(trained.index):
            out["train:conv_vs_ae"] = f"{trained['ae_conv'] / trained['ae_h2o']:.0f}"
        cells = ovr[["dataset", "nominal", "contamination"]].drop_duplicates()
        full = len(cells) * ovr["seed"].nunique()  # every p with every seed
        runs = pd.concat([ovr, deep])
        networks = runs.dropna(subset=["model_key"]).groupby("model")["model_key"].nunique()
        missing = {  # networks the full p x seed matrix would need that were not trained
            m: full - int(networks.get(m, 0))
            for m in ("ae_h2o", "dbn", "ae_dense", "ae_conv")
            if m in trained.index
        }
        hours = sum(trained[m] * n for m, n in missing.items()) / 3600
        out["train:dropped_core_hours"] = f"{hours:.1f}"
        for m, n in missing.items():
            out[f"train:dropped:{m}"] = str(n)
        if "epochs_trained" in deep:
            conv = deep[(deep["model"] == "ae_conv") & (deep["model_cache"] == "miss")]
            epochs = conv["epochs_trained"].dropna()
            if len(epochs):
                out["train:conv_epochs_median"] = f"{epochs.median():g}"
                out["train:conv_epochs_range"] = f"{epochs.min():g}-{epochs.max():g}"
    if len(curves):
        conv = table_script("convergence").table(curves)
        out["conv:last_median_max"] = f"{conv['last_median'].max():.3g}"
        out["conv:last_median_min"] = f"{conv['last_median'].min():.3g}"
        worst = conv.loc[conv["last_max"].idxmax()]
        out["conv:worst"] = f"{worst['curve']} on {worst['dataset']} ({worst['last_max']:.3g})"
        out["conv:networks"] = str(curves["model_key"].nunique())
        flat = conv["last_median"] < FLAT  # the stated rule: under 1% change over the last epoch
        out["conv:curves"] = str(len(conv))
        out["conv:flat"] = str(int(flat.sum()))
        moving = conv[~flat]
        out["conv:moving"] = (
            "none"
            if moving.empty
            else listing(
                [f"{r.curve} on {r.dataset} ({r.last_median:.1%})" for r in moving.itertuples()]
            )
        )
    return out


def epochs_values(results_dir: Path) -> dict[str, str]:
    """The convergence rule and the epochs-sensitivity check: per network type, the share of
    networks whose loss meets the plateau rule at its last epoch (chosen length, and twice it),
    and how many verdicts of the Wilcoxon table move when the AE and the DBN train twice as long."""
    out: dict[str, str] = {}
    conv = table_script("convergence")
    patience, delta = conv.rule()
    out["conv:rule"] = (
        f"each of its last {patience} epochs lowered the loss by less than {delta:.0%}"
    )
    for name, label in (("deep_curves", "chosen"), ("epochs_check_curves", "twice")):
        path = results_dir / f"{name}.csv.gz"
        if not path.is_file():
            continue
        nets = conv.per_network(pd.read_csv(path))
        nets = nets[nets["metric"] == "train/loss"]
        names = [
            conv.curve_name(*k)
            for k in zip(nets["model"], nets["layer"], nets["metric"], strict=True)
        ]
        met = nets.assign(curve=names).groupby("curve")["met"].agg(["sum", "size"])
        out[f"conv:met:{label}"] = listing(
            [f"{c.removesuffix(' loss')} {int(r['sum'])} of {r['size']}" for c, r in met.iterrows()]
        )
        final = nets.assign(curve=names).groupby("curve")["final"].median()
        out[f"conv:final:{label}"] = listing(
            [f"{c.removesuffix(' loss')} {v:.4f}" for c, v in final.items()]
        )
    twice = results_dir / "epochs_check.csv"
    if twice.is_file() and (results_dir / "ovr.csv").is_file():
        tab = table_script("epochs")
        runs = pd.read_csv(twice)
        check = tab.table(pd.read_csv(results_dir / "ovr.csv"), runs)
        out["epochs:moved"] = f"{int(check['moved'].sum())} of {len(check)}"
        moved = check[check["moved"]]
        out["epochs:moved_list"] = (
            "none"
            if moved.empty
            else listing(
                [
                    f"{r['comparison']} on {r['dataset']} ({r['chosen: verdict']} -> "
                    f"{r['twice: verdict']})"
                    for _, r in moved.iterrows()
                ]
            )
        )
        lengths = runs.groupby("model")["epochs_trained"].max()
        out["epochs:lengths"] = listing([f"{m} {int(e)}" for m, e in lengths.items()])
    return out


def sweep_values(sweep: pd.DataFrame) -> dict[str, str]:
    """The clutter sweep's verdicts (tab_clutter_verdict's tests): counts, and per score the
    settings where the claim holds, fails or ties; RE's and each score's mean sensitivity."""
    if not len(sweep) or "clutter_setting" not in sweep:
        return {}
    verdict = table_script("clutter_verdict")
    table = verdict.verdicts(sweep)
    if not len(table):
        return {}
    units = verdict.prepared(sweep)
    out = {
        "sweep:runs": str(len(sweep)),
        "sweep:units": str(units["unit"].nunique()),
        "sweep:seeds": ", ".join(str(s) for s in sorted(units["seed"].unique())),
        "sweep:tests": str(len(table)),
        "sweep:settings": str(table["setting"].nunique()),
    }
    for v in ("holds", "fails", "tie", "lower, ranks worse"):
        out[f"sweep:{v}"] = str(int((table["verdict"] == v).sum()))
    out["sweep:margin"] = f"{verdict.MARGIN:g}"
    first = verdict.premise(sweep)
    out["sweep:premise"] = "\n".join(
        f"- {setting}: "
        + "; ".join(f"{r.RE} on {r.dataset} {r.mean:.3f} ({r.verdict})" for r in part.itertuples())
        for setting, part in first.groupby("setting", sort=False)
    )
    flags = first[first["verdict"] == "RE flags clutter"]
    out["sweep:premise_count"] = "; ".join(
        f"{setting}: {int((part['verdict'] == 'RE flags clutter').sum())} of {len(part)}"
        for setting, part in first.groupby("setting", sort=False)
    )
    out["sweep:premise_fails"] = (
        listing([f"{r.RE} on {r.dataset} at {r.setting}" for r in
                 first[first["verdict"] != "RE flags clutter"].itertuples()])
        if len(flags) < len(first) else "none"
    )  # fmt: skip
    lines = []
    for score, part in table.groupby("score", sort=False):
        said = [
            f"{v} at {listing(part.loc[part['verdict'] == v, 'setting'].tolist())}"
            for v in ("holds", "lower, ranks worse", "fails", "tie")
            if (part["verdict"] == v).any()
        ]
        lines.append(f"- {score} (against {part['RE'].iloc[0]}): {'; '.join(said)}")
    out["sweep:by_score"] = "\n".join(lines)
    for r in table.itertuples(index=False):
        out[f"sweep:sens:{r.setting}:{r.score}"] = f"{r.score_mean:.3f}"
        out[f"sweep:sens:{r.setting}:{r.RE}"] = f"{r.re_mean:.3f}"
    return out


def beyond_values(results_dir: Path) -> dict[str, str]:
    """Issue 11's methods: their means, the targets, the tests against the proposal's best score,
    seconds per set and the settings chosen on the test split (selection.json)."""
    out: dict[str, str] = {}
    path, chosen = results_dir / "beyond.csv", Path(__file__).resolve().parent / "results"
    chosen = chosen / "selection.json"
    if not path.is_file() or not (results_dir / "ovr.csv").is_file() or not chosen.is_file():
        return out
    tab = table_script("beyond")
    selection = json.loads(chosen.read_text())
    peers_path = results_dir / "peers.csv"  # make peers, if it ran
    peers = pd.read_csv(peers_path) if peers_path.is_file() else None
    ovr = pd.read_csv(results_dir / "ovr.csv")
    results = tab.runs(ovr, pd.read_csv(path), selection, peers)
    keys = results.dropna(subset=["key"]).drop_duplicates("method").set_index("method")["key"]
    name = {m: keys.get(m, m) for m in results["method"].unique()}  # table name -> method key
    ci = common.mean_ci(results, ["dataset"])
    for r in ci.itertuples(index=False):
        out[f"beyond:auroc:{r.dataset}:{name[r.method]}"] = f"{r.mean:.3f}"
        out[f"beyond:ci:{r.dataset}:{name[r.method]}"] = f"[{r.lo:.3f}, {r.hi:.3f}]"
    for ds in tab.DATASETS:
        part = ci[ci["dataset"] == ds].set_index("method")["mean"]
        if part.empty:
            continue
        best, goal = part.idxmax(), selection["targets"][ds]
        out[f"beyond:best:{ds}"] = f"{best} ({part[best]:.3f})"
        out[f"beyond:best_key:{ds}"] = str(name[best])
        out[f"beyond:target:{ds}"] = (
            f"met ({part[best]:.3f} >= {goal})"
            if part[best] >= goal
            else f"missed by {goal - part[best]:.3f} ({part[best]:.3f} against {goal})"
        )
        cited = {m: v[list(tab.DATASETS).index(ds)] for m, v in tab.PUBLISHED.items()}
        top = max(cited, key=cited.get)
        gap = part[best] - cited[top]
        out[f"beyond:vs_published:{ds}"] = (
            f"{abs(gap):.3f} {'above' if gap > 0 else 'below'} the best published mean for "
            f"this protocol ({top} {cited[top]:.3f}; a difference of two means, not a test: the "
            "published cells give no per-class values or seeds)"
        )
        old = part[[m for m in part.index if m in tab.PROPOSAL]]
        out[f"beyond:best_proposal:{ds}"] = f"{old.idxmax()} ({old.max():.3f})"
    cmp = tab.paired(results)
    peer_names = set(results.loc[results["peer"], "method"])
    for r in cmp.itertuples(index=False):
        a, b = r.comparison.split(" vs ")
        ds = {v: k for k, v in tab.DATASETS.items()}[r.dataset]
        key = f"peer:{name[b]}" if b in peer_names else name[a]  # best new vs a peer: by the peer
        out[f"beyond:wins:{ds}:{key}"] = f"{r.wins}/{r.classes}"
        out[f"beyond:holm:{ds}:{key}"] = f"{r.p_holm:.2g}"
        out[f"beyond:verdict:{ds}:{key}"] = r.verdict
    for family, label in tab.FAMILIES.items():
        out[f"beyond:tests:{family}"] = str(int((cmp["family"] == label).sum()))
    if peers is not None:
        for ds in tab.DATASETS:
            part = ci[(ci["dataset"] == ds) & ci["method"].isin(peer_names)].set_index("method")
            if part.empty:
                continue
            best = part["mean"].idxmax()
            out[f"beyond:best_peer:{ds}"] = (
                f"{tab.PEERS[name[best]]} ({part.loc[best, 'mean']:.3f})"
            )
            out[f"beyond:best_peer_key:{ds}"] = str(name[best])
            vs = [r for r in cmp.itertuples(index=False) if r.dataset == tab.DATASETS[ds]]
            vs = [r for r in vs if r.comparison.split(" vs ")[1] in peer_names]
            above = sum(r.verdict == f"{r.comparison.split(' vs ')[0]} higher" for r in vs)
            below = sum(r.verdict == f"{r.comparison.split(' vs ')[1]} higher" for r in vs)
            out[f"beyond:peers_below:{ds}"] = f"{above} of {len(vs)}"  # shown below our best
            out[f"beyond:peers_above:{ds}"] = f"{below} of {len(vs)}"  # shown above it
        raw = ovr[(ovr["features"] == "raw") & (ovr["contamination"] == tab.P)]
        same = raw.merge(
            peers[peers["method"] == "pyod_iforest"], on=["dataset", "nominal", "seed"]
        )
        gap = (same["auroc_x"] - same["auroc_y"]).abs()
        out["beyond:iforest_same"] = f"{int((gap < 5e-4).sum())} of {len(same)}"
        out["beyond:iforest_gap"] = f"{gap.max():.4f}" if len(same) else "n/a"
        out["beyond:peers_core_minutes"] = f"{peers['seconds_total'].sum() / 60:.0f}"
        out["beyond:peer_seeds"] = listing(
            [f"{tab.PEERS[k]} {n}" for k, n in results[results["peer"]].groupby("key")["seed"]
             .nunique().reindex(list(tab.PEERS)).dropna().astype(int).items()]
        )  # fmt: skip
    for m, v in tab.seconds(results, selection).items():
        out[f"beyond:seconds:{name[m]}"] = f"{v:.1f}"
    out["beyond:members"] = listing(selection["ensemble"]["members"])
    n = len(selection["ensemble_all"]["members"])  # every candidate method, each at its chosen k
    out["beyond:subsets"] = str(sum(math.comb(n, r) for r in (2, 3, 4)))  # select_settings's
    out["beyond:size"] = str(selection["chosen_input_size"])
    for m, k in selection["chosen_k"].items():
        out[f"beyond:k:{m}"] = f"{k:g}"
    out["beyond:k_grid"] = ", ".join(f"{k:g}" for k in selection["k_grid"])
    for m, knobs in selection.get("chosen_knobs", {}).items():  # the PyOD peers' size knobs
        ((knob, value),) = knobs.items()
        grid = [c for c in selection["candidates"] if c.startswith(f"{m}@{knob}=")]
        grid.sort(key=lambda c: float(c.partition("=")[2]))
        means = [
            sum(selection["candidates"][c][d] for d in tab.DATASETS) / len(tab.DATASETS)
            for c in grid
        ]
        out[f"beyond:knob:{m}"] = f"{value:g}"
        out[f"beyond:knob_grid:{m}"] = ", ".join(c.partition("=")[2] for c in grid)
        out[f"beyond:knob_spread:{m}"] = f"{max(means) - min(means):.3f}"
    out["beyond:free_k"] = f"{selection['ensemble_all']['k']:g}"
    out["beyond:free_members"] = str(n)
    for ds in tab.DATASETS:
        out[f"beyond:test:{ds}"] = f"{selection['ensemble'][ds]:.3f}"
        out[f"beyond:free_test:{ds}"] = f"{selection['ensemble_all'][ds]:.3f}"
    out["beyond:seeds:ae_trim"] = str(results.loc[results["key"] == "ae_trim", "seed"].nunique())
    return out


def rates_values(results_dir: Path) -> dict[str, str]:
    """Issue 11's methods at every p, seed 0 (beyond_rates.csv, `make rates`): the paragraph on the
    ensemble's mean per (data set, p) and at how many rates it is shown above or below the
    proposal's best; a sentence saying it was not run when its results are not there."""
    path = results_dir / "beyond_rates.csv"
    chosen = Path(__file__).resolve().parent / "results" / "selection.json"
    if not path.is_file() or not (results_dir / "ovr.csv").is_file() or not chosen.is_file():
        return {
            "rates:text": "`make rates` (outside `make reproduce`, like `make peers`) runs the "
            "new methods but the trimmed-loss AE on seed 0's one-vs-rest sets at every p; it has "
            "not been run for these results (its earlier table was made with other networks and "
            "is not reported)."
        }
    tab = table_script("beyond_rates")
    selection = json.loads(chosen.read_text())
    results = tab.runs(pd.read_csv(results_dir / "ovr.csv"), pd.read_csv(path), selection)
    ci = common.mean_ci(results, ["dataset", "contamination"])
    ensemble = ci[ci["method"].isin(results.loc[results["key"] == "ensemble", "method"])]
    cmp = tab.paired(results)
    said = {}
    for ds, label in tab.BEYOND.DATASETS.items():
        part = ensemble[ensemble["dataset"] == ds].sort_values("contamination")
        said[f"ensemble:{ds}"] = ", ".join(f"{m:.3f}" for m in part["mean"])
        rows = cmp[cmp["dataset"] == label]
        higher = sum(v.endswith("higher") and not v.startswith(tuple(tab.BEYOND.PROPOSAL))
                     for v in rows["verdict"])  # fmt: skip
        lower = sum(v.startswith(tuple(tab.BEYOND.PROPOSAL)) for v in rows["verdict"])
        said[f"higher:{ds}"] = f"{higher} of {len(rows)}"
        said[f"lower:{ds}"] = f"{lower} of {len(rows)}"
        said[f"wins:{ds}"] = f"{int(rows['wins'].sum())} of {int(rows['classes'].sum())}"
    rates = listing([f"{p:g}" for p in sorted(results["contamination"].unique())])
    text = (
        "`make rates` (outside `make reproduce`, like `make peers`) runs the new methods but the "
        f"trimmed-loss AE on seed 0's one-vs-rest sets at p = {rates}; the proposal's scores are "
        "section 2's seed-0 runs. The rank ensemble's mean AUROC at these rates is "
        f"{said['ensemble:mnist']} on MNIST and {said['ensemble:fashion_mnist']} on Fashion-MNIST. "
        "Against the proposal's best score at each (data set, p), paired over classes (Holm over "
        f"the {len(cmp)} tests, the one family), it is shown higher at {said['higher:mnist']} rates "
        f"on MNIST and {said['higher:fashion_mnist']} on Fashion-MNIST, and shown lower at "
        f"{said['lower:mnist']} and {said['lower:fashion_mnist']}; it is higher in {said['wins:mnist']} "
        f"and {said['wins:fashion_mnist']} (class, p) pairs."
    )
    return {"rates:text": text}


def levers_values(results_dir: Path) -> dict[str, str]:
    """Issue 31's photo levers (photo_levers.csv, `make levers`): the best lever of each kind, its
    mean against pre_knn's, and whether any reaches the photo target; a sentence saying it was not
    run when its results are not there."""
    path = results_dir / "photo_levers.csv"
    if not path.is_file():
        return {
            "levers:text": "`make levers` measures stronger ImageNet features of the same "
            "family and other detectors one at a time; it has not been run for these results."
        }
    tab = table_script("photo_levers")
    levers = pd.read_csv(path)
    means = levers.groupby(["group", "lever"])["auroc"].mean()  # the draws' mean, both directions
    base = float(means.xs(tab.BASE, level="lever").iloc[0])
    best = {g: means.xs(g, level="group").idxmax() for g in ("features", "detector")}
    said = {g: f"{lever} ({means[(g, lever)]:.3f})" for g, lever in best.items()}
    top = float(means.max())
    target = 0.85  # issue 31's photo target
    text = (
        "`make levers` (outside `make reproduce`) changes one thing at a time in pre_knn "
        f"({base:.3f} here): the best change of features is {said['features']}, the best "
        f"change of detector on Lite0's features is {said['detector']}; "
        + (f"none reaches issue 31's {target:.2f} (the best: {top:.3f}). "
           if top < target else f"the best reaches issue 31's {target:.2f} ({top:.3f}). ")
        + "They are measured on the reported photos, so they record what each lever does and "
        "choose nothing: the photo score stays pre_knn."
    )  # fmt: skip
    return {"levers:text": text}


def photo_protocol_values(results_dir: Path) -> dict[str, str]:
    """The photo autoencoders' protocol (photo_protocol.csv, `make protocol`): the chosen setting,
    its mean final loss and seconds against the earlier protocol's, from the same curves."""
    path = results_dir / "photo_protocol.csv"
    if not path.is_file():
        return {"photo:protocol": "`make protocol` has not been run for these results"}
    runs = pd.read_csv(path)
    per = runs.groupby("setting").agg(
        loss=("final_loss", "mean"),
        seconds=("seconds", "sum"),
        met=("meets_rule", "all"),
        n_met=("meets_rule", "sum"),
        n=("meets_rule", "size"),
    )
    chosen = str(runs.loc[runs.chosen, "setting"].iloc[0])
    earlier = next(name for name in per.index if name.startswith("earlier"))
    grid = per.drop(index=earlier)
    c, e = per.loc[chosen], per.loc[earlier]
    text = (
        f"of {len(grid)} settings, {int(grid.met.sum())} met the rule on every autoencoder; the "
        f"chosen one ({chosen}) ends at a mean loss of {c.loss:.4f} in {c.seconds:.0f} s for the "
        f"three; the earlier protocol ({earlier.removeprefix('earlier: ')}) at {e.loss:.4f} in "
        f"{e.seconds:.0f} s, {int(e.n_met)} of its {int(e.n)} curves meeting the rule"
    )
    return {"photo:protocol": text}


def ugly_values(results_dir: Path, ugly: pd.DataFrame) -> dict[str, str]:
    """Experiment 1: the digits its networks were fit on, and each score's rank correlation with
    ink mass (tab_ugly_digits's, mean over seeds)."""
    scores = results_dir / "ugly_digits_scores.csv.gz"
    measures = results_dir / "ugly_digits_measures.csv"
    if not len(ugly) or not scores.is_file() or not measures.is_file():
        return {}
    out = {}
    if "n_fit" in ugly and ugly["n_fit"].notna().any():
        out["ugly:n_fit"] = f"{int(ugly['n_fit'].dropna().iloc[0]):,}"
    rho = table_script("ugly_digits").ink(pd.read_csv(scores), ugly, pd.read_csv(measures))
    for method, values in rho.items():
        out[f"ugly:ink:{method}"] = f"{sum(values) / len(values):+.2f}"
    return out


def photo_values(results_dir: Path) -> dict[str, str]:
    """The natural-photo section (cats against dogs): run counts, training, AUROC per score, the
    input-size dependence, and the computed clutter verdicts of `paper.photos`."""
    from deepad.data.sources import CATS_DOGS_PER_CLASS, CATS_DOGS_SIDE
    from paper import photos

    names = ("cats_dogs.csv", "cats_dogs_scores.csv.gz", "cats_dogs_measures.csv")
    paths = {n: results_dir / n for n in (*names, "cats_dogs_curves.csv.gz")}
    if not all(p.is_file() for p in paths.values()):
        return {}
    frame = photos.draws(*(pd.read_csv(paths[n]) for n in names))
    out = {
        "photo:runs": str(len(frame)),
        "photo:seeds": str(frame.groupby(["direction", "contamination"])["seed"].nunique().max()),
        "photo:ps": ", ".join(f"{p:g}" for p in sorted(frame["contamination"].unique())),
        "photo:networks": str(frame.loc[frame["model"] != "pretrained", "model_key"].nunique()),
        "photo:margin": f"{photos.MARGIN:g}",
        "photo:chance": f"{photos.CHANCE:g}",
        "photo:nominal": f"{int((frame['n'] - frame['n_anomalies']).median()):,}",
        "photo:per_class": f"{CATS_DOGS_PER_CLASS:,}",
        "photo:side": str(CATS_DOGS_SIDE),
        "photo:sizes": ", ".join(
            str(int(s)) for s in sorted(frame["input_size"].dropna().unique())
        ),
        "photo:n": "-".join(dict.fromkeys(f"{n:,}" for n in (frame["n"].min(), frame["n"].max()))),
        "photo:window": str(photos.WINDOW),
    }
    nets = photos.convergence(pd.read_csv(paths["cats_dogs_curves.csv.gz"]))
    epochs = frame.dropna(subset=["epochs"]).groupby("model")["epochs"].max()
    for model, part in nets.groupby("model"):
        out[f"photo:epochs:{model}"] = f"{part['epochs'].median():.0f}"
        out[f"photo:epochs_range:{model}"] = f"{part['epochs'].min()}-{part['epochs'].max()}"
        out[f"photo:change:{model}"] = f"{100 * part['final_change'].median():.2f}%"
        out[f"photo:change_max:{model}"] = f"{100 * part['final_change'].max():.2f}%"
        if model != "dbn" and model in epochs:
            stopped = (part["epochs"] < epochs[model]).mean()
            out[f"photo:stopped:{model}"] = f"{100 * stopped:.0f}%"
            out[f"photo:max_epochs:{model}"] = f"{epochs[model]:.0f}"
    means = {s: photos.unit_ci(part, "auroc") for s, part in frame.groupby("score")}
    for score, (mean, lo, hi) in means.items():
        out[f"photo:auroc:{score}"] = common.cell(mean, lo, hi)
    nets_only = {s: v for s, v in means.items() if s in photos.RE_OF or s in photos.RE_OF.values()}
    if nets_only:
        lo_s, hi_s = (
            min(nets_only, key=lambda s: nets_only[s][0]),
            max(nets_only, key=lambda s: nets_only[s][0]),
        )
        out["photo:net_range"] = (
            f"{nets_only[lo_s][0]:.3f} ({lo_s}) to {nets_only[hi_s][0]:.3f} ({hi_s})"
        )
    best = max(means, key=lambda s: means[s][0])
    out["photo:best"] = f"{best}, {common.cell(*means[best])}"
    knn = {int(r.input_size): r for r in frame[frame["score"].str.startswith("EffNet-Lite0 kNN")]
           .groupby("input_size", as_index=False)["auroc"].mean().itertuples()}  # fmt: skip
    if knn:
        small, large = min(knn), max(knn)
        out["photo:knn_small"] = f"{knn[small].auroc:.3f} at {small} px"
        out["photo:knn_large"] = f"{knn[large].auroc:.3f} at {large} px"
    return {**out, **photo_verdicts(frame)}


def photo_verdicts(frame: pd.DataFrame) -> dict[str, str]:
    """The premise (RE's false alarms by measure) and the remedy (feature scores against RE on
    clutter), as generated sentences, and whether each verdict is the same at both rates."""
    from paper import photos

    out = {}
    premise, remedy = photos.premise(frame), photos.remedy(frame)
    lines = []
    for (baseline, p), part in premise.groupby(["RE", "p"], sort=False):
        said = "; ".join(
            f"{r.measure} {common.cell(r.share, r.lo, r.hi)} ({r.verdict}, Holm p {r.p_holm:.3f})"
            for r in part.itertuples(index=False)
        )
        lines.append(f"- {baseline}, p = {p:g}: {said}")
    out["photo:premise"] = "\n".join(lines)
    clutter = premise[premise["measure"] == "clutter"]
    out["photo:premise_clutter"] = "; ".join(  # per Holm family (rate, training length)
        f"{family}: {len(enriched)} of {len(part)} enriched for clutter"
        + (f" ({listing(enriched)})" if enriched else "")
        for family, part in families(clutter, "RE")
        for enriched in [part.loc[part["verdict"] == "enriched", "RE"].tolist()]
    )
    follows = []
    for baseline, part in premise.groupby("RE", sort=False):
        top = part.groupby("measure")["share"].mean().sort_values(ascending=False)
        enriched = part[part["verdict"] == "enriched"]["measure"].unique().tolist()
        follows.append(
            f"{baseline}: {top.index[0]} ({top.iloc[0]:.2f} of its false alarms in that measure's "
            "top quartile, mean over rates; enriched at some rate for "
            f"{listing(enriched) if enriched else 'no measure'})"
        )
    out["photo:follows"] = "; ".join(follows)
    lines = []
    for score, part in remedy.groupby("score", sort=False):
        said = "; ".join(
            f"p = {r.p:g}: {r.verdict} (clutter share {r.difference:+.2f} against {r.RE}, Holm p "
            f"{r.p_holm:.3f}; AUROC {r.auroc:.3f} against {r.re_auroc:.3f})"
            for r in part.itertuples(index=False)
        )
        lines.append(f"- {score}: {said}")
    out["photo:remedy"] = "\n".join(lines)
    verdicts = ("holds", "fails", "fewer clutter alarms, detects no better", "not shown")
    out["photo:remedy_counts"] = "; ".join(  # per Holm family, never pooled
        f"{family} ({len(part)} tests): "
        + ", ".join(f"{v} {n}" for v in verdicts if (n := int((part["verdict"] == v).sum())))
        for family, part in families(remedy, "score")
    )
    pre = remedy["score"].str.startswith("EffNet-Lite0")
    out["photo:own_holds"] = "; ".join(  # per Holm family, never pooled
        f"{family}: {len(held)} of {len(part)}"
        + (f" ({listing(held['score'].tolist())})" if len(held) else "")
        for family, part in families(remedy[~pre], "score")
        for held in [part[part["verdict"] == "holds"]]
    )
    always = remedy[pre].groupby("score")["verdict"].apply(lambda v: (v == "holds").all())
    out["photo:pre_holds"] = (
        f"{int(always.sum())} of the {len(always)} EfficientNet-Lite0 scores (every input size) "
        "hold at every rate"
        + (f"; not {listing(always[~always].index.tolist())}" if (~always).any() else "")
    )
    out["photo:remedy_tests"] = str(len(remedy))
    by_score = remedy.groupby("score")["verdict"].nunique()
    moved = by_score[by_score > 1].index.tolist()
    out["photo:epochs_stable"] = knob_stable(premise, remedy)
    rates = remedy["p"].nunique()
    out["photo:remedy_stable"] = (
        "one rate only, so whether a verdict survives a change of rate is not measured"
        if rates < 2
        else "every score's verdict is the same at each rate"
        if not moved
        else f"the verdict moves between the rates for {listing(moved)}"
    )
    return out


def mkl_values(results_dir: Path) -> dict[str, str]:
    """`make mkl-paths` (benchmarks/mkl_paths.py): whether MKL_CBWR=COMPATIBLE makes MKL's two code
    paths agree on a DBN, and what it costs in training time and matmul throughput."""
    path = results_dir / "mkl_paths.json"
    if not path.is_file():
        return {
            "mkl:verdict": "not measured for this profile (`make mkl-paths` writes it).",
            "mkl:taken": "not taken without a measurement",
        }
    m = json.loads(path.read_text())
    default, compatible = m["verdict"]["unset"], m["verdict"]["COMPATIBLE"]

    def agree(v: dict) -> str:
        return "give the same scores" if v["paths_agree"] else "give different scores"

    agrees, slower = compatible["paths_agree"], m["compatible_slowdown"]
    return {
        "mkl:verdict": (
            f"by default the two paths {agree(default)}; under the switch they {agree(compatible)}, "
            f"and the DBN trains in {compatible['train_seconds']:.1f} s instead of "
            f"{default['train_seconds']:.1f} s ({slower:.2f} times as long; matmuls at "
            f"{compatible['gflops']:.0f} against {default['gflops']:.0f} GFLOP/s; "
            f"{m['threads']} threads, best of {m['rounds']}, commit {str(m['commit'])[:7]})."
        ),
        "mkl:taken": (
            "not taken: it does not make the paths agree"
            if not agrees
            else f"not taken: it would make the DBN, and by its matmul rate every network of the paper, "
            f"train about {slower:.1f} "
            "times as long, in an hour's budget, to remove a drift that the tolerance of "
            "`make verify` and the fragile-verdict table already bound and name (a reader who "
            "needs bit-equal numbers across CPUs can set `MKL_CBWR=COMPATIBLE` themselves; the "
            "numbers are then those of neither path above)"
        ),
    }


def families(table: pd.DataFrame, column: str):
    """(name, rows) of each Holm family of a photo question: its rate and training length."""
    from paper import photos

    knob = table[column].map(photos.knob)
    for (p, k), part in table.groupby([table["p"], knob], sort=True):
        yield f"p = {p:g}" + (f", {k}" if k else ""), part


def knob_stable(premise: pd.DataFrame, remedy: pd.DataFrame) -> str:
    """Whether the photo verdicts survive the training-length knob: each score of the short
    training ('AE RE (30 epochs)') against the same score trained to the plateau, at its rate."""
    import re

    def pairs(table: pd.DataFrame, column: str) -> list[tuple[str, str, str, str]]:
        out = []
        for r in table.itertuples(index=False):
            name = getattr(r, column)
            short = re.fullmatch(r"(.+) \((\d+) epochs\)", name)
            if not short:
                continue
            base = table[(table[column] == short[1]) & (table["p"] == r.p)]
            if column == "RE":
                base = base[base["measure"] == r.measure]
            if len(base):
                what = f"{name} ({r.measure})" if column == "RE" else name
                out.append((what, short[2], base["verdict"].iloc[0], r.verdict))
        return out

    compared = pairs(premise, "RE") + pairs(remedy, "score")
    if not compared:
        return "the training length was not varied"
    moved = [f"{what}: {long} -> {short}" for what, _, long, short in compared if long != short]
    epochs = compared[0][1]
    return (
        f"at {epochs} epochs instead of the plateau, {len(compared) - len(moved)} of "
        f"{len(compared)} verdicts (premise by measure, and remedy) are the same"
        + (f"; moved: {'; '.join(moved)}" if moved else "")
    )


def protocol_values() -> dict[str, str]:
    """The protocol's constants as the configs state them (conf/), not typed into the text."""
    from deepad.config import compose
    from deepad.data.measures import MARGIN
    from deepad.data.sources import COUNTS

    def net(name: str):
        return compose([f"model={name}", "logger=none"])

    pixels = 28 * 28
    ae, dense, conv, dbn = net("ae_h2o"), net("ae_dense"), net("ae_conv"), net("dbn")

    def batch(cfg) -> str:  # a model's own batch size, else the trainer's (as training.fit)
        return str(cfg.model.get("batch_size") or cfg.trainer.batch_size)

    def layers(hidden) -> str:
        sizes = [pixels, *hidden]
        return "-".join(map(str, sizes + sizes[-2::-1]))

    def setting(name: str):
        return compose(["dataset=clutter_mnist", f"+clutter_setting={name}", "logger=none"])

    base = setting("base")
    q = [setting(n).dataset.clutter.share for n in ("q01", "q02", "q10")]
    classes = 10
    photo = compose(["+experiment=cats_dogs", "logger=none"])  # the full profile's photo settings
    return {
        "conf:photo:patience": str(photo.model.stop_patience),
        "conf:photo:min_delta": f"{photo.model.stop_min_delta:.1%}",
        "conf:photo:batch": batch(photo),
        "conf:photo:lr": f"{photo.model.lr:g}",
        "conf:photo:schedule": SCHEDULE[photo.model.get("lr_schedule", "constant")],
        "conf:measures:margin": f"{MARGIN:.0%}",
        "conf:data:train": f"{COUNTS['train']:,}",
        "conf:ae:layers": layers(ae.model.hidden),
        "conf:ae:activation": ae.model.activation,
        "conf:ae:epochs": str(ae.trainer.max_epochs),
        "conf:ae:batch": batch(ae),
        "conf:ae:lr": f"{ae.model.lr:g}",
        "conf:ae:schedule": SCHEDULE[ae.model.get("lr_schedule", "constant")],
        "conf:dense:lr": f"{dense.model.lr:g}",
        "conf:dense:batch": batch(dense),
        "conf:conv:lr": f"{conv.model.lr:g}",
        "conf:conv:batch": batch(conv),
        "conf:dbn:lr": f"{dbn.model.lr:g}",
        "conf:dbn:schedule": SCHEDULE[dbn.model.get("lr_schedule", "constant")],
        "conf:dense:layers": layers(dense.model.hidden),
        "conf:dense:activation": dense.model.activation,
        "conf:conv:channels": ", ".join(map(str, conv.model.channels)),
        "conf:conv:code": str(conv.model.code),
        "conf:conv:code_activation": conv.model.code_activation,
        "conf:conv:epochs": str(conv.trainer.max_epochs),
        "conf:conv:min_delta": f"{conv.model.stop_min_delta:.0%}",
        "conf:conv:patience": str(conv.model.stop_patience),
        "conf:conv:min_epochs": str(conv.model.stop_min_epochs),
        "conf:dbn:patience": str(dbn.model.stop_patience),
        "conf:dbn:min_delta": f"{dbn.model.stop_min_delta:.0%}",
        "conf:dbn:layers": "-".join(map(str, [pixels, *dbn.model.sizes])),
        "conf:dbn:k": str(dbn.model.k),
        "conf:dbn:epochs_per_layer": str(dbn.model.epochs_per_layer),
        "conf:dbn:momentum": " → ".join(map(str, dbn.model.momentum)),
        "conf:dbn:a2_units": str(sum(dbn.model.sizes)),
        "conf:iforest:trees": str(ae.detector.n_estimators),
        "conf:min_p": f"2/2^{classes} = {2 / 2**classes:.3f}",
        "conf:knn:k": str(compose(["detector=knn", "logger=none"]).detector.k),
        "conf:knn_rel:k": f"{compose(['detector=knn_rel', 'logger=none']).detector.k:.0%}",
        "conf:clutter:q": f"{base.dataset.clutter.share:g}",
        "conf:clutter:cap": f"{base.dataset.cap:,}",
        "conf:clutter:strength": f"{base.dataset.clutter.strength:g}",
        "conf:clutter:p": f"{base.dataset.contamination:g}",
        "conf:clutter:epochs": str(base.trainer.max_epochs),
        "conf:clutter:q_values": ", ".join(f"{v:g}" for v in q),
        "conf:clutter:faint": f"{setting('faint').dataset.clutter.strength:g}",
        "conf:clutter:short": str(setting("short").trainer.max_epochs),
    }


def values(results_dir: Path) -> dict[str, str]:
    """Every number the template may cite, by key."""
    ovr, ugly = load(results_dir, "ovr"), load(results_dir, "ugly_digits")
    sweep, size = load(results_dir, "clutter_sweep"), load(results_dir, "pretrained_size")
    clutter = sweep[sweep["clutter_setting"] == "base"] if "clutter_setting" in sweep else sweep
    deep = load(results_dir, "deep")
    curves_path = results_dir / "deep_curves.csv.gz"
    curves = pd.read_csv(curves_path) if curves_path.is_file() else pd.DataFrame()
    out = ovr_values(ovr)
    out.update(protocol_values())
    out.update(deep_values(ovr, deep, curves))
    published = table_script("published")
    for method, numbers in published.PUBLISHED.items():  # cited, with their source, in that table
        for dataset, value in zip(published.DATASETS, numbers[:2], strict=True):
            out[f"published:{dataset}:{method}"] = f"{value:.3f}"
            ours = out.get(f"auroc:{dataset}:0.1:raw pixels")
            if method.startswith("Isolation Forest") and ours is not None:
                out[f"gap:{dataset}:raw pixels"] = f"{float(ours) - value:+.3f}"
    out.update(sweep_values(sweep))
    out.update(beyond_values(results_dir))
    out.update(rates_values(results_dir))
    out.update(levers_values(results_dir))
    out.update(photo_protocol_values(results_dir))
    out.update(epochs_values(results_dir))
    out.update(photo_values(results_dir))
    out.update(ugly_values(results_dir, ugly))
    out.update(mkl_values(results_dir))
    out["stats:resamples"] = f"{common.RESAMPLES:,}"
    out["runs:ovr"] = str(len(ovr))
    out["models:ovr"] = str(int((ovr["model_cache"] == "miss").sum()))
    out["classes:ovr"] = str(ovr["nominal"].nunique())
    seeds = ovr.groupby("contamination")["seed"].nunique()
    out["seeds:ovr"] = str(seeds.max())  # at p = 0.1 (ovr's first slice)
    rates = seeds[seeds < seeds.max()]
    out["seeds:ovr_rates"] = (
        f"{rates.max()} seed at p = {', '.join(f'{p:g}' for p in rates.index)}"
        if len(rates)
        else "the same seeds at every p"
    )
    out["ps:ovr"] = ", ".join(f"{p:g}" for p in sorted(ovr["contamination"].unique()))
    out["runs:deep"] = str(len(deep))
    beyond = load(results_dir, "beyond")
    extra = [load(results_dir, name) for name in ("peers", "beyond_rates")]  # make peers / rates
    frames = [t for t in (ovr, ugly, sweep, size, deep, beyond, *extra) if len(t)]
    out["runs:all"] = str(sum(len(t) for t in frames))
    libraries = sorted({c for t in frames for c in t.columns if c.startswith("version_")})
    if libraries:  # "numpy 2.4.6, torch 2.13.0+cpu": every version any run was made with
        out["versions:all"] = ", ".join(
            c.removeprefix("version_")
            + " "
            + " / ".join(sorted({str(v) for t in frames if c in t for v in t[c].dropna()}))
            for c in libraries
        )
    wall = sum(t["seconds_total"].sum() for t in frames)  # per-run wall time, summed over runs
    out["run_minutes:all"] = f"{wall / 60:.0f}"
    reported = [*frames, *(load(results_dir, n) for n in ("rounding_shim", "rounding_vendor"))]
    rerun = results_dir / "rerun"  # the fragile-verdicts table's second machine
    if rerun.is_dir():
        reported += [pd.read_csv(p) for p in sorted(rerun.glob("*.csv"))]
    commits = sorted(
        {str(c)[:7] for t in reported if "git_commit" in t for c in t["git_commit"].dropna()}
    )
    out["commits:all"] = ", ".join(commits)
    for m, part in clutter.groupby("method") if len(clutter) else []:
        for metric in ("auroc", "clutter_sensitivity", "auroc_vs_clutter"):
            if metric in part:
                out[f"clutter:{metric}:{m}"] = f"{part[metric].mean():.3f}"
    out["clutter:runs"] = str(len(clutter))
    if len(clutter) and "clutter_sensitivity" in clutter:  # direction against RE, computed
        sens = clutter.groupby("method")["clutter_sensitivity"].mean()
        re = sens.get("AE RE")
        for m, v in sens.items():
            if re is not None and m != "AE RE":
                out[f"clutter:cmp:{m}"] = "below" if v < re else "above" if v > re else "equal to"
        out["clutter:units"] = str(clutter.groupby(["dataset", "nominal"]).ngroups)
        out["clutter:seeds"] = str(clutter["seed"].nunique())
        out["clutter:q"] = f"{clutter['clutter_share'].iloc[0]:g}"
        out["clutter:p"] = f"{clutter['contamination'].iloc[0]:g}"
    for (s, m), part in size.groupby(["input_size", "method"]):
        out[f"size:auroc:{s}:{m}"] = f"{part['auroc'].mean():.3f}"
        out[f"size:seconds:{s}:{m}"] = f"{part['seconds_features'].mean():.1f}"
    return out


SCHEDULE = {"constant": "constant", "cosine": "cosine-annealed towards 0"}  # model.lr_schedule


NOT_RUN = {  # optional tables: what the paper says when their experiment was not run
    "photo_levers": "Not run for this profile: `make levers` (outside `make reproduce`) measures "
    "the levers and puts their table here.",
    "fragile": "Not run for this profile: it needs a full `make reproduce` of the same code on "
    "another machine, its results kept in `RESULTS/rerun/`.",
    "rounding": "Not run for this profile: `make rounding` (outside `make reproduce`) trains "
    "`make verify`'s sample on MKL's two code paths and puts its table here.",
    "beyond_rates": "Not run for this profile: `make rates` (outside `make reproduce`) runs the "
    "new methods at every p and puts their table here.",
    "imagenet": "Not run for this paper: it needs a copy of ImageNet's train folder, which this "
    "machine does not have. `make reproduce IMAGENET=/path/to/imagenet/train` runs it "
    "(`conf/experiment/imagenet.yaml`, `imagenet_pretrained.yaml`) and puts its table here.",
}


def fill(template: str, tables_dir: Path, numbers: dict[str, str]) -> tuple[str, list[str]]:
    missing: list[str] = []

    def one(match: re.Match) -> str:
        key = match.group(1)
        kind, _, name = key.partition(":")
        if kind == "table":
            return (tables_dir / f"{name}.md").read_text().strip()
        if kind == "optional_table":
            path = tables_dir / f"{name}.md"
            return path.read_text().strip() if path.is_file() else NOT_RUN[name]
        if kind == "figure":
            return f"![{name}](figures/{name}.png)"
        if key not in numbers:
            missing.append(key)
            return "n/a"
        return numbers[key]

    return re.sub(r"\{\{([^{}]+)\}\}", one, template), missing


def main() -> None:
    template, results_dir, tables_dir, out = map(Path, sys.argv[1:5])
    text, missing = fill(template.read_text(), tables_dir, values(results_dir))
    if missing:  # e.g. the quick profile: say so before a reader trusts the prose
        text = (
            f"> **Partial results**: {len(missing)} numbers the text cites are not in "
            f"`{results_dir}` (shown as n/a), and the discussion was written for the full "
            "profile's results (`make reproduce`). Read the tables and figures, not the prose.\n\n"
            + text
        )
    write_text(out, text)
    for key in missing:
        print(
            f"write_paper: no result for {{{{{key}}}}} in {results_dir}: wrote n/a", file=sys.stderr
        )
    print(f"wrote {out} ({len(missing)} numbers n/a)")


if __name__ == "__main__":
    main()
