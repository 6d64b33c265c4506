"""Train the networks of an experiment's sweep before the sweep runs, many at a time (issue 14).

`python experiments/pretrain.py [--stack K] +experiment=ovr profile=full [more overrides]` expands the sweep
that `experiments/run.py -m` would run with the same arguments (its `hydra.sweeper.params`), one
job per network (the feature axis dropped: one network serves every feature variant), and hands
them to `deepad.detector.train_many`: dense autoencoders of one shape train together as one
stacked network, each saved under its own key in the model cache; the sweep's runs then load
them. Networks already cached are skipped, so a killed sweep resumes. Other models are left to
their runs.
"""

import itertools
import sys
import time
from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from deepad.detector import train_many
from deepad.models import stacked

CONF = Path(__file__).resolve().parents[1] / "conf"


def jobs(overrides: list[str]) -> list:
    """The configs of the sweep's jobs, one per network (features=re for all)."""
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        base = compose("config", overrides=overrides, return_hydra_config=True)
        if not stacked.stackable(base.model, base.trainer):
            return []
        params = OmegaConf.to_container(base.hydra.sweeper.params, resolve=True) or {}
        params.pop("features", None)
        parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
        axes = [
            [f"{o.get_key_element()}={v}" for v in o.sweep_string_iterator()]
            if o.is_sweep_override()
            else [f"{o.get_key_element()}={o.get_value_element_as_str()}"]
            for o in parsed
        ]
        return [
            compose("config", overrides=[*overrides, "features=re", *combo])
            for combo in itertools.product(*axes)
        ]


def main() -> None:
    t0 = time.perf_counter()
    args = sys.argv[1:]
    stack = int(args.pop(args.index("--stack") + 1)) if "--stack" in args else 16
    args = [a for a in args if a != "--stack"]
    cfgs = jobs(args)
    counts = train_many(cfgs, stack) if cfgs else {"trained": 0, "cached": 0, "left": 0}
    print(
        f"pretrain {' '.join(args)}: {len(cfgs)} jobs, {counts['trained']} networks "
        f"trained in stacks, {counts['cached']} cached already, {time.perf_counter() - t0:.0f} s"
    )


if __name__ == "__main__":
    main()
