"""run(cfg) end to end on composed real configs: outputs, cache, determinism, W&B, Hydra multirun."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from deepad import detector, keys, pipeline, store
from deepad.config import compose
from helpers import ROOT

TINY = (
    "dataset=synthetic",
    "dataset.n_per_class=60",
    "trainer.max_epochs=20",
    "trainer.batch_size=16",
    "model.hidden=[16]",
    "model.lr=3e-3",
)  # 67 images, 100 steps: under a second


def hydra_cli(cwd, *overrides: str) -> subprocess.CompletedProcess:
    """experiments/run.py in a subprocess, as a user runs it, with W&B offline."""
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, str(ROOT / "experiments" / "run.py"), *overrides]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_run_writes_every_output(make_cfg, tmp_path):
    m = pipeline.run(make_cfg(*TINY, "features=a2"))
    out = tmp_path / "run"
    saved = json.loads((out / "metrics.json").read_text())
    assert saved["auroc"] == m["auroc"]
    for key in (
        "auroc",
        "ap",
        "n",
        "n_anomalies",
        "p_actual",
        "seconds_train",
        "seconds_features",
        "seconds_detect",
        "seconds_data",
        "git_commit",
        "model_cache",
    ):
        assert key in saved
    assert saved["n"] == 60 + 7 and saved["n_anomalies"] == 7 and saved["feature_dim"] == 16
    scores = pd.read_csv(out / "scores.csv")
    assert len(scores) == 67 and {"source_index", "score"} <= set(scores.columns)
    assert (out / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    resolved = yaml.safe_load((out / "config.yaml").read_text())
    assert resolved["dataset"]["nominal"] == [0] and resolved["features"]["name"] == "a2"
    kept = np.load(out / "extremes.npz")  # ugly / median / good, 16 each (67 // 3 >= 16)
    assert kept["images"].shape == (3, 16, 1, 28, 28) and kept["scores"].shape == (3, 16)
    assert kept["scores"][0].min() >= kept["scores"][1].max() >= kept["scores"][2].max()
    assert (kept["rank"][0] == np.arange(16)).all()


def test_p_zero_scores_a_clean_set_without_auroc(make_cfg, tmp_path):
    m = pipeline.run(make_cfg(*TINY, "dataset.nominal=[0,1]", "dataset.contamination=0"))
    assert m["n"] == 120 and m["n_anomalies"] == 0 and m["auroc"] is None  # strict JSON: null
    kept = np.load(tmp_path / "run" / "extremes.npz")
    assert set(kept["groups"].ravel()) == {"nominal"}


def test_synthetic_anomalies_are_found(make_cfg):
    """Bars at other angles are clearly different: every method ranks them high."""
    for variant in ("re", "a1", "raw"):
        m = pipeline.run(make_cfg(*TINY, f"features={variant}", out=variant))
        assert m["auroc"] > 0.9, variant


def test_one_model_serves_every_variant_and_disk_cache_is_used(make_cfg, tmp_path):
    detector.clear_memory()
    status = [
        pipeline.run(make_cfg(*TINY, f"features={v}", out=v))["model_cache"]
        for v in ("re", "a1", "a2")
    ]
    assert status == ["miss", "hit", "hit"]
    assert len(list((tmp_path / "cache" / "models").glob("*.pt"))) == 1
    detector.clear_memory()  # a new process: the disk cache serves
    assert pipeline.run(make_cfg(*TINY, "features=re", out="again"))["model_cache"] == "hit"
    assert pipeline.run(make_cfg(*TINY, "features=re", "seed=1", out="s1"))["model_cache"] == "miss"


def test_same_seed_same_numbers(make_cfg, tmp_path):
    runs = []
    for name in ("a", "b"):
        detector.clear_memory()
        cfg = make_cfg(*TINY, "features=a1", f"paths.cache={tmp_path / name}", out=name)
        pipeline.run(cfg)
        runs.append(pd.read_csv(tmp_path / name / "scores.csv"))
    np.testing.assert_array_equal(runs[0]["score"], runs[1]["score"])


def test_wandb_offline_run_is_written(make_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    cfg = make_cfg(*TINY, "features=re", "logger=wandb", f"logger.dir={tmp_path / 'wb'}")
    pipeline.run(cfg)
    runs = list((tmp_path / "wb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1 and list(runs[0].glob("run-*.wandb"))


def test_hydra_multirun_trains_once(tmp_path):
    done = hydra_cli(
        tmp_path,
        "-m",
        "features=re,a1,a2",
        *TINY,
        "logger=none",
        "trainer.progress_bar=false",
        f"paths.cache={tmp_path / 'cache'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = [
        json.loads(p.read_text()) for p in sorted((tmp_path / "sweep").rglob("metrics.json"))
    ]
    assert len(metrics) == 3
    assert sorted(m["model_cache"] for m in metrics) == ["hit", "hit", "miss"]
    assert len({m["auroc"] for m in metrics}) == 3  # three different scores from one model


def test_bad_contamination_from_the_command_line_fails_clearly(tmp_path):
    done = hydra_cli(
        tmp_path,
        *TINY,
        "dataset.contamination=0.7",
        "logger=none",
        f"hydra.run.dir={tmp_path / 'r'}",
    )
    assert done.returncode == 2
    assert done.stderr == (
        "run.py: error: dataset.contamination=0.7: need a number from 0.0 to 0.5 "
        "(p = anomalies / (nominal + anomalies))\n"
    )


@pytest.mark.parametrize("model", ["ae_dense", "ae_conv"])
def test_other_autoencoders_run(make_cfg, model):
    m = pipeline.run(
        make_cfg(
            "dataset=synthetic",
            "dataset.n_per_class=60",
            "trainer.max_epochs=2",
            f"model={model}",
            "features=a2",
        )
    )
    assert 0.0 <= m["auroc"] <= 1.0 and m["feature_dim"] > 16


def test_real_mnist_nominal_one_re_auroc(make_cfg):
    """MNIST, nominal 1, p = 0.1, 3 epochs of ae_h2o. Measured 0.989 (seed 0) and 0.984 (seed 1)."""
    m = pipeline.run(
        make_cfg(
            "dataset=mnist",
            "dataset.nominal=[1]",
            "dataset.contamination=0.1",
            "trainer.max_epochs=3",
            "features=re",
        )
    )
    assert m["n"] == 6742 + 749
    assert m["auroc"] > 0.96


def test_finished_run_is_skipped_and_rerun_forces(make_cfg, tmp_path, capsys):
    first = pipeline.run(make_cfg(*TINY, "features=a1"))
    stamp = (tmp_path / "run" / "metrics.json").stat().st_mtime_ns
    again = pipeline.run(make_cfg(*TINY, "features=a1"))
    assert "skipped: results for this config exist" in capsys.readouterr().out
    assert again == first and (tmp_path / "run" / "metrics.json").stat().st_mtime_ns == stamp
    assert pipeline.run(make_cfg(*TINY, "features=a1", "rerun=true"))["auroc"] == first["auroc"]
    other = pipeline.run(make_cfg(*TINY, "features=a1", "seed=1"))  # another config: not skipped
    assert other["config_key"] != first["config_key"]


def test_results_record_library_versions_and_another_torch_reruns(make_cfg, monkeypatch, capsys):
    first = pipeline.run(make_cfg(*TINY, "features=a1"))
    assert first["version_torch"] == torch.__version__
    recorded = {k.removeprefix("version_") for k in first if "version_" in k}
    assert recorded == {*store.LIBRARIES, "mkl-dispatch"}
    assert first["version_mkl-dispatch"] == store.mkl_dispatch()
    other = {**store.library_versions(), "torch": "0.0.1"}
    monkeypatch.setattr(keys, "library_versions", lambda: other)  # the run and network keys
    capsys.readouterr()
    again = pipeline.run(make_cfg(*TINY, "features=a1"))  # same config, other torch: not reused
    out = capsys.readouterr().out
    assert "skipped" not in out and "| model miss |" in out
    assert again["config_key"] != first["config_key"]


def test_mkl_dispatch_names_the_preloaded_shim(tmp_path):
    """A process with the Makefile's one-line library preloaded (any file name) reports "shim";
    one without it, MKL's own path."""
    import shutil

    assert store.mkl_dispatch() == "vendor"  # the tests run without the preload
    if not shutil.which("cc"):
        pytest.skip("no C compiler to build the shim")
    shim = tmp_path / "another-name.so"
    source = "int mkl_serv_intel_cpu_true(void) { return 1; }\n"
    subprocess.run(["cc", "-shared", "-fPIC", "-x", "c", "-o", str(shim), "-"], input=source,
                   text=True, check=True)  # fmt: skip
    probe = [sys.executable, "-c", "from deepad import store; print(store.mkl_dispatch())"]
    out = subprocess.run(probe, env={**os.environ, "LD_PRELOAD": str(shim)}, capture_output=True,
                         text=True, check=True)  # fmt: skip
    assert out.stdout.strip() == "shim"


def test_sweep_records_a_failure_goes_on_and_resumes(tmp_path):
    sweep = tmp_path / "sweep"
    args = (
        "-m",
        "dataset.contamination=0.7,0.1",
        *TINY,
        "features=raw",
        "logger=none",
        f"paths.cache={tmp_path / 'cache'}",
        f"hydra.sweep.dir={sweep}",
        "hydra.sweep.subdir=${hydra.job.override_dirname}",
    )
    done = hydra_cli(tmp_path, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    errors = list(sweep.rglob("error.json"))
    assert len(errors) == 1 and "dataset.contamination=0.7: need a number" in errors[0].read_text()
    assert len(list(sweep.rglob("metrics.json"))) == 1  # the sweep went on past the failure
    again = hydra_cli(tmp_path, *args)
    assert again.stdout.count("skipped: results for this config exist") == 1
    collect = [
        sys.executable,
        str(ROOT / "experiments" / "collect.py"),
        str(sweep),
        str(tmp_path / "r.csv"),
        "--scores=contamination == 0.1",
        "--extremes=features == 'raw'",
    ]
    collected = subprocess.run(collect, capture_output=True, text=True)
    assert "2 runs, 1 failed" in collected.stdout, collected.stderr[-2000:]
    table = pd.read_csv(tmp_path / "r.csv")
    assert sorted(table["status"]) == ["failed", "ok"]
    scores = pd.read_csv(tmp_path / "r_scores.csv.gz")  # the finished run's 67 image scores
    assert len(scores) == 67 and set(scores["run_dir"]) == set(
        table["run_dir"][table["status"] == "ok"]
    )
    kept = np.load(tmp_path / "r_extremes.npz")
    assert kept["images"].shape == (1, 3, 16, 1, 28, 28) and len(kept["run_dir"]) == 1
    first = {p.name: p.read_bytes() for p in tmp_path.glob("r*.*")}
    subprocess.run(collect, capture_output=True, check=True)  # collected again: the same bytes
    assert {p.name: p.read_bytes() for p in tmp_path.glob("r*.*")} == first
    bad = subprocess.run([*collect[:4], "--scores=seed == 99"], capture_output=True, text=True)
    assert bad.returncode != 0 and "no finished run matches 'seed == 99'" in bad.stderr


@pytest.mark.parametrize(
    ("profile", "classes", "ps", "seeds", "epochs"),
    [("full", 10, 4, 3, 30), ("quick", 2, 1, 1, 10)],
)
def test_profiles_set_the_experiment_matrix(profile, classes, ps, seeds, epochs):
    cfg = compose(["+experiment=ovr", f"profile={profile}"], hydra=True)
    params = cfg.hydra.sweeper.params
    assert len(params["dataset.nominal"].split("],[")) == classes
    assert len(str(params["dataset.contamination"]).split(",")) == ps
    assert len(str(params["seed"]).split(",")) == seeds
    assert list(params)[0] == "features"  # slowest axis: the re runs train every model first
    assert cfg.hydra.sweep.dir == f"outputs/sweeps/{profile}/ovr"
    assert cfg.trainer.max_epochs == epochs


def test_slurm_launcher_config_composes():
    cfg = compose(["hydra/launcher=slurm", "hydra.launcher.partition=cpu"], hydra=True)
    launcher = cfg.hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (
        launcher.partition == "cpu" and launcher.timeout_min == 60 and launcher.cpus_per_task == 2
    )


LAUNCHERS = [
    pytest.param(("hydra/launcher=joblib", "hydra.launcher.n_jobs=2"), id="joblib"),
    pytest.param(
        (
            "hydra/launcher=submitit_local",
            "hydra.launcher.timeout_min=10",
            "hydra.launcher.cpus_per_task=1",
        ),
        id="submitit_local",
        marks=pytest.mark.slow,
    ),
]


@pytest.mark.parametrize("launcher", LAUNCHERS)
def test_launcher_runs_jobs_in_separate_processes(tmp_path, launcher):
    done = hydra_cli(
        tmp_path,
        "-m",
        *launcher,
        "threads=1",
        "features=re,raw",
        *TINY,
        "logger=none",
        "trainer.progress_bar=false",
        f"paths.cache={tmp_path / 'cache'}",
        f"hydra.sweep.dir={tmp_path / 'sw'}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = [json.loads(p.read_text()) for p in (tmp_path / "sw").rglob("metrics.json")]
    assert len(metrics) == 2 and all(m["auroc"] > 0.5 for m in metrics)


def test_fit_split_trains_on_one_split_and_scores_another(make_cfg):
    """H2O's protocol (dataset.fit_split): the network of a run that fits on the train split and
    scores the test split is the network a transductive run on the train split trains."""
    common = ["dataset=mnist", "dataset.nominal=[1]", "dataset.cap=300", "trainer.max_epochs=2"]
    train = pipeline.run(make_cfg(*common, "dataset.split=train", out="train"))
    held = pipeline.run(
        make_cfg(*common, "dataset.split=test", "dataset.fit_split=train", out="held")
    )
    test = pipeline.run(make_cfg(*common, "dataset.split=test", out="test"))
    assert held["model_key"] == train["model_key"] != test["model_key"]
    assert held["n_fit"] == train["n"] and held["n"] == test["n"]
    assert held["auroc"] != test["auroc"]  # the test split scored by another network
    with pytest.raises(ValueError, match="dataset.fit_split=val: choose train, test or all"):
        pipeline.run(make_cfg(*common, "dataset.fit_split=val", out="bad"))
