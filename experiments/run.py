"""One run, or a Hydra multirun (-m): `python experiments/run.py dataset.nominal=[1] features=a2`."""

import hydra
from omegaconf import DictConfig

from deepad import pipeline


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    return pipeline.main(cfg)


if __name__ == "__main__":
    pipeline.interruptible(main)  # Ctrl-C: one line, exit code 130
