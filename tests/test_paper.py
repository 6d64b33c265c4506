"""The paper's table, figure and write-up scripts on small generated results files: they read only
them, and their numbers are the means and tests of their rows."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT

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
                pd.DataFrame({"run_dir": run_dir, "index": range(500), "score": s}).assign(
                    **{"class": np.arange(500) % 10}
                )
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
    done = subprocess.run(
        [sys.executable, str(ROOT / path), *map(str, args)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def test_ovr_table_mean_and_std_over_seeds(results, tmp_path):
    _script("paper/tables/tab_ovr.py", results, tmp_path / "ovr.md")
    md = (tmp_path / "ovr.md").read_text()
    assert "**AUROC**" in md and "**AP**" in md and "(commit abc)" in md
    rows = [line for line in md.splitlines() if line.replace(" ", "").startswith("|mnist|0.1|")]
    # AE RE: classes 0.90..0.92 (mean 0.91), seeds +0 / +0.02 -> 0.920 ± 0.014; AE A1 0.620 ± 0.014
    assert "0.920 ± 0.014" in rows[0] and "0.620 ± 0.014" in rows[0]
    assert "0.460 ± 0.007" in rows[1]  # the AP table: AUROC / 2
    assert "3 nominal classes x 2 seeds" in md


def test_wilcoxon_per_p_and_published_tables(results, tmp_path):
    _script("paper/tables/tab_wilcoxon.py", results, tmp_path / "w.md")
    w = (tmp_path / "w.md").read_text()
    a1 = [line for line in w.splitlines() if "AE A1 vs AE RE" in line]
    assert len(a1) == 4  # 2 data sets x 2 p
    cells = [[c.strip() for c in line.split("|")[1:-1]] for line in a1]
    assert all(c[3:6] == ["6", "0", "-0.3"] for c in cells)  # 6 pairs, 0 wins, 0.3 below
    _script("paper/tables/tab_published.py", results, tmp_path / "p.md")
    p = (tmp_path / "p.md").read_text()
    assert "0.819" in p and "ODIM" in p and "AE RE (ours)" in p


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
    assert "\n\nRE 0.920 vs A1 0.620, wins 0/6, runs 72, absent n/a\n" in text
    assert "**AUROC**" in text and "![roc](figures/roc.png)" in text
    assert "OCSVM 0.847" in text  # the cited number of tab_published.py, not a copy
    assert "made with numpy 2.4.6, torch 2.13.0+cpu\n" in text
    assert "no result for {{auroc:mnist:0.5:AE RE}}" in done.stderr


def test_quick_profile_writes_outside_the_committed_paper():
    plan = subprocess.run(
        ["make", "-n", "-B", "reproduce", "PROFILE=quick"], cwd=ROOT, capture_output=True, text=True
    )
    assert plan.returncode == 0, plan.stderr[-2000:]
    writes = plan.stdout
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
    assert "paper/write_paper.py" in done.stdout and "tab_ovr.py" in done.stdout
    planned = subprocess.run(
        ["make", "-n", "reproduce"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "results PROFILE=full" in planned.stdout and "paper PROFILE=full" in planned.stdout
