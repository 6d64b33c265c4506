"""deepad.sweep: the jobs, folders and configs of `run.py -m`, without Hydra's per-job cost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from deepad import sweep
from deepad.config import choices, compose

EXPERIMENTS = choices("experiment")


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_job_is_the_config_hydra_composes(experiment, monkeypatch):
    """Each experiment's jobs (quick profile): their number is the product of the sweep's axes,
    folder names are Hydra's override_dirname, and the first, middle and last config equal a
    full compose of the job's overrides."""
    monkeypatch.setenv("IMAGENET", "/data/imagenet/train")  # imagenet*.yaml read it
    args = ["profile=quick", f"+experiment={experiment}"]
    jobs = sweep.expand(args)
    base = compose(args, hydra=True)
    params = OmegaConf.to_container(base.hydra.sweeper.params, resolve=True)
    sizes = [
        len(str(v).split(",")) if "[" not in str(v) else str(v).count("]") for v in params.values()
    ]
    expected = 1
    for n in sizes:
        expected *= n
    assert len(jobs) == expected
    assert len({job.out for job in jobs}) == len(jobs)  # one folder a run
    for job in (jobs[0], jobs[len(jobs) // 2], jobs[-1]):
        assert job.out.parent == Path(f"outputs/sweeps/quick/{experiment}")
        names = sorted(
            o for o in job.overrides if o.split("=")[0] not in ("profile", "+experiment")
        )
        assert job.out.name == ",".join(names)
        full = compose(job.overrides)
        full.paths.output_dir = str(job.out)
        assert OmegaConf.to_container(job.cfg, resolve=True) == OmegaConf.to_container(
            full, resolve=True
        )


def test_a_sweep_trains_each_network_once_and_resumes(tmp_path, capsys):
    """Two features x two seeds on generated bars: two networks trained (the second feature of
    each reads it from memory), the AUROC of each run written; run again, everything is skipped;
    a job that fails leaves error.json and counts as failed, the others run."""
    args = [
        "dataset=synthetic",
        "dataset.n_per_class=60",
        "trainer.max_epochs=2",
        "features=re,a1",
        "seed=0,1",
        "logger=none",
        f"paths.cache={tmp_path / 'cache'}",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
    ]
    counts = sweep.run(args, jobs=1, threads=1)
    assert counts == {"runs": 4, "done": 4, "skipped": 0, "failed": 0}
    runs = [json.loads(p.read_text()) for p in sorted((tmp_path / "sweep").glob("*/metrics.json"))]
    assert len(runs) == 4 and all(0.0 <= r["auroc"] <= 1.0 for r in runs)
    assert sorted(r["model_cache"] for r in runs) == ["hit", "hit", "miss", "miss"]
    assert len({r["model_key"] for r in runs}) == 2
    assert sweep.run(args, jobs=1, threads=1)["skipped"] == 4
    bad = [*args[:-1], f"hydra.sweep.dir={tmp_path / 'bad'}", "dataset.nominal=[0],[99]"]
    counts = sweep.run(bad, jobs=2, threads=1)  # the worker pool (jobs=1 runs in-process)
    assert counts["failed"] == 4 and counts["skipped"] == 0  # nominal 99: no such class
    errors = list((tmp_path / "bad").glob("*/error.json"))
    assert len(errors) == 4 and "99" in json.loads(errors[0].read_text())["error"]


def test_slices_run_the_union_of_narrowed_sweeps_once():
    """ovr's two slices in the full profile: every seed at p = 0.1 and seed 0 at every p. The
    union holds 3 + 4 - 1 rate x seed cells per (features, data set, class); the shared cell
    has one folder and one job, named as in the whole product."""
    args = ["profile=full", "+experiment=ovr"]
    whole = {job.out: job for job in sweep.expand(args)}
    union = sweep.expand_slices(args, [["dataset.contamination=0.1"], ["seed=0"]])
    assert len(whole) == 4 * 2 * 4 * 3 * 10 and len(union) == 4 * 2 * 6 * 10
    assert len({job.out for job in union}) == len(union)
    assert all(job.out in whole for job in union)  # the product's folders, narrowed
    cells = {(job.cfg.dataset.contamination, job.cfg.seed) for job in union}
    assert cells == {(0.1, 0), (0.1, 1), (0.1, 2), (0.01, 0), (0.05, 0), (0.2, 0)}
    assert sweep.expand_slices(args) == sweep.expand(args)  # no slice: the whole sweep
