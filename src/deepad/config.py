"""Config composition: the one path to the config tree (`conf/`, shipped inside the package) and
the one way to compose a run's config from it, for every caller (the Python API, the CLI, sweeps,
experiments, the paper's scripts and the tests)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path

from omegaconf import DictConfig

CONF = Path(__file__).resolve().parent / "conf"  # package data: editable or installed alike


def choices(group: str) -> list[str]:
    """The option names of a config group (`conf/<group>/*.yaml`)."""
    return sorted(p.stem for p in (CONF / group).glob("*.yaml"))


@contextlib.contextmanager
def session() -> Iterator[None]:
    """Hydra initialised on `CONF` for the block (or as it is, inside a Hydra app)."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        yield
        return
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield


def compose(overrides: Sequence[str] = (), hydra: bool = False) -> DictConfig:
    """conf/config.yaml with these Hydra overrides (`hydra=True`: with the `hydra` node)."""
    from hydra import compose as hydra_compose

    with session():
        return hydra_compose("config", overrides=list(overrides), return_hydra_config=hydra)


def compose_method(name: str, seed: int, overrides: Sequence[str] = ()) -> DictConfig:
    """The config of a named method (conf/method/NAME.yaml: its model, features and detector)."""
    known = choices("method")
    if name not in known:
        raise ValueError(
            f"unknown method {name!r} (conf/method/{name}.yaml); choose one of {known}"
        )
    return compose([f"+method={name}", f"seed={seed}", "logger=none", *overrides])
