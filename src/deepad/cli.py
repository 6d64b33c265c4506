"""`deepad score FOLDER`: rank a user's own images, most anomalous first, by the paper's scores.

The seed proposal's use case: an unlabelled folder with a few odd images in it. One network is
trained on the folder (the H2O tutorial's 784-50-784 tanh autoencoder by default) and each image is
scored by reconstruction error (RE) and by Isolation Forest on the middle-layer features (A1) and on
the pattern of active hidden units (A2). Each score is one `pipeline.run` of `dataset=folder`
(conf/dataset/folder.yaml), so the runs are cached, recorded and resumable like the paper's;
the ranking merges them:

    deepad score photos/ --out outputs/score/photos
    -> ranking.csv (file, score_re, rank_re, score_a1, ...), <method>/grid.png, <method>/metrics.json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd
from hydra.errors import HydraException
from omegaconf import DictConfig

from deepad import config
from deepad.data import folders
from deepad.data.sources import DataSourceError
from deepad.store import write_atomic
from deepad.validate import writable


def _quoted(path: Path) -> str:
    """A path as a Hydra override value (quoted, so spaces, commas and '=' survive)."""
    return "'" + str(path).replace("\\", "\\\\").replace("'", "\\'") + "'"


def compose(folder: Path, variant: str, args: argparse.Namespace) -> DictConfig:
    """The repository's config for one score of the folder, with the command's options: a named
    method (conf/method/, `--methods`) or a features variant of `--model` / `--detector`."""
    overrides = [
        "dataset=folder",
        f"dataset.root={_quoted(folder)}",
        f"dataset.size={args.size}",
        f"dataset.grey={not args.rgb}",
        f"dataset.max_pixels={args.max_pixels}",
        *(
            [f"+method={variant}"]
            if args.methods
            else [f"model={args.model}", f"features={variant}", f"detector={args.detector}"]
        ),
        f"seed={args.seed}",
        f"paths.output_dir={_quoted(args.out.resolve() / variant)}",
        f"paths.cache={_quoted(args.cache.resolve())}",
        f"logger={'wandb' if args.wandb else 'none'}",
        *([f"trainer.max_epochs={args.epochs}"] if args.epochs else []),
        *args.set,
    ]
    cfg = config.compose(overrides)
    cfg.dataset.exclude = [*cfg.dataset.exclude, *never_input(args)]  # beside conf's defaults
    return cfg


def never_input(args: argparse.Namespace) -> list[str]:
    """This call's output, cache and W&B folders: never scored, even inside FOLDER (`deepad score
    .`); conf/dataset/folder.yaml's `exclude` already holds deepad's default output folders."""
    wandb_dir = Path(os.environ.get("WANDB_DIR", ".")) / "wandb"
    return [str(p.resolve()) for p in (args.out, args.cache, wandb_dir)]


def score(args: argparse.Namespace) -> pd.DataFrame:
    """Run every requested score on the folder; write and return the merged ranking."""
    from deepad import pipeline

    folder = args.folder.resolve()
    if not folder.is_dir():
        raise DataSourceError(f"{args.folder} is not a folder: give the folder of images to rank")
    writable(args.out, "--out")  # before any work: a path that cannot be written is one line
    writable(args.cache, "--cache")
    names = args.methods or args.features
    configs = [compose(folder, variant, args) for variant in names]  # bad names fail here
    ranking = None
    with folders.listed_once():  # the folder is listed once: every score ranks the same files
        for variant, cfg in zip(names, configs, strict=True):
            _, scores = pipeline.run_scored(cfg)  # the first trains; the others load from cache
            scores = scores[["file", "score", "rank"]].rename(
                columns={"score": f"score_{variant}", "rank": f"rank_{variant}"}
            )
            ranking = (
                scores if ranking is None else ranking.merge(scores, on="file", validate="1:1")
            )
    ranking = ranking.sort_values(f"rank_{names[0]}").reset_index(drop=True)
    write_atomic(args.out / "ranking.csv", lambda tmp: ranking.to_csv(tmp, index=False))
    return ranking


DEFAULT_METHODS = ("ensemble",)  # the best label-free score of the paper (tab_beyond)


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad option in one line (no usage block) and exits 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _choices(group: str):
    names = config.choices(group)

    def pick(value: str) -> str:
        if value not in names:
            raise argparse.ArgumentTypeError(f"no {group} {value!r}; choose {', '.join(names)}")
        return value

    return pick


def _method_list(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    known = config.choices("method")
    for name in names:
        if name not in known:
            raise argparse.ArgumentTypeError(f"unknown method {name!r}; choose from {known}")
    if not names:
        raise argparse.ArgumentTypeError(f"give at least one method of {known}")
    return names


def _score_list(value: str) -> list[str]:
    names = [f.strip() for f in value.split(",") if f.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"{value!r} names no score; e.g. --features re,a1,a2")
    return [_choices("features")(name) for name in names]


def _at_least(low: int):
    def whole(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number < low:
            raise argparse.ArgumentTypeError(f"need a whole number >= {low}, got {value!r}")
        return number

    return whole


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="deepad", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    s = sub.add_parser("score", help="rank the images of a folder, most anomalous first")
    s.add_argument("folder", type=Path, help="folder of png / jpg / jpeg / bmp / webp images")
    s.add_argument("--out", type=Path, help="output folder (default outputs/score/<folder name>)")
    for group, default in (("model", "ae_h2o"), ("detector", "iforest")):
        s.add_argument(
            f"--{group}", default=default, type=_choices(group), help=f"conf/{group}/ name"
        )
    s.add_argument(
        "--methods",
        type=_method_list,
        help="comma list of named methods (conf/method/: ensemble, raw_knn, raw_knncos, pre_knn, "
        "ae_knn, dbn_knn, ae_trim, ae_re, raw_if); the default, ensemble, is the paper's best "
        "label-free score (README: Beyond the proposal); the first orders ranking.csv",
    )
    s.add_argument(
        "--features",
        type=_score_list,
        help="instead of --methods: comma list of the proposal's scores of --model / --detector: "
        "re, a1, a2, free_energy (dbn), raw (e.g. re,a1,a2)",
    )
    s.add_argument(
        "--size", type=_at_least(1), default=28, help="images are resized to size x size"
    )
    s.add_argument("--rgb", action="store_true", help="keep colour (default: grey)")
    s.add_argument("--epochs", type=_at_least(1), help="training epochs (default: conf/trainer/)")
    s.add_argument(
        "--seed", type=_at_least(0), default=0, help="seeds training, detector and tie order"
    )
    s.add_argument("--cache", type=Path, default=Path("cache"), help="model cache folder")
    s.add_argument("--top", type=_at_least(0), default=10, help="print this many files per score")
    s.add_argument(
        "--max-pixels",
        type=_at_least(1),
        default=folders.MAX_PIXELS,
        help="larger images are skipped with a warning (default: Pillow's limit, %(default)s)",
    )
    s.add_argument(
        "--wandb", action="store_true", help="log each score to W&B (offline unless logged in)"
    )
    s.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="any Hydra override"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as stop:  # --help (0) or a bad option (2, reported in one line)
        return int(stop.code or 0)
    args.out = args.out or Path("outputs/score") / args.folder.resolve().name
    if args.methods and args.features:
        print("deepad score: error: give --methods or --features, not both", file=sys.stderr)
        return 2
    args.methods = args.methods or ([] if args.features else list(DEFAULT_METHODS))
    t0 = time.perf_counter()
    try:
        ranking = score(args)
    except (DataSourceError, ValueError, HydraException) as err:  # bad input: say which, exit 2
        print(f"deepad score: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ndeepad score: interrupted; finished scores are kept and nothing partial is: "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    print(f"\n{len(ranking)} images of {args.folder} scored in {time.perf_counter() - t0:.1f} s")
    for variant in args.methods or args.features:
        top = ranking.sort_values(f"rank_{variant}").head(args.top)
        print(f"most anomalous by {variant}: " + ", ".join(top["file"]))
    print(f"ranking: {args.out / 'ranking.csv'}; grids: {args.out}/<score>/grid.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
