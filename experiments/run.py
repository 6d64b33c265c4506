"""One run, or a Hydra multirun (-m): `python experiments/run.py dataset.nominal=[1] features=a2`.

A multirun's runs have fixed folders named by their overrides (outputs/multirun/<overrides>), so
the same `-m` command again resumes an interrupted sweep, running only what is missing."""

import sys

import hydra
from omegaconf import DictConfig

from deepad import pipeline


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    return pipeline.main(cfg)


if __name__ == "__main__":
    pipeline.precheck(sys.argv[1:])  # bad names, keys and folders: one line, exit code 2
    pipeline.interruptible(main)  # Ctrl-C: one line, exit code 130
