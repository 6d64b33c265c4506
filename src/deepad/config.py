"""Config composition: the one path to the config tree (`conf/`, shipped inside the package) and
the one way to compose a run's config from it, for every caller (the Python API, the CLI, sweeps,
experiments, the paper's scripts and the tests). A name or key that is not in the tree is one
`ValueError` line listing what is (`compose`), and a named method whose choices an override
displaced is refused (`check_method`)."""

from __future__ import annotations

import contextlib
import copy
import difflib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

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


def _check_names(overrides: Sequence[str]) -> None:
    """`group=name` overrides name an option of the group: else one line listing them."""
    for line in overrides:
        match = re.fullmatch(r"\+?\+?([a-z_]+)=([^,\[\]{}'\"]+)", line.strip())
        if match and (CONF / match[1]).is_dir():
            group, name = match[1], match[2]
            if name not in choices(group):
                raise ValueError(f"no {group} {name!r}; choose one of {', '.join(choices(group))}")


def _leaves(node: object, prefix: str = "") -> list[str]:
    if not isinstance(node, dict):
        return [prefix]
    return [leaf for k, v in node.items() for leaf in _leaves(v, f"{prefix}{k}.")]


def _unknown_key(err: Exception, overrides: Sequence[str]) -> ValueError | None:
    """Hydra's "Could not override 'KEY'" as one line with the likely spelling."""
    match = re.search(r"Could not override '([^']+)'", str(err))
    if not match:
        return None
    key = match[1]
    with session():
        from hydra import compose as hydra_compose

        plain = hydra_compose("config", overrides=[o for o in overrides if key not in o])
    keys = [k.rstrip(".") for k in _leaves(OmegaConf.to_container(plain, resolve=False))]
    keys = [k for k in keys if not k.startswith("profile.")]  # sweep axes, not a run's settings
    by_leaf = {k.rsplit(".", 1)[-1]: k for k in keys}
    near = difflib.get_close_matches(key, keys, n=3) or [
        by_leaf[leaf] for leaf in difflib.get_close_matches(key.rsplit(".", 1)[-1], by_leaf, n=3)
    ]
    hint = f"; did you mean {' or '.join(near)}?" if near else " (add it with +KEY=VALUE)"
    return ValueError(f"unknown config key {key!r}{hint}")


_COMPOSED: dict[tuple[str, ...], DictConfig] = {}  # overrides -> config, outside a Hydra app


def compose(overrides: Sequence[str] = (), hydra: bool = False) -> DictConfig:
    """conf/config.yaml with these Hydra overrides (`hydra=True`: with the `hydra` node).

    A config composed outside a Hydra app is kept by its overrides, and a copy returned: Hydra
    takes a quarter of a second a composition, and an ensemble composes each member for every
    set it scores. Interpolations stay unresolved in the copy, so environment variables are
    read when a value is used, as without the memo."""
    from hydra import compose as hydra_compose
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import ConfigCompositionException

    overrides = list(overrides)
    key = tuple(overrides)
    memo = not hydra and not GlobalHydra.instance().is_initialized()
    if memo and key in _COMPOSED:
        return copy.deepcopy(_COMPOSED[key])
    _check_names(overrides)
    try:
        with session():
            cfg = hydra_compose("config", overrides=overrides, return_hydra_config=hydra)
    except ConfigCompositionException as err:
        raise (_unknown_key(err, overrides) or err) from None
    check_method(cfg)
    if memo:
        _COMPOSED[key] = copy.deepcopy(cfg)
    return cfg


def method_choices(name: str) -> dict[str, str]:
    """The config groups a named method chooses (`override /features: ensemble` -> features)."""
    spec = OmegaConf.to_container(OmegaConf.load(CONF / "method" / f"{name}.yaml"))
    out = {}
    for entry in spec.get("defaults", []):
        for key, value in entry.items() if isinstance(entry, dict) else []:
            out[key.removeprefix("override ").strip("/")] = value
    return out


def check_method(cfg: DictConfig) -> None:
    """A config that names a method (`method: NAME`) holds that method's own choices of model,
    features and detector: an override that displaced one (`features=re` beside `+method=...`)
    would run another method under its name."""
    name = cfg.get("method")
    if name is None or not (CONF / "method" / f"{name}.yaml").is_file():
        return
    for group, chosen in method_choices(name).items():
        actual = OmegaConf.select(cfg, f"{group}.name")
        if actual is not None and actual != chosen:
            raise ValueError(
                f"method {name!r} uses {group}={chosen}, but this config has {group}={actual}: "
                f"give the method alone (method={name!r} / +method={name}), without {group}="
            )


def compose_method(name: str, seed: int, overrides: Sequence[str] = ()) -> DictConfig:
    """The config of a named method (conf/method/NAME.yaml: its model, features and detector)."""
    known = choices("method")
    if name not in known:
        raise ValueError(
            f"unknown method {name!r} (conf/method/{name}.yaml); choose one of {known}"
        )
    return compose([f"+method={name}", f"seed={seed}", "logger=none", *overrides])
