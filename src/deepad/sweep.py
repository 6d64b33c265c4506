"""An experiment's sweep without Hydra's per-job cost (issue 14): the jobs that
`experiments/run.py -m +experiment=X` runs, into the same folders, with the same configs, but

- composed once per choice of config groups (dataset, features, model, ...), the other overrides
  (seed, nominal class, rate) applied to a copy as Hydra applies them after composing;
- run in `jobs` worker processes that import torch once, each job a call of
  `pipeline.run_recorded` (a finished run is skipped, a failure recorded in error.json);
- grouped by network: the jobs that differ only in `features` / `detector` go to one worker in
  one task, so their network is trained (or read from the cache) once and kept in memory.

Hydra's BasicSweeper composes every job twice (a check up front, then the launcher), and the
joblib launcher sets up logging and writes `.hydra/` per job: about 1.5 core-seconds a job, more
than most runs take. `experiments/sweep.py` is the command; `make reproduce` uses it.
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import io
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from deepad import config
from deepad.config import CONF

SCORING_AXES = ("features", "detector")  # jobs differing only here share one network


@dataclass
class Job:
    overrides: list[str]  # the job's overrides, as Hydra's sweeper lists them
    cfg: DictConfig  # its composed config, paths.output_dir set
    out: Path  # its folder: hydra.sweep.dir / override_dirname


def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def _is_group(override) -> bool:
    """An override that chooses a config option (dataset=mnist, +experiment=ovr) rather than sets a
    value: it changes the defaults list, so it needs a compose of its own."""
    key = override.key_or_group
    return (
        override.is_add() or override.is_delete() or "/" in key or (CONF / key).is_dir()
    ) and not override.is_hydra_override()


def job_overrides(base: DictConfig, arguments: Sequence[str]) -> list[list[str]]:
    """Hydra's BasicSweeper expansion: the experiment's `hydra.sweeper.params` then the command
    line, one axis per key (a later value replaces an earlier one in its place), the product."""
    node = base.hydra.sweeper.get("params")
    params = OmegaConf.to_container(node, resolve=True) if node else {}
    lines = [f"{k}={v}" for k, v in params.items()] + list(arguments)
    axes: dict[str, list[str]] = {}
    for o in _parser().parse_overrides(lines):
        key = o.get_key_element()
        if o.is_sweep_override():
            if not o.is_discrete_sweep():
                raise ValueError(f"{o.input_line}: only comma-separated sweeps are supported")
            axes[key] = [f"{key}={v}" for v in o.sweep_string_iterator()]
        else:
            axes[key] = [f"{key}={o.get_value_element_as_str()}"]
    return [list(combo) for combo in itertools.product(*axes.values())]


def expand(arguments: Sequence[str]) -> list[Job]:
    """Every job of the sweep `experiments/run.py -m ARGUMENTS` runs, with its config and folder."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname

    with config.session():
        parsed = _parser().parse_overrides(list(arguments))
        fixed = [o.input_line for o in parsed if not o.is_sweep_override()]  # no sweep: one config
        base = config.compose(fixed, hydra=True)
        if OmegaConf.to_container(base.hydra.sweep)["subdir"] != "${hydra.job.override_dirname}":
            raise ValueError("hydra.sweep.subdir must be ${hydra.job.override_dirname}")
        sweep_dir = Path(OmegaConf.select(base, "hydra.sweep.dir"))
        naming = base.hydra.job.config.override_dirname
        composed: dict[tuple[str, ...], DictConfig] = {}
        jobs = []
        for lines in job_overrides(base, arguments):
            parsed = _parser().parse_overrides(lines)
            groups = tuple(o.input_line for o in parsed if _is_group(o) or o.is_hydra_override())
            if groups not in composed:
                composed[groups] = config.compose(groups)
            cfg = composed[groups].copy()
            values = [o for o in parsed if not (_is_group(o) or o.is_hydra_override())]
            ConfigLoaderImpl._apply_overrides_to_config(values, cfg)  # as compose applies them
            app = [o for o in parsed if not o.is_hydra_override()]
            name = get_overrides_dirname(
                app, list(naming.exclude_keys), naming.item_sep, naming.kv_sep
            )
            out = sweep_dir / name
            cfg.paths.output_dir = str(out)
            jobs.append(Job(lines, cfg, out))
    return jobs


def expand_slices(arguments: Sequence[str], slices: Sequence[Sequence[str]] = ()) -> list[Job]:
    """The union of the sweeps `run.py -m ARGUMENTS SLICE` over the slices (no slice: the sweep of
    ARGUMENTS), each run once, in slice order. A slice narrows axes of the experiment's product,
    e.g. `dataset.contamination=0.1` (every seed at one rate) and `seed=0` (one seed at every
    rate): a job in two slices has the same overrides, so the same folder, and runs once."""
    jobs: dict[Path, Job] = {}
    for part in slices or [[]]:
        for job in expand([*arguments, *part]):
            jobs.setdefault(job.out, job)
    return list(jobs.values())


def network_groups(jobs: Sequence[Job]) -> list[list[Job]]:
    """Jobs that differ only in the scoring axes, together, in the sweep's order."""
    groups: dict[tuple[str, ...], list[Job]] = {}
    for job in jobs:
        key = tuple(o for o in job.overrides if o.split("=", 1)[0] not in SCORING_AXES)
        groups.setdefault(key, []).append(job)
    return list(groups.values())


def _init_worker(threads: int, parent: int | None = None) -> None:
    """A worker's setup: its torch threads, and (given its parent's pid) its end with the parent:
    on Linux the kernel kills it when the parent dies (prctl PR_SET_PDEATHSIG), elsewhere a
    watchdog thread ends it, so a `kill -9` of the sweep leaves no worker running."""
    import torch

    torch.set_num_threads(threads)
    if parent is None:
        return
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def run_group(jobs: Sequence[Job]) -> list[tuple[str, dict | None, str]]:
    """In a worker: each job's run, its output kept in the run folder's run.log."""
    from deepad import pipeline

    results = []
    for job in jobs:
        job.out.mkdir(parents=True, exist_ok=True)
        log = io.StringIO()
        with contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
            metrics = pipeline.run_recorded(job.cfg)
        text = log.getvalue()
        (job.out / "run.log").write_text(text)
        last = [line for line in text.splitlines() if line.startswith("[deepad]")]
        results.append((job.out.name, metrics, last[-1] if last else ""))
    return results


def run(
    arguments: Sequence[str],
    jobs: int = 2,
    threads: int | None = None,
    slices: Sequence[Sequence[str]] = (),
) -> dict[str, int]:
    """Run the sweep of `experiments/run.py -m ARGUMENTS` (or the union of its `slices`,
    `expand_slices`) in `jobs` processes (`threads` torch threads each; default cores // jobs);
    returns counts of runs done, skipped and failed."""
    t0 = time.perf_counter()
    todo = expand_slices(arguments, slices)
    groups = network_groups(todo)
    threads = threads or max(1, (os.cpu_count() or 1) // jobs)
    named = [a.split("=", 1)[1] for a in arguments if a.lstrip("+").startswith("experiment=")]
    tag = f"[sweep {named[0]}]" if named else "[sweep]"  # make -j interleaves several sweeps
    print(f"{tag} {len(todo)} runs, {len(groups)} networks, {jobs} jobs x {threads} threads")
    counts = {"runs": len(todo), "done": 0, "skipped": 0, "failed": 0}

    def report(i: int, results: list[tuple[str, dict | None, str]]) -> None:
        for name, metrics, line in results:
            skipped = line.startswith("[deepad] skipped")  # pipeline.run found it finished
            status = "failed" if metrics is None else "skipped" if skipped else "done"
            counts[status] += 1
            print(f"{tag} {i}/{len(groups)} {status}: {line or name}", flush=True)

    if jobs == 1:  # in this process: no worker to start (make -j runs several sweeps at once)
        _init_worker(threads)
        for i, group in enumerate(groups, 1):
            report(i, run_group(group))
    else:
        context = multiprocessing.get_context("spawn")  # no forked torch threads
        pool = futures.ProcessPoolExecutor(jobs, context, _init_worker, (threads, os.getpid()))
        try:
            pending = [pool.submit(run_group, group) for group in groups]
            for i, future in enumerate(futures.as_completed(pending), 1):
                report(i, future.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
    print(
        f"{tag} {counts['done']} run, {counts['skipped']} skipped (finished before), "
        f"{counts['failed']} failed, in {time.perf_counter() - t0:.0f} s",
        file=sys.stderr if counts["failed"] else sys.stdout,
    )
    return counts
