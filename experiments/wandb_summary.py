"""One W&B summary run per experiment, so that the dashboard holds the paper: the experiment's
collected results (a row per run) and its tables as W&B tables, its figures as images.

`python experiments/wandb_summary.py PAPER_DIR [--profile full]` reads PAPER_DIR/results/*.csv,
PAPER_DIR/tables/*.md and PAPER_DIR/figures/*.png (what `make paper` wrote) and nothing else.
Online with a W&B login, else offline under wandb/ (`wandb sync wandb/offline-run-*` uploads).
Each run is named `summary/<experiment>`, in the experiment's group, with job type `summary`.
"""

import argparse
import re
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from deepad.config import CONF
from deepad.report import wandb_logged_in

# experiment -> (results file, tables, figures), as the Makefile's rules draw them
EXPERIMENTS = {
    "ovr": (
        "ovr",
        ["ovr", "wilcoxon", "seed_spread", "published"],
        ["auroc_vs_p", "heatmap_ovr", "roc", "examples"],
    ),
    "deep": ("deep", ["deep", "detectors", "convergence"], ["convergence"]),
    "ugly_digits": ("ugly_digits", ["ugly_digits"], ["ugly_digits"]),
    "clutter_sweep": ("clutter_sweep", ["clutter", "clutter_verdict"], ["clutter", "clutter_q"]),
    "pretrained_size": ("pretrained_size", ["pretrained_size"], []),
    "cats_dogs": (
        "cats_dogs",
        ["photos", "photo_size", "photo_clutter"],
        ["photos", "photo_curves"],
    ),
}


def markdown_tables(text: str) -> dict[str, pd.DataFrame]:
    """The pipe tables of a Markdown file, by the bold heading above each ('' if none)."""
    tables, heading, rows = {}, "", []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
            continue
        if rows:  # a table ends: header, separator, body
            body = [r for r in rows[1:] if not all(re.fullmatch(r":?-+:?", c) for c in r)]
            tables[heading] = pd.DataFrame(body, columns=rows[0])
            heading, rows = "", []
        if m := re.fullmatch(r"\*\*(.+)\*\*", line.strip()):
            heading = m[1]
    return tables


def log_experiment(paper: Path, experiment: str, profile: str, mode: str) -> str | None:
    """One summary run; returns its local directory (None if the experiment has no results)."""
    import wandb

    results, tables, figures = EXPERIMENTS[experiment]
    csv = paper / "results" / f"{results}.csv"
    if not csv.is_file():
        return None
    logger = OmegaConf.load(CONF / "logger" / "wandb.yaml")
    run = wandb.init(
        project=logger.project,
        mode=mode,
        dir=".",
        group=experiment,
        job_type="summary",
        name=f"summary/{experiment}",
        tags=[experiment, profile, "summary"],
        config={"experiment": experiment, "profile": profile},
        settings=wandb.Settings(silent=True, console="off"),
    )
    log = {"results": wandb.Table(dataframe=pd.read_csv(csv))}
    for name in tables:
        path = paper / "tables" / f"{name}.md"
        for heading, frame in markdown_tables(path.read_text()).items():
            log["table/" + name + (f"/{heading}" if heading else "")] = wandb.Table(dataframe=frame)
    for name in figures:
        path = paper / "figures" / f"{name}.png"
        if path.is_file():
            log[f"figure/{name}"] = wandb.Image(str(path))
    run.log(log)
    run_dir = str(Path(run.dir).parent)
    run.finish()
    return run_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "paper", type=Path, help="the paper folder (paper/ or outputs/<profile>/paper)"
    )
    parser.add_argument("--profile", default="full")
    args = parser.parse_args()
    mode = "online" if wandb_logged_in() else "offline"
    for experiment in EXPERIMENTS:
        run_dir = log_experiment(args.paper, experiment, args.profile, mode)
        if run_dir:
            print(
                f"W&B summary/{experiment}: {run_dir}"
                + (" (wandb sync it)" if mode == "offline" else "")
            )


if __name__ == "__main__":
    main()
