"""W&B offline runs, decoded without a network: training curves, ROC / PR curves, score
histograms per group, the grid, a readable unique name and a group."""

import pytest

import wandb_records
from deepad import detector, pipeline

TINY = (
    "dataset=synthetic",
    "dataset.n_per_class=60",
    "+dataset.clutter.share=0.1",
    "+dataset.clutter.strength=0.8",
    "+dataset.clutter.textures=[gravel]",
    "trainer.max_epochs=4",
    "trainer.batch_size=16",
    "model.hidden=[16]",
)


def offline_run(folder, timeout=30.0):
    """The decoded offline run under folder, once wandb's writer has flushed it whole."""
    (path,) = folder.glob("wandb/offline-run-*/run-*.wandb")
    return wandb_records.decode(path, timeout)


@pytest.mark.parametrize("cached", [False, True])
def test_an_offline_run_holds_curves_roc_histograms_grid_and_name(
    make_cfg, tmp_path, monkeypatch, capsys, cached
):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    detector.clear_memory()
    if cached:  # a network loaded from the disk cache shows the curves it was trained with
        pipeline.run(make_cfg(*TINY, out="first"))
        detector.clear_memory()
    over = ("logger=wandb", f"logger.dir={tmp_path / 'wb'}", "logger.group=ovr", "features=a1")
    metrics = pipeline.run(make_cfg(*TINY, *over))
    assert metrics["model_cache"] == ("hit" if cached else "miss")
    run = offline_run(tmp_path / "wb")
    assert run["name"] == "ovr/ae_h2o/a1/iforest/synthetic/nominal=0/p=0.1/seed=0"
    assert run["group"] == "ovr"
    assert run["tags"] == ["synthetic", "ae_h2o", "a1", "iforest"]
    losses = [h["train/loss"] for h in run["history"] if "train/loss" in h]
    assert len(losses) == 4 and losses[-1] < losses[0]  # one step per epoch, falling
    last = run["history"][-1]
    assert (
        last["roc_curve_table/_type"] == "table-file"
        and last["pr_curve_table/_type"] == "table-file"
    )
    for group in ("nominal", "nominal_clutter", "anomaly"):
        assert last[f"score_histogram/{group}/_type"] == "histogram"
    assert last["grid/_type"] == "image-file" and last["auroc"] == metrics["auroc"]
    assert run["summary"]["auroc"] == metrics["auroc"]
    printed = capsys.readouterr().out
    assert "W&B offline run" in printed and "wandb sync" in printed


def test_a_single_run_is_grouped_by_its_data_set_and_tagged_with_what_computed_it(
    make_cfg, tmp_path, monkeypatch
):
    """README's keys: a single run (no experiment group) is grouped "single:<data set>" and
    tagged with its data set, model, score, detector and named method; the summary holds the
    metrics and the label that names the method."""
    monkeypatch.setenv("WANDB_MODE", "offline")
    over = ("logger=wandb", f"logger.dir={tmp_path / 'wb'}", "+method=raw_knn")
    metrics = pipeline.run(make_cfg(*TINY, *over))
    run = offline_run(tmp_path / "wb")
    assert run["group"] == "single:synthetic"
    assert run["tags"] == ["synthetic", "raw", "knn_rel", "raw_knn"]
    for key in ("auroc", "ap", "n_distinct_scores", "seconds_total", "config_key"):
        assert run["summary"][key] == metrics[key]
    assert run["summary"]["label"] == "raw_knn: raw knn_rel"


def test_a_plain_multirun_is_grouped_by_its_swept_keys(tmp_path):
    from test_faults import run_py

    common = ("-m", *TINY[:2], *TINY[5:], "logger=wandb", f"logger.dir={tmp_path}")
    done = run_py(tmp_path, *common, "features=re,a2", env={"WANDB_MODE": "offline"})
    assert done.returncode == 0, done.stderr[-2000:]
    runs = [
        wandb_records.decode(p, 30.0) for p in sorted(tmp_path.glob("wandb/offline-run-*/*.wandb"))
    ]
    assert sorted(r["name"] for r in runs) == [
        "run/ae_h2o/a2/iforest/synthetic/nominal=0/p=0.1/seed=0",
        "run/ae_h2o/re/iforest/synthetic/nominal=0/p=0.1/seed=0",
    ]
    assert {r["group"] for r in runs} == {
        "multirun:dataset,dataset.n_per_class,features,"
        "logger,logger.dir,model.hidden,trainer.batch_size,"
        "trainer.max_epochs"
    }


def test_the_summary_run_of_an_experiment_holds_its_tables_and_figures(tmp_path, monkeypatch):
    import subprocess
    import sys

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from helpers import ROOT

    paper = tmp_path / "paper"
    for sub in ("results", "tables", "figures"):
        (paper / sub).mkdir(parents=True)
    (paper / "results" / "clutter_sweep.csv").write_text("method,auroc\nAE RE,0.9\nAE A2,0.8\n")
    (paper / "tables" / "clutter.md").write_text(
        "caption\n\n**AUROC**\n\n| method | 7 |\n|:--|--:|\n| AE RE | 0.9 |\n\n**AP**\n\n"
        "| method | 7 |\n|:--|--:|\n| AE RE | 0.5 |\n"
    )
    (paper / "tables" / "clutter_verdict.md").write_text(
        "caption\n\n**Tests**\n\n| setting | verdict |\n|:--|:--|\n| base | holds |\n| q01 | tie |\n"
    )
    plt.plot([0, 1])
    plt.savefig(paper / "figures" / "clutter.png")
    env = {"WANDB_MODE": "offline", "PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / "wandb_summary.py"), str(paper)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    assert "W&B summary/clutter_sweep" in done.stdout and "summary/ovr" not in done.stdout
    run = offline_run(tmp_path)
    assert run["name"] == "summary/clutter_sweep" and run["group"] == "clutter_sweep"
    logged = run["history"][-1]
    assert logged["results/nrows"] == 2 and logged["results/_type"] == "table-file"
    assert logged["table/clutter/AUROC/nrows"] == 1 and logged["table/clutter/AP/nrows"] == 1
    assert logged["table/clutter_verdict/Tests/nrows"] == 2
    assert logged["figure/clutter/_type"] == "image-file"


def test_markdown_tables_are_read_by_heading():
    import sys

    from helpers import ROOT

    sys.path.insert(0, str(ROOT / "experiments"))
    from wandb_summary import markdown_tables

    text = "x\n\n**A**\n\n| m | v |\n|:--|--:|\n| r | 1 |\n| s | 2 |\n\n| n |\n|---|\n| t |\n"
    tables = markdown_tables(text)
    assert list(tables) == ["A", ""]
    assert tables["A"].to_dict("list") == {"m": ["r", "s"], "v": ["1", "2"]}
    assert tables[""].to_dict("list") == {"n": ["t"]}
