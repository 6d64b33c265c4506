"""The paper's table, figure and write-up scripts on small generated results files: they read only
them, and their numbers are the means and tests of their rows."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from helpers import ROOT
from paper.tables import tab_clutter_verdict, tab_convergence, tab_epochs

METHODS = (("re", 0.9), ("a1", 0.6), ("raw", 0.8))  # AE RE, AE A1, raw pixels: base AUROC


@pytest.fixture
def results(tmp_path):
    """ovr.csv: 2 data sets x 3 classes x p in {0.05, 0.1} x 2 seeds x 3 methods, known AUROCs
    (base - 0.1 per data set + 0.01 per class + 0.02 per seed), a failed run, and the per-image
    scores of one run per data set and method (ovr_scores.csv.gz)."""
    rows, scores = [], []
    rng = np.random.default_rng(0)
    for d, dataset in enumerate(["mnist", "fashion_mnist"]):
        for c in range(3):
            for p in (0.05, 0.1):
                for seed in (0, 1):
                    for features, base in METHODS:
                        run_dir = f"sw/{dataset}-{c}-{p}-{seed}-{features}"
                        auroc = base - 0.1 * d + 0.01 * c + 0.02 * seed
                        rows.append(
                            {
                                "run_dir": run_dir,
                                "dataset": dataset,
                                "nominal": str(c),
                                "contamination": p,
                                "seed": seed,
                                "model": "ae_h2o",
                                "features": features,
                                "auroc": auroc,
                                "ap": auroc / 2,
                                "seconds_total": 2.0,
                                "seconds_train": 1.5,
                                "model_cache": "miss",
                                "git_commit": "abc",
                                "version_torch": "2.13.0+cpu",
                                "version_numpy": "2.4.6",
                                "status": "ok",
                            }
                        )
                        if c == 0 and p == 0.1 and seed == 0:
                            y = np.r_[np.zeros(90), np.ones(10)]
                            scores.append(
                                pd.DataFrame(
                                    {"run_dir": run_dir, "index": range(100), "is_anomaly": y}
                                ).assign(score=y * base + rng.random(100))
                            )
    rows.append({**rows[0], "run_dir": "sw/failed", "status": "failed", "auroc": np.nan})
    path = tmp_path / "ovr.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    pd.concat(scores).to_csv(tmp_path / "ovr_scores.csv.gz", index=False)
    return path


@pytest.fixture
def ugly(tmp_path):
    """ugly_digits.csv with 2 seeds x (AE RE, AE A1), their scores (A1 = -RE: rankings reversed)
    and their kept good / median / ugly images."""
    rows, scores, images = [], [], []
    rng = np.random.default_rng(1)
    for seed in (0, 1):
        re = rng.random(500)
        for features, s in (("re", re), ("a1", -re)):
            run_dir = f"u/{features}-{seed}"
            rows.append({"run_dir": run_dir, "model": "ae_h2o", "features": features, "seed": seed})
            scores.append(
                pd.DataFrame(
                    {
                        "run_dir": run_dir,
                        "index": range(500),
                        "source_index": range(500),
                        "score": s,
                    }
                ).assign(**{"class": np.arange(500) % 10})
            )
            if seed == 0:
                images.append(rng.integers(0, 255, (3, 16, 1, 28, 28), dtype=np.uint8))
    path = tmp_path / "ugly_digits.csv"
    pd.DataFrame(rows).assign(status="ok").to_csv(path, index=False)
    pd.concat(scores).to_csv(tmp_path / "ugly_digits_scores.csv.gz", index=False)
    np.savez(
        tmp_path / "ugly_digits_extremes.npz",
        run_dir=np.array(["u/re-0", "u/a1-0"]),
        images=np.stack(images),
        groups=np.full((2, 3, 16), "nominal"),
    )
    return path


def _script(path, *args):
    """Run a paper script as make does: `python -m paper.tables.tab_NAME ARGS` from the root."""
    module = path.removesuffix(".py").replace("/", ".")
    done = subprocess.run(
        [sys.executable, "-m", module, *map(str, args)], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def _interval(cell: str) -> tuple[float, float, float]:
    """'0.920 [0.910, 0.930]' -> (0.92, 0.91, 0.93)."""
    mean, rest = cell.split(" [")
    lo, hi = rest.rstrip("]").split(", ")
    return float(mean), float(lo), float(hi)


def test_ovr_table_mean_and_interval_over_classes(results, tmp_path):
    _script("paper/tables/tab_ovr.py", results, tmp_path / "ovr.md")
    md = (tmp_path / "ovr.md").read_text()
    assert "**AUROC**" in md and "**AP**" in md and "(commit abc)" in md
    assert "95% two-level bootstrap interval: classes, then seeds within each" in md
    rows = [line for line in md.splitlines() if line.replace(" ", "").startswith("|mnist|0.1|")]
    cells = [c.strip() for c in rows[0].split("|")[3:-1]]
    # AE RE: seed-averaged classes 0.91, 0.92, 0.93 (their seeds 0.01 either side) -> mean 0.920,
    # interval inside the runs' range [0.90, 0.94] (two-level: the seeds' spread counts too)
    mean, lo, hi = _interval(cells[0])
    assert mean == 0.92 and 0.90 <= lo < mean < hi <= 0.94
    assert _interval(cells[1])[0] == 0.62  # AE A1
    assert _interval([c.strip() for c in rows[1].split("|")[3:-1]][0])[0] == 0.46  # AP = AUROC / 2
    assert "3 nominal classes x seeds per cell (2 at p = 0.05, 0.1)" in md
    frame = pd.read_csv(results)  # ovr's slices: every seed at p = 0.1, seed 0 at other rates
    frame[(frame["contamination"] == 0.1) | (frame["seed"] == 0)].to_csv(tmp_path / "s.csv")
    _script("paper/tables/tab_ovr.py", tmp_path / "s.csv", tmp_path / "s.md")
    assert "seeds per cell (2 at p = 0.1; 1 at p = 0.05)" in (tmp_path / "s.md").read_text()


def test_wilcoxon_per_p_and_published_tables(results, tmp_path):
    _script("paper/tables/tab_wilcoxon.py", results, tmp_path / "w.md")
    w = (tmp_path / "w.md").read_text()
    a1 = [line for line in w.splitlines() if "AE A1 vs AE RE" in line]
    assert len(a1) == 4  # 2 data sets x 2 p
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in a1]
    # paired over the 3 classes (seeds averaged), not 6 (class, seed) pairs: 0 wins, 0.3 below
    assert all(c[3:5] == ["0/3", "-0.300 [-0.300, -0.300]"] for c in cells)
    assert all(float(c[5]) == 0.25 for c in cells)  # exact two-sided p with 3 classes: 2 / 2^3
    assert "Holm-corrected within each p (a family of 4 tests" in w  # 2 data sets x 2 pairs
    _script("paper/tables/tab_published.py", results, tmp_path / "p.md")
    p = (tmp_path / "p.md").read_text()
    assert "0.819" in p and "ODIM" in p and "AE RE (ours)" in p


def _method_runs(methods: dict, seeds: dict) -> pd.DataFrame:
    """beyond.csv / peers.csv rows: named methods at p = 0.1 on 2 data sets x 3 classes, AUROC
    base - 0.1 per data set + 0.01 per class + 0.02 per seed, on the method's seeds."""
    rows = [
        {"run_dir": f"b/{m}-{d}-{c}-{s}", "dataset": ds, "nominal": str(c), "contamination": 0.1,
         "seed": s, "model": "ae_h2o", "features": "raw", "method": m, "status": "ok",
         "auroc": base - 0.1 * d + 0.01 * c + 0.02 * s, "seconds_total": 3.0, "n": 1500,
         "git_commit": "def"}
        for m, base in methods.items() for d, ds in enumerate(["mnist", "fashion_mnist"])
        for c in range(3) for s in seeds.get(m, (0, 1))
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_beyond_table_sets_the_peers_beside_ours(results, tmp_path):
    """tab_beyond: the new methods beside the proposal's; with peers.csv, the peers' rows (their
    seeds counted) and the best new method against each, paired over classes, in one Holm family."""
    _method_runs({"raw_knn": 0.95, "ensemble": 0.97}, {}).to_csv(tmp_path / "b.csv", index=False)
    peers = _method_runs({"pyod_iforest": 0.85, "pyod_dif": 0.9}, {"pyod_dif": (0,)})
    peers.to_csv(tmp_path / "p.csv", index=False)
    selection = ROOT / "paper/results/selection.json"
    _script("paper/tables/tab_beyond.py", results, tmp_path / "b.csv", selection, tmp_path / "a.md")
    alone = (tmp_path / "a.md").read_text()
    assert "PyOD" not in alone  # 2 new methods x 2 data sets: one family
    assert "Holm within each family (new method vs the proposal's best: 4 tests)" in alone
    args = (results, tmp_path / "b.csv", selection, tmp_path / "p.csv", tmp_path / "t.md")
    _script("paper/tables/tab_beyond.py", *args)
    md = (tmp_path / "t.md").read_text()
    row = next(r for r in md.splitlines() if r.startswith("| PyOD DIF (peer, defaults)"))
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert _interval(cells[1])[0] == 0.91 and _interval(cells[2])[0] == 0.81 and cells[3] == "1"
    assert float(cells[4]) == 3.0 and float(cells[5]) == 2.0  # 3 s a set of 1,500 images: 2 ms each
    row = next(r for r in md.splitlines() if r.startswith("| PyOD IForest (peer, defaults)"))
    assert _interval(row.split("|")[2].strip())[0] == 0.87 and row.split("|")[4].strip() == "2"
    assert "best new method vs a peer: 4 tests)" in md and "best new method against each peer" in md
    vs = [r for r in md.splitlines() if "vs PyOD DIF" in r]
    assert len(vs) == 2 and all("rank ensemble" in r for r in vs)
    cells = [c.strip() for c in vs[0].split("|")[1:-1]]
    assert cells[3:5] == ["3", "0"]  # the ensemble higher in all 3 classes (0.98 vs 0.91 + ...)
    assert "commit def" in md


def test_beyond_rates_table_tests_the_ensemble_at_every_p(results, tmp_path):
    """tab_beyond_rates: the proposal's seed-0 runs and the new methods at every p, one table per
    data set, and the ensemble against the proposal's best at each (data set, p), one family."""
    rates = _method_runs({"raw_knn": 0.95, "ensemble": 0.97}, {"raw_knn": (0,), "ensemble": (0,)})
    rates = pd.concat([rates, rates.assign(contamination=0.05)], ignore_index=True)
    rates.to_csv(tmp_path / "r.csv", index=False)
    selection = ROOT / "paper/results/selection.json"
    _script(
        "paper/tables/tab_beyond_rates.py",
        results,
        tmp_path / "r.csv",
        selection,
        tmp_path / "r.md",
    )
    md = (tmp_path / "r.md").read_text()
    assert "**MNIST**" in md and "**Fashion-MNIST**" in md and "| p = 0.05 " in md
    row = next(r for r in md.splitlines() if r.startswith("| AE RE "))
    assert _interval(row.split("|")[3].strip())[0] == 0.91  # seed 0 only: 0.9 + 0.01 c, p = 0.1
    row = next(r for r in md.splitlines() if r.startswith("| rank ensemble"))
    assert _interval(row.split("|")[2].strip())[0] == 0.98
    vs = [r for r in md.splitlines() if " vs AE RE " in r or " vs raw pixels " in r]
    assert len(vs) == 4 and "Holm over the 4 tests" in md  # 2 data sets x 2 rates
    assert all(r.split("|")[5].strip() == "3" for r in vs)  # the ensemble wins every class


@pytest.mark.parametrize("figure", ["heatmap_ovr", "auroc_vs_p", "roc"])
def test_ovr_figures_are_written(results, tmp_path, figure):
    _script(f"paper/figures/fig_{figure}.py", results, tmp_path / "f.png")
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


def test_ugly_digits_table_and_figure(ugly, tmp_path):
    _script("paper/tables/tab_ugly_digits.py", ugly, tmp_path / "u.md")
    md = (tmp_path / "u.md").read_text()
    row = next(line for line in md.splitlines() if "AE RE vs AE A1" in line)
    assert "-1.000 ± 0.000" in row and "0.000 ± 0.000" in row  # reversed ranks: no overlap
    _script("paper/figures/fig_ugly_digits.py", ugly, tmp_path / "u.png")
    assert (tmp_path / "u.png").read_bytes()[:4] == b"\x89PNG"


def test_ugly_digits_table_gives_each_score_its_rank_correlation_with_ink(ugly, tmp_path):
    ink = pd.DataFrame({"source_index": range(500), "brightness": np.linspace(0, 1, 500) ** 2})
    ink.to_csv(tmp_path / "ink.csv", index=False)
    _script("paper/tables/tab_ugly_digits.py", ugly, tmp_path / "ink.csv", tmp_path / "u.md")
    md = (tmp_path / "u.md").read_text()
    rows = [line for line in md.splitlines() if " vs " not in line]
    re_row = next(line for line in rows if line.startswith("| AE RE "))
    a1_row = next(line for line in rows if line.startswith("| AE A1 "))
    rho_re, rho_a1 = (float(row.split("|")[2].split("±")[0]) for row in (re_row, a1_row))
    assert rho_re == pytest.approx(-rho_a1) and "rho with ink mass" in md  # A1 = -RE here


def test_paper_numbers_come_from_the_results(results, tmp_path):
    _script("paper/tables/tab_ovr.py", results, tmp_path / "ovr.md")
    template = tmp_path / "in.md"
    template.write_text(
        "RE {{auroc:mnist:0.1:AE RE}} vs A1 {{auroc:mnist:0.1:AE A1}}, "
        "wins {{wins:mnist:0.1:AE A1:AE RE}}, runs {{runs:ovr}}, "
        "absent {{auroc:mnist:0.5:AE RE}}\n{{table:ovr}}\n{{figure:roc}}\n"
        "OCSVM {{published:mnist:OCSVM}}\nmade with {{versions:all}}\n"
    )
    done = _script("paper/write_paper.py", template, tmp_path, tmp_path, tmp_path / "paper.md")
    text = (tmp_path / "paper.md").read_text()
    assert text.startswith("> **Partial results**: 1 numbers the text cites are not in")
    assert "\n\nRE 0.920 vs A1 0.620, wins 0/3, runs 72, absent n/a\n" in text
    assert "**AUROC**" in text and "![roc](figures/roc.png)" in text
    assert "OCSVM 0.847" in text  # the cited number of tab_published.py, not a copy
    assert "made with numpy 2.4.6, torch 2.13.0+cpu\n" in text
    assert "no result for {{auroc:mnist:0.5:AE RE}}" in done.stderr


def test_quick_profile_writes_outside_the_committed_paper():
    plan = subprocess.run(
        ["make", "-n", "-B", "reproduce", "PROFILE=quick"], cwd=ROOT, capture_output=True, text=True
    )
    assert plan.returncode == 0, plan.stderr[-2000:]
    writes = plan.stdout.replace(" paper/results/selection.json", "")  # read: fixed settings
    assert "profile=quick +experiment=ovr " in writes and "outputs/sweeps/quick/ovr.done" in writes
    assert "outputs/quick/paper/paper.md" in writes
    assert " paper/results/" not in writes and "README.md" not in writes  # the full paper's


def test_make_paper_never_schedules_a_sweep():
    """`make paper` redraws from the committed results: no sweep, no collect, even when every
    rule is out of date (-B)."""
    done = subprocess.run(
        ["make", "-n", "-B", "paper"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "experiments/run.py" not in done.stdout and "collect.py" not in done.stdout
    assert "-m paper.write_paper" in done.stdout and "-m paper.tables.tab_ovr" in done.stdout
    planned = subprocess.run(
        ["make", "-n", "reproduce"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "results PROFILE=full" in planned.stdout and "paper PROFILE=full" in planned.stdout


@pytest.fixture
def deep(tmp_path):
    """deep.csv at p = 0.1: the deep AE's RE / A1 / A2 (Isolation Forest) and the AE's and DBN's
    A1 / A2 under three detectors, 3 classes x 2 seeds, known AUROCs; and the curves of its
    networks (deep_curves.csv.gz): the AE's loss halves each epoch, the DBN's layer 2 is flat."""
    rows, curves = [], []
    runs = [("ae_dense", f, "iforest", None, b) for f, b in (("re", 0.9), ("a1", 0.8), ("a2", 0.7))]
    runs += [("ae_h2o", f, d, None, b + db) for f, b in (("a1", 0.6), ("a2", 0.8))
             for d, db in (("iforest", 0.0), ("knn", 0.1), ("lof", 0.05))]  # fmt: skip
    runs += [("dbn", "a2", "iforest", "all", 0.75)]
    for c in range(3):
        for seed in (0, 1):
            for model, features, detector, layers, base in runs:
                key = f"{model}-{c}-{seed}"
                rows.append(
                    {"run_dir": f"d/{key}-{features}-{detector}", "dataset": "mnist",
                     "nominal": str(c), "contamination": 0.1, "seed": seed, "model": model,
                     "features": features, "detector": detector, "a2_layers": layers,
                     "auroc": base + 0.01 * c, "n_distinct_scores": 100 if features == "a2" else 500,
                     "n": 500, "model_key": key, "status": "ok"}
                )  # fmt: skip
                if features in ("re", "a2") and detector == "iforest":
                    for epoch in range(6):
                        for layer, value in ((0, 2.0**-epoch), (1, 1.0)):
                            if model != "dbn" and layer:
                                continue
                            curves.append(
                                {"model": model, "dataset": "mnist", "nominal": str(c),
                                 "contamination": 0.1, "seed": seed, "model_key": key,
                                 "epoch": epoch + 6 * layer, "layer": layer,
                                 "metric": "train/loss", "value": value}
                            )  # fmt: skip
    path = tmp_path / "deep.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    pd.DataFrame(curves).drop_duplicates().to_csv(tmp_path / "deep_curves.csv.gz", index=False)
    return path


def test_deep_detectors_and_seed_spread_tables(results, deep, tmp_path):
    _script("paper/tables/tab_deep.py", results, deep, tmp_path / "deep.md")
    md = (tmp_path / "deep.md").read_text()
    row = next(line for line in md.splitlines() if "Deep AE 784-256-64-256-784" in line)
    cells = [c.strip() for c in row.split("|")[1:-1]]
    assert [_interval(c)[0] for c in cells[2:5]] == [0.91, 0.81, 0.71]  # RE, A1, A2
    assert cells[5].startswith("0/3, -0.100")  # A1 vs RE: loses on every class
    ae = next(line for line in md.splitlines() if "| mnist " in line and "| AE 784-50-784" in line)
    assert "0.920" in ae  # the AE's RE comes from ovr.csv
    frame = pd.read_csv(deep)  # the AE's Isolation Forest runs live in ovr.csv, not deep.csv
    in_ovr = (frame["model"] == "ae_h2o") & (frame["detector"] == "iforest")
    frame[in_ovr].to_csv(tmp_path / "ovr_if.csv", index=False)
    frame[~in_ovr].to_csv(tmp_path / "deep_rest.csv", index=False)
    _script("paper/tables/tab_detectors.py", tmp_path / "ovr_if.csv", tmp_path / "deep_rest.csv",
            tmp_path / "det.md")  # fmt: skip
    det = (tmp_path / "det.md").read_text()
    a1 = next(line for line in det.splitlines() if "| AE A1 " in line)
    cells = [c.strip() for c in a1.split("|")[1:-1]]
    assert [_interval(c)[0] for c in cells[2:5]] == [0.61, 0.71, 0.66]  # IF, kNN, LOF columns
    assert "| DBN A2 " in det  # A2 over every hidden layer
    _script("paper/tables/tab_seed_spread.py", results, tmp_path / "s.md")
    s = (tmp_path / "s.md").read_text()
    assert "| mnist         | AE RE" in s and "0.020" in s  # seeds differ by 0.02 in every class


def test_convergence_table_and_figure(deep, tmp_path):
    """The made-up AE loss halves every epoch (last-epoch change 0.5), the DBN's layer 2 is flat."""
    curves = tmp_path / "deep_curves.csv.gz"
    _script("paper/tables/tab_convergence.py", curves, tmp_path / "c.md")
    tab = tab_convergence.table(pd.read_csv(curves)).set_index("curve")
    assert tab.loc["Deep AE loss", "last_median"] == pytest.approx(0.5)
    assert tab.loc["DBN layer 1 loss", "last_median"] == pytest.approx(0.5)
    assert tab.loc["DBN layer 2 loss", "last_median"] == 0.0
    assert tab.loc["Deep AE loss", "networks"] == 6  # 3 classes x 2 seeds, each network once
    assert tab.loc["Deep AE loss", "met"] == 0.0  # halving: never meets the plateau rule
    assert tab.loc["DBN layer 2 loss", "met"] == 1.0  # flat for its 6 epochs
    assert "Deep AE loss" in (tmp_path / "c.md").read_text()
    _script("paper/figures/fig_convergence.py", curves, tmp_path / "c.png")
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


@pytest.fixture
def sweep(tmp_path):
    """clutter_sweep.csv: 2 data sets x 10 classes, settings base / q01 / q10, the H2O AE's RE, A1,
    A2 and EffNet-Lite0 A1 with known clutter sensitivities: A1 always 0.2 below RE (the claim
    holds), A2 always 0.2 above (fails), EffNet-Lite0 A1 RE +- noise (a tie)."""
    rng = np.random.default_rng(1)
    rows = []
    for setting, q in (("base", 0.05), ("q01", 0.01), ("q10", 0.1)):
        for d, dataset in enumerate(["clutter_mnist", "clutter_fashion"]):
            for c in range(10):
                re = 0.5 + 0.02 * c + 0.05 * d
                noise = rng.choice([-0.05, 0.05])
                for model, features, value in (
                    ("ae_h2o", "re", re),
                    ("ae_h2o", "a1", re - 0.2 - 0.001 * c - 0.0005 * d),  # distinct: exact p
                    ("ae_h2o", "a2", re + 0.2 + 0.001 * c),
                    ("pretrained", "a1", re + noise),
                    ("pretrained", "a2", 0.3 - 0.001 * c - 0.0005 * d),  # blind, detects nothing
                ):
                    rows.append(
                        {
                            "run_dir": f"sw/{setting}-{dataset}-{c}-{model}-{features}",
                            "dataset": dataset,
                            "nominal": str(c),
                            "contamination": 0.05,
                            "clutter_share": q,
                            "clutter_strength": 0.7,
                            "clutter_setting": setting,
                            "cap": 1000,
                            "epochs": 30,
                            "seed": 0,
                            "model": model,
                            "features": features,
                            "detector": "iforest",
                            "status": "ok",
                            "auroc": 0.5 if features == "a2" and model == "pretrained" else 0.8,
                            "auroc_vs_clutter": 0.8,
                            "clutter_sensitivity": value,
                            "n": 1053,
                            "n_anomalies": 53,
                            "git_commit": "abc",
                            "seconds_total": 1.0,
                        }
                    )
    path = tmp_path / "results" / "clutter_sweep.csv"
    path.parent.mkdir()
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_clutter_verdict_holds_fails_and_ties_as_generated(sweep, tmp_path):
    table = tab_clutter_verdict.verdicts(pd.read_csv(sweep)).set_index(["setting", "score"])
    assert len(table) == 12 and (table["units"] == 20).all()  # 3 settings x 4 scores, 20 units
    blind = table.xs("EffNet-Lite0 A2", level="score")["verdict"]
    assert (blind == "lower, ranks worse").all()  # least clutter-sensitive, yet it cannot hold
    first = tab_clutter_verdict.premise(pd.read_csv(sweep))
    assert (first["verdict"] == "RE flags clutter").all() and (first["units"] == 10).all()
    assert (table.xs("AE A1", level="score")["verdict"] == "holds").all()
    assert (table.xs("AE A2", level="score")["verdict"] == "fails").all()
    pretrained = table.xs("EffNet-Lite0 A1", level="score")
    assert (pretrained["verdict"] == "tie").all() and (pretrained["RE"] == "AE RE").all()
    a1 = table.loc[("base", "AE A1")]
    assert a1["median difference"] == pytest.approx(-0.2047, abs=1e-3) and a1["score lower"] == 20
    assert a1["p_holm"] == pytest.approx(min(1.0, 12 * 2 / 2**20), rel=1e-6)  # exact, Holm x 12
    out = tmp_path / "verdict.md"
    _script("paper/tables/tab_clutter_verdict.py", sweep, out)
    text = out.read_text()
    assert (
        "Holm-corrected over all 12 tests" in text
        and "| AE A1           | holds              | holds              | holds              |"
        in text
    )
    table = tmp_path / "clutter.md"  # section 4's table: the base setting, a row per unit
    _script("paper/tables/tab_clutter.py", sweep, table)
    rows = [r for r in table.read_text().splitlines() if r.startswith("| clutter_")]
    assert len(rows) == 3 * (2 * 10 + 2)  # 3 metrics x (20 units + a mean per data set)
    assert "| clutter_mnist   | mean    |" in table.read_text()
    fig = tmp_path / "q.png"
    _script("paper/figures/fig_clutter_q.py", sweep, fig)
    assert fig.stat().st_size > 10_000


def test_epochs_check_reports_a_moved_verdict(tmp_path):
    """Made-up runs: at the chosen length AE A1 beats AE RE in all 10 classes and AE A2 ties it;
    at twice the length A1 loses in all 10 and A2 still ties: one verdict of two moved."""
    rows = []
    for length, sign in (("chosen", 1), ("twice", -1)):
        for c in range(10):
            re = 0.7 + 0.01 * c
            for features, auroc in (
                ("re", re),
                ("a1", re + sign * (0.1 + 0.001 * c)),
                ("a2", re + (0.01 if c % 2 else -0.01)),
            ):
                rows.append({"length": length, "dataset": "mnist", "nominal": str(c), "seed": 0,
                             "contamination": 0.1, "model": "ae_h2o", "features": features,
                             "auroc": auroc, "epochs_trained": 30 if length == "chosen" else 60,
                             "status": "ok"})  # fmt: skip
    runs = pd.DataFrame(rows)
    ovr, twice = tmp_path / "ovr.csv", tmp_path / "twice.csv"
    runs[runs["length"] == "chosen"].drop(columns="length").to_csv(ovr, index=False)
    runs[runs["length"] == "twice"].drop(columns="length").to_csv(twice, index=False)
    tab = tab_epochs.table(pd.read_csv(ovr), pd.read_csv(twice)).set_index("comparison")
    assert tab.loc["AE A1 vs AE RE", "chosen: verdict"] == "AE A1 higher"
    assert tab.loc["AE A1 vs AE RE", "twice: verdict"] == "AE RE higher"
    assert tab.loc["AE A1 vs AE RE", "moved"]
    assert not tab.loc["AE A2 vs AE RE", "moved"]
    _script("paper/tables/tab_epochs.py", ovr, twice, tmp_path / "e.md")
    assert "1 of 2 verdicts moved" in (tmp_path / "e.md").read_text()


def test_photo_levers_table_counts_the_draws_each_lever_wins(tmp_path):
    """Made-up levers: one lever above pre_knn on every draw, one below on every draw; the table
    gives 12 / 12 and 0 / 12, pre_knn's own mean, and the paragraph says no lever reached 0.85."""
    from paper import write_paper
    from paper.tables import tab_photo_levers

    rows = []
    for lever, group, shift in (
        (tab_photo_levers.BASE, "features", 0.0),
        ("Lite2 head, 260 px", "features", 0.02),
        ("Isolation Forest, 300 trees", "detector", -0.1),
    ):
        for c in (0, 1):
            for p in (0.05, 0.1):
                for seed in (0, 1, 2):
                    rows.append({"lever": lever, "group": group, "nominal": c,
                                 "contamination": p, "seed": seed,
                                 "auroc": 0.75 + 0.01 * seed + shift, "seconds_detect": 0.1,
                                 "seconds_features_per_image": 0.05, "k_pre_knn": 0.1,
                                 "git_commit": "abc1234"})  # fmt: skip
    levers = pd.DataFrame(rows)
    tab = tab_photo_levers.table(levers).set_index("lever")
    assert tab.loc["Lite2 head, 260 px", "beats pre_knn"] == "12 / 12"
    assert tab.loc["Isolation Forest, 300 trees", "beats pre_knn"] == "0 / 12"
    assert tab.loc[tab_photo_levers.BASE, "AUROC"].startswith("0.760")
    levers.to_csv(tmp_path / "photo_levers.csv", index=False)
    text = write_paper.levers_values(tmp_path)["levers:text"]
    assert "Lite2 head, 260 px (0.780)" in text and "none reaches issue 31's 0.85" in text
    assert "has not been run" in write_paper.levers_values(tmp_path / "absent")["levers:text"]
