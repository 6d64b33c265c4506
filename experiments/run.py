"""One run, or a Hydra multirun (-m): `python experiments/run.py dataset.nominal=[1] features=a2`."""

import hydra
from omegaconf import DictConfig

from deepad.pipeline import run


@hydra.main(version_base="1.3", config_path="../conf", config_name="config")
def main(cfg: DictConfig) -> float:
    return run(cfg)["auroc"]


if __name__ == "__main__":
    main()
