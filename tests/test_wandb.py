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
    detector._FITTED.clear()
    if cached:  # a network loaded from the disk cache shows the curves it was trained with
        pipeline.run(make_cfg(*TINY, out="first"))
        detector._FITTED.clear()
    over = ("logger=wandb", f"logger.dir={tmp_path / 'wb'}", "logger.group=ovr", "features=a1")
    metrics = pipeline.run(make_cfg(*TINY, *over))
    assert metrics["model_cache"] == ("hit" if cached else "miss")
    run = offline_run(tmp_path / "wb")
    assert run["name"] == "ovr/ae_h2o/a1/iforest/synthetic/nominal=0/p=0.1/seed=0"
    assert run["group"] == "ovr"
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
