"""One run: build the image set, fit (or load) the model, extract features, score, evaluate, write.

The flow of DESIGN.md; the only place that wires the steps. Transductive, as in the proposal:
the model and the detector are fit on the contaminated set and score that same set.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from omegaconf import DictConfig, OmegaConf

from deepad import config, detect, features, report, validate
from deepad.data import folders, sets, sources
from deepad.detector import Detector
from deepad.keys import run_key
from deepad.store import (
    git_commit,
    library_versions,
    strict,
    write_atomic,
    write_json,
    write_npz,
    write_text,
)


def describe(cfg: DictConfig) -> str:
    """What computes a run's scores, in words: "ae_h2o a2 iforest", "raw_knn: raw knn_rel",
    "ensemble: rank average of dbn_knn + pre_knn + ae_trim" (a run's label and grid title)."""
    variant = cfg.features.name
    if variant == "ensemble":
        core = "rank average of " + " + ".join(map(str, cfg.features.members or []))
    else:
        used = [cfg.model.name] if features.NEEDS_MODEL.get(variant, True) else []
        core = " ".join([*used, variant, cfg.detector.name])
    return f"{cfg.method}: {core}" if cfg.get("method") else core


def run_name(cfg: DictConfig) -> str:
    """A W&B run's name, unique within a project: experiment / model / features / detector /
    data set / nominal / p / seed."""
    nominal = "+".join(str(c) for c in (cfg.dataset.get("nominal") or [])) or "all"
    experiment = cfg.logger.get("group") or "run"
    parts = (cfg.model.name, cfg.features.name, cfg.detector.name, cfg.dataset.name)
    p = cfg.dataset.get("contamination")
    return "/".join([experiment, *parts, f"nominal={nominal}", f"p={p}", f"seed={cfg.seed}"])


def run_group(cfg: DictConfig) -> str:
    """The run's W&B group: its experiment's; a plain multirun's, by the keys it sweeps; a single
    run's, by its data set ("single:mnist")."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if cfg.logger.get("group"):
        return cfg.logger.group
    if HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN:
        task = HydraConfig.get().overrides.task
        return "multirun:" + ",".join(sorted(o.split("=", 1)[0] for o in task))
    return f"single:{cfg.dataset.name}"


def run_tags(cfg: DictConfig) -> list[str]:
    """The run's W&B tags: the experiment's own, then its data set, model (if used), score and
    detector, and its named method."""
    variant = cfg.features.name
    used = [cfg.model.name] if features.NEEDS_MODEL.get(variant, True) else []
    named = [cfg.method] if cfg.get("method") else []
    parts = [
        *cfg.logger.get("tags", []),
        cfg.dataset.name,
        *used,
        variant,
        cfg.detector.name,
        *named,
    ]
    return list(dict.fromkeys(map(str, parts)))


def finished(out: Path, key: str) -> dict | None:
    """The metrics already written in `out` for this config key, if any."""
    path = out / "metrics.json"
    if path.is_file():
        metrics = json.loads(path.read_text())
        if metrics.get("config_key") == key:
            return metrics
    return None


def fit_set(dataset: DictConfig) -> sets.ImageSet | None:
    """The images a run fits its network and detector on when `dataset.fit_split` names another
    split (H2O's ugly digits: train on the training digits, score the test digits): the same
    recipe (classes, rate, seed) drawn from that split. None when unset: fit on the scored set."""
    split = dataset.get("fit_split")
    if not split:
        return None
    recipe = OmegaConf.to_container(dataset, resolve=True)
    recipe.update(split=split, fit_split=None)
    return sets.build(OmegaConf.create(recipe))


def run(cfg: DictConfig) -> dict:
    """Run one configuration; write its outputs under cfg.paths.output_dir; return its metrics.
    A run whose metrics.json exists for the same config is skipped (`rerun=true` forces it)."""
    return run_scored(cfg)[0]


def run_scored(cfg: DictConfig) -> tuple[dict, pd.DataFrame]:
    """`run`, returning its per-image scores too (the table of scores.csv: index, [file,] score,
    rank, ...); a skipped run's are its own scores.csv, which its metrics.json vouches for."""
    validate.check(cfg)  # unknown keys, values out of range, unwritable paths: one line each
    with folders.listed_once():  # a folder data set is listed once: keys and images agree
        return _run(cfg)


def _run(cfg: DictConfig) -> tuple[dict, pd.DataFrame]:
    t0 = time.perf_counter()
    out = Path(cfg.paths.output_dir)
    key = run_key(cfg)
    if not cfg.get("rerun", False) and (done := finished(out, key)) is not None:
        print(f"[deepad] skipped: results for this config exist in {out} (rerun=true to redo)")
        return done, pd.read_csv(out / "scores.csv")
    out.mkdir(parents=True, exist_ok=True)
    if cfg.get("threads"):
        torch.set_num_threads(int(cfg.threads))  # e.g. 1 per job under hydra/launcher=joblib
    torch.manual_seed(int(cfg.seed))
    np.random.seed(int(cfg.seed))

    data = sets.build(cfg.dataset)
    fit = fit_set(cfg.dataset)  # None: fit on the set it scores (transductive, the proposal's)
    t1 = time.perf_counter()
    det = Detector.from_config(cfg, cache=Path(cfg.paths.cache))  # one path
    if fit is None:
        scores = det.fit(data.images).decision_scores_  # (N,), higher = more anomalous
        ties = det.ties_
    else:
        scores = det.fit(fit.images).decision_function(data.images)  # (N,) of the scored set
        ties = detect.ties(scores)

    metrics = detect.evaluate(scores, data.record)  # the only reader of the labels
    metrics.update(ties)  # n_distinct_scores, tied_share (Detector warns when mostly ties)
    metrics["n_fit"] = len(data) if fit is None else len(fit)  # the images the network saw
    order = detect.order(scores, int(cfg.seed))  # most anomalous first; ties by the seed
    p = cfg.dataset.get("contamination")  # None: an unlabelled folder, taken as it is
    metrics.update(
        p=float("nan") if p is None else float(p),
        p_actual=float("nan") if p is None else metrics["n_anomalies"] / metrics["n"],
        feature_dim=det.feature_dim_,
        model_cache=det.model_cache_,
        model_key=getattr(det, "model_key_", None),  # runs of one network share it
        max_epochs=det.max_epochs_,  # what the network may train (the DBN: per layer x layers)
        epochs_trained=len(det.curves_) or None,  # fewer than max_epochs: a stopping rule ended it
        seconds_data=t1 - t0,
        **{f"seconds_{step}": v for step, v in det.seconds_.items()},  # train, features, detect
        torch_threads=torch.get_num_threads(),  # what the seconds were measured with
        git_commit=git_commit(),
        config_key=key,
        **{f"version_{name}": v for name, v in library_versions().items()},
    )
    data_name = (
        f"{cfg.dataset.root} (unlabelled)"
        if p is None
        else f"{cfg.dataset.name} nominal={list(cfg.dataset.nominal)} p={p}"
    )
    metrics["label"] = describe(cfg)
    title = f"{data_name} {metrics['label']}" + (
        "" if np.isnan(metrics["auroc"]) else f": AUROC {metrics['auroc']:.3f}"
    )
    resolved = OmegaConf.to_container(cfg, resolve=True)
    write_text(out / "config.yaml", OmegaConf.to_yaml(OmegaConf.create(resolved)))
    frame = pd.DataFrame(
        {
            "index": np.arange(len(data)),
            "source_index": data.source_index,
            "score": scores,
            "rank": detect.rank(scores, int(cfg.seed)),  # 1 = most anomalous
            "is_anomaly": data.record.is_anomaly,
            "group": data.record.groups,
            "class": data.record.classes,
        }
    )
    if data.files is not None:  # a user's folder: which file each score belongs to
        frame.insert(2, "file", data.files)
    write_atomic(out / "scores.csv", lambda tmp: frame.to_csv(tmp, index=False))
    if det.curves_:  # the network's per-epoch training curves, also when it came from the cache
        write_json(out / "curves.json", det.curves_)
    picks = report.extremes(data.images, scores, data.record, order)
    write_npz(out / "extremes.npz", picks)
    grid = report.extremes_grid(data.images, order, data.record, out / "grid.png", title)
    metrics["seconds_total"] = time.perf_counter() - t0
    write_json(out / "metrics.json", metrics)
    (out / "error.json").unlink(missing_ok=True)  # an earlier failure of this run is superseded
    if cfg.logger.name == "wandb":  # after the results: a logger's failure cannot undo them
        _log_wandb(cfg, resolved, metrics, grid, scores, data.record, det.curves_)
    print(
        f"[deepad] {title} | AP {metrics['ap']:.3f} | n={metrics['n']} anomalies={metrics['n_anomalies']} "
        f"| model {det.model_cache_} | {metrics['seconds_total']:.1f}s -> {out}"
    )
    return strict(metrics), frame


def _log_wandb(cfg, resolved, metrics, grid, scores, record, curves) -> None:
    """The run's W&B run; if W&B fails, one warning line (the run's results stand as written)."""
    try:
        plots = report.score_plots(scores, record)
        run_dir, mode, url = report.log_wandb(
            cfg.logger, resolved, metrics, {"grid": grid}, run_name(cfg), run_group(cfg),
            curves, plots, run_tags(cfg),
        )  # fmt: skip
    except Exception as err:  # noqa: BLE001 - the results are written; the log is extra
        why = " ".join(str(err).split())[:200] or type(err).__name__
        print(
            f"[deepad] warning: W&B logging failed ({type(err).__name__}: {why}); the run's "
            f"results are written in {cfg.paths.output_dir}; rerun=true logs it again",
            file=sys.stderr,
        )
        return
    if mode == "offline" and run_dir:
        print(f"[deepad] W&B offline run {run_dir}; upload it with: wandb sync {run_dir}")
    elif mode == "online" and url:
        print(f"[deepad] W&B run {url}")


def run_recorded(cfg: DictConfig) -> dict | None:
    """run(cfg) inside a sweep: a failure is written to error.json in the run's directory (message,
    traceback, config) and printed, and the sweep goes on; `experiments/collect.py` lists it."""
    try:
        return run(cfg)
    except Exception as err:  # noqa: BLE001 - every failure is recorded, then the sweep continues
        out = Path(cfg.paths.output_dir)
        record = {
            "error": f"{type(err).__name__}: {err}",
            "traceback": traceback.format_exc(),
            "config_key": run_key(cfg),
            "git_commit": git_commit(),
        }
        write_json(out / "error.json", record)
        write_text(
            out / "config.yaml",
            OmegaConf.to_yaml(OmegaConf.create(OmegaConf.to_container(cfg, resolve=True))),
        )
        print(f"[deepad] FAILED: {record['error']} -> {out / 'error.json'}", file=sys.stderr)
        return None


USER_ERRORS = (validate.ConfigError, sources.DataSourceError)  # bad input, not a bug


def main(cfg: DictConfig) -> float:
    """What `experiments/run.py` calls: a single run stops on bad input with one line naming the
    key, the value and the fix (exit code 2; the traceback with HYDRA_FULL_ERROR=1); a run inside a
    multirun records its error and lets the sweep go on. Returns the AUROC (NaN if it failed)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    multirun = HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    if multirun:
        metrics = run_recorded(cfg)
        return float("nan") if metrics is None else metrics["auroc"]
    try:
        return run(cfg)["auroc"]
    except USER_ERRORS as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"run.py: error: {err}", file=sys.stderr)
        sys.exit(2)


def precheck(argv: list[str]) -> None:
    """What `experiments/run.py` checks before Hydra starts (whose own errors are tracebacks with
    exit 1): the command line composes (a bad option name or key is one line) and the run's
    folder, or a multirun's, can be written. One line and exit 2 otherwise."""
    from hydra.errors import HydraException

    if any(a.startswith("-") and a not in ("-m", "--multirun") for a in argv):
        return  # Hydra's own flags (--help, --cfg, -c ...): Hydra answers them
    overrides = [a for a in argv if not a.startswith("-")]
    try:
        if len(overrides) < len(argv):  # -m: every job composes; the sweep's folder is writable
            from deepad import sweep

            jobs = sweep.expand(overrides)
            places = {"hydra.sweep.dir": jobs[0].out.parent} if jobs else {}
        else:
            cfg = config.compose(overrides, hydra=True)
            places = {"hydra.run.dir": Path(str(OmegaConf.select(cfg, "hydra.run.dir")))}
        for key, place in places.items():
            _makeable(place, key)
    except (ValueError, HydraException) as err:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        print(f"run.py: error: {' '.join(str(err).split())}", file=sys.stderr)
        sys.exit(2)


def _makeable(path: Path, key: str) -> None:
    """`path` is a folder, or can be made under its nearest existing folder (nothing is made)."""
    base = next(p for p in [path, *path.parents] if p.exists())
    if not base.is_dir() or not os.access(base, os.W_OK | os.X_OK):
        why = f"{base} is a file, not a folder" if not base.is_dir() else f"{base} is read-only"
        raise validate.ConfigError(
            f"{key}={path}: cannot write there ({why}); choose another folder"
        )


def interruptible(entry) -> None:
    """Call a command's entry point; Ctrl-C ends it with one line and exit code 130. Every file is
    written whole or not at all (write then rename) and a model is cached only when its training
    finished, so nothing partial is reused: the same command again resumes."""
    try:
        entry()
    except KeyboardInterrupt:
        if os.environ.get("HYDRA_FULL_ERROR") == "1":
            raise
        sweep = any(a in ("-m", "--multirun") for a in sys.argv[1:])
        where = (
            " (a -m sweep's runs have fixed folders, hydra.sweep.dir/<overrides>, by default "
            "outputs/multirun/: only what is missing runs)"
            if sweep
            else ""
        )
        print(
            "\ninterrupted: finished runs are kept and nothing partial is; "
            f"run the same command again to resume{where}",
            file=sys.stderr,
        )
        sys.exit(130)
