"""Table: beyond the proposal (issue 11). The new methods (conf/method/) beside the proposal's
scores and published numbers, contaminated one-vs-rest at p = 0.1 on the train split: mean AUROC
over the 10 classes (seeds averaged first) with its 95% two-level bootstrap interval, the
test-split AUROC on which each method's settings were chosen (selection.json), seconds per set,
issue 11's targets (MNIST 0.97, Fashion-MNIST 0.94) and the classes that hold the best method
below them, and each new method against the best proposal score, paired over classes (Wilcoxon,
Holm over the table's tests).

`python -m paper.tables.tab_beyond OVR.csv BEYOND.csv SELECTION.json [PEERS.csv] OUT.md`;
reads only these files. PEERS.csv (`make peers`, not part of reproduce): PyOD's detectors with their
defaults on the same sets, shown beside ours on the sets both ran, and the best new method against
each, paired over classes. The ensemble's seconds are its own plus its members' (it reads their
scores from the score cache when their runs came first).
"""

import json
import sys
from pathlib import Path

import pandas as pd

from deepad.store import write_text
from paper import common
from paper.common import with_methods
from paper.tables import tab_published as _PUBLISHED  # cited, sourced

P = 0.1


DATASETS = _PUBLISHED.DATASETS
PUBLISHED = {m: _PUBLISHED.PUBLISHED[m][:2] for m in ("RSRAE", "ODIM")}  # the strongest quoted
NAMES = {  # conf/method/<name>.yaml -> the table's name ({k}: the chosen share of n)
    "raw_knn": "kNN raw pixels, L2, k = {k} n",
    "raw_knncos": "kNN raw pixels, cosine, k = {k} n",
    "ae_knn": "kNN AE A1, cosine, k = {k} n",
    "dbn_knn": "kNN DBN A1, cosine, k = {k} n",
    "pre_knn": "kNN EffNet-Lite0 A1 ({size} px), cosine, k = {k} n",
    "ae_trim": "AE RE, trimmed loss (10%)",
    "ensemble": "rank ensemble: {members}",
    "ensemble_all": "rank ensemble of all {n_all} candidates, k = {fixed_k} n (selection-free)",
}
PEERS = {  # conf/method/pyod_<name>.yaml -> the table's name
    "pyod_iforest": "PyOD IForest",
    "pyod_knn": "PyOD KNN",
    "pyod_knn_tuned": "PyOD KNN (tuned k)",
    "pyod_iforest_tuned": "PyOD IForest (tuned trees)",
    "pyod_pca_tuned": "PyOD PCA (tuned components)",
    "pyod_pca": "PyOD PCA",
    "pyod_ecod": "PyOD ECOD",
    "pyod_ae": "PyOD AutoEncoder",
    "pyod_dif": "PyOD DIF",
    "pyod_deepsvdd": "PyOD DeepSVDD",
}
PEER_NOTE = (
    "; peer: PyOD's detector with the library's defaults, seeded, on raw pixels, on the same sets "
    "(make peers; seeds: how many ran)"
)
PROPOSAL = [
    "AE RE",
    "AE A1",
    "AE A2",
    "raw pixels",
    "DBN RE",
    "DBN A1",
    "DBN A2",
    "DBN free energy",
]


def name(method: str, selection: dict) -> str:
    k = selection["chosen_k"].get(method)
    knobs = selection.get("chosen_knobs", {}).get(method, {})
    if method in PEERS:
        if k:
            return f"{PEERS[method]}, k = {k} n (peer, tuned)"
        if knobs:
            told = ", ".join(f"{knob} = {v}" for knob, v in knobs.items())
            return f"{PEERS[method]}, {told} (peer, tuned)"
        return f"{PEERS[method]} (peer, defaults)"
    members = " + ".join(selection["ensemble"]["members"])
    free = selection.get("ensemble_all", {})
    return NAMES[method].format(
        k=k, size=selection["chosen_input_size"], members=members,
        n_all=len(free.get("members", [])), fixed_k=free.get("k"),
    )  # fmt: skip


def runs(
    ovr: pd.DataFrame, beyond: pd.DataFrame, selection: dict, peers: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The proposal's runs at P (ovr.csv, named as everywhere), the new methods' (beyond.csv, named
    by conf/method/) and the peers' on beyond's sets (peers.csv, if given), with a `method` column,
    `new` (True for issue 11's) and `peer` (True for PyOD's)."""
    old, _ = with_methods(ovr[ovr["contamination"] == P])
    old = old[old["method"].isin(PROPOSAL)].assign(new=False, peer=False)
    parts = [old]
    for frame, new in ((beyond, True), (peers, False)):
        if frame is None:
            continue
        runs = frame[(frame["contamination"] == P) & (frame["status"].fillna("ok") == "ok")].copy()
        runs["key"] = runs["method"]
        runs["method"] = [name(m, selection) for m in runs["method"]]
        peer = runs["key"].isin(PEERS) | (not new)  # a tuned peer runs in beyond's sweep
        parts.append(runs.assign(new=~peer, peer=peer))
    results = pd.concat(parts, ignore_index=True)
    ours = set(zip(beyond["dataset"], beyond["nominal"].astype(str), strict=True))
    sets = zip(results["dataset"], results["nominal"].astype(str), strict=True)
    return results[[s in ours for s in sets]].reset_index(drop=True)  # the sets beyond ran


def seconds(results: pd.DataFrame, selection: dict) -> pd.Series:
    """Median seconds per set of each method; the ensemble's plus its members'."""
    per = results.groupby("method")["seconds_total"].median()
    keys = results.dropna(subset=["key"]).drop_duplicates("method").set_index("key")["method"]
    if "ensemble" in keys:
        members = [keys[m] for m in selection["ensemble"]["members"] if m in keys]
        per[keys["ensemble"]] += sum(per[m] for m in members)
    return per


def table(results: pd.DataFrame, selection: dict) -> pd.DataFrame:
    ci = common.mean_ci(results, ["dataset"])
    ci["cell"] = [common.cell(*r) for r in ci[["mean", "lo", "hi"]].itertuples(index=False)]
    wide = ci.pivot(index="method", columns="dataset", values="cell")
    wide = wide.reindex(columns=list(DATASETS)).rename(columns=DATASETS).fillna("")
    seeds = results.groupby("method")["seed"].nunique().rename("seeds")
    order = PROPOSAL + [name(m, selection) for m in [*NAMES, *PEERS]]
    per_set = seconds(results, selection)
    per_image = 1000 * per_set / results.groupby("method")["n"].median()
    tab = pd.concat(
        [wide, seeds, per_set.rename("s / set"), per_image.rename("ms / image")], axis=1
    )
    tab = tab.reindex([m for m in order if m in tab.index])
    test = {}
    for key in results.dropna(subset=["key"])["key"].unique():
        cand = selection["candidates"].get(_candidate(key, selection))
        if cand is not None:
            test[name(key, selection)] = f"{cand['mnist']:.3f} / {cand['fashion_mnist']:.3f}"
    ens = selection["ensemble"]
    test[name("ensemble", selection)] = f"{ens['mnist']:.3f} / {ens['fashion_mnist']:.3f}"
    tab["test split (selection)"] = [test.get(m, "") for m in tab.index]
    tab["s / set"] = tab["s / set"].map(lambda s: f"{s:.1f}")
    tab["ms / image"] = tab["ms / image"].map(lambda s: f"{s:.2f}")
    published = pd.DataFrame(
        [(f"{m} (published)", *v, "", "", "", "") for m, v in PUBLISHED.items()],
        columns=[
            "method",
            *DATASETS.values(),
            "seeds",
            "s / set",
            "ms / image",
            "test split (selection)",
        ],
    ).set_index("method")
    published[list(DATASETS.values())] = published[list(DATASETS.values())].map("{:.3f}".format)
    return pd.concat([tab, published]).reset_index(names="method")


def _candidate(key: str, selection: dict) -> str:
    """selection.json's candidate name of a method at its chosen settings."""
    if key in selection["chosen_k"]:
        size = f",size={selection['chosen_input_size']}" if key == "pre_knn" else ""
        return f"{key}@k={selection['chosen_k'][key]}{size}"
    return key


def targets(results: pd.DataFrame, selection: dict) -> str:
    """The best method per data set against issue 11's targets, and the classes below them."""
    means = common.class_means(results, ["dataset"])
    lines = []
    for ds, label in DATASETS.items():
        part = means[means["dataset"] == ds]
        if part.empty:
            continue
        overall = part.groupby("method")["auroc"].mean()
        best = overall.idxmax()
        goal = selection["targets"][ds]
        below = part[(part["method"] == best) & (part["auroc"] < goal)].sort_values("auroc")
        classes = ", ".join(
            f"{c} ({a:.3f})" for c, a in zip(below["nominal"], below["auroc"], strict=True)
        )
        verdict = "met" if overall[best] >= goal else f"missed by {goal - overall[best]:.3f}"
        lines.append(
            f"- {label}: best {best}, {overall[best]:.3f} against the target {goal}: {verdict}; "
            f"classes below {goal}: {classes or 'none'}."
        )
    return "\n".join(lines)


FAMILIES = {"proposal": "new method vs the proposal's best", "peers": "best new method vs a peer"}


def paired(results: pd.DataFrame) -> pd.DataFrame:
    """Each new method against the proposal's best score on each data set (family `proposal`), and
    the best new method against each peer (family `peers`), paired over classes (seeds averaged),
    Holm within each family: two questions, each with its own family of tests."""
    means = common.class_means(results, ["dataset"])
    rows = []
    for ds in DATASETS:
        part = means[(means["dataset"] == ds) & means["method"].isin(PROPOSAL)]
        if part.empty:
            continue
        best = part.groupby("method")["auroc"].mean().idxmax()
        sub = results[results["dataset"] == ds]
        new = sub.loc[sub["new"], "method"].unique()
        rows.append(
            common.compare(sub, [(m, best) for m in new], ["dataset"]).assign(family="proposal")
        )
        peers = sub.loc[sub["peer"], "method"].unique()
        if len(peers):
            top = means[(means["dataset"] == ds) & means["method"].isin(new)]
            top = top.groupby("method")["auroc"].mean().idxmax()
            pairs = [(top, m) for m in peers]
            rows.append(common.compare(sub, pairs, ["dataset"]).assign(family="peers"))
    cmp = pd.concat(rows, ignore_index=True)
    cmp["p_holm"] = cmp.groupby("family")["p_value"].transform(common.holm)
    cmp["verdict"] = [common.verdict(r) for _, r in cmp.iterrows()]
    cmp["median difference"] = [
        common.cell(d, lo, hi) for d, lo, hi in cmp[["median difference", "lo", "hi"]].to_numpy()
    ]
    cmp["dataset"] = cmp["dataset"].map(DATASETS)
    cmp["family"] = cmp.pop("family").map(FAMILIES)
    return cmp.drop(columns=["lo", "hi"]).round({"p_value": 4, "p_holm": 4})


def holm_note(cmp: pd.DataFrame) -> str:
    """'Holm within each family (new method vs the proposal's best: 14 tests; ...)'."""
    sizes = cmp["family"].value_counts().reindex(FAMILIES.values()).dropna().astype(int)
    return (
        "Holm within each family (" + "; ".join(f"{f}: {n} tests" for f, n in sizes.items()) + ")"
    )


def main() -> None:
    args = sys.argv[1:]
    ovr, beyond = pd.read_csv(args[0]), pd.read_csv(args[1])
    selection = json.loads(Path(args[2]).read_text())
    peers = pd.read_csv(args.pop(3)) if args[3].endswith(".csv") else None
    out = Path(args[3])
    results = runs(ovr, beyond, selection, peers)
    commits = (
        pd.concat([beyond, peers])["git_commit"] if peers is not None else beyond["git_commit"]
    )
    commit = ", ".join(sorted(commits.dropna().astype(str).unique()))
    tab = table(results, selection)
    md = (
        f"Beyond the proposal: contaminated one-vs-rest, p = {P}, train split, mean AUROC over the "
        f"{results['nominal'].nunique()} classes [{common.UNCERTAINTY}]; test split (selection): "
        "the mean AUROC over the 10 test-split sets, seed 0, MNIST / Fashion-MNIST, at which the "
        "settings were chosen "
        "(experiments/select_settings.py); s / set: median seconds per set on one thread (the "
        "ensemble: with its members'), ms / image: the same per image of the set (training "
        f"included){PEER_NOTE if peers is not None else ''}; published: "
        f"quoted, no interval (commit {commit})\n\n"
        f"{tab.to_markdown(index=False)}\n\n**Targets (issue 11)**\n\n{targets(results, selection)}\n"
    )
    cmp = paired(results)
    md += (
        "\n**Each new method against the proposal's best score"
        f"{', and the best new method against each peer' if peers is not None else ''}** (paired over the "
        f"{results['nominal'].nunique()} classes, seeds "
        "averaged; median difference with its 95% bootstrap interval; two-sided Wilcoxon p, "
        f"{holm_note(cmp)})\n\n{cmp.to_markdown(index=False)}\n"
    )
    write_text(out, md)
    write_text(out.with_suffix(".tex"), tab.to_latex(index=False))


if __name__ == "__main__":
    main()
