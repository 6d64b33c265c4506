"""`deepad score FOLDER`: rank a user's own images, most anomalous first, by the paper's scores.

The proposal's use case: an unlabelled folder with a few odd images in it. By default the images
are scored by the default method of their kind (grey or colour: `DEFAULT_METHODS`, chosen by
`make default`'s rule over digits, clothes and photos); `--methods` names other methods of
conf/method/, and `--features` the proposal's scores (RE, A1, A2, free energy) of one network
(`--model`) trained on the folder.
Each score is one `pipeline.run_scored` of `dataset=folder` (conf/dataset/folder.yaml), so runs
are cached, recorded and resumable like the paper's; the ranking merges them:

    deepad score photos/ --out outputs/score/photos
    -> ranking.csv (file, score_<s>, rank_<s> per score), manifest.json (what made each folder),
       <score>/grid.png, <score>/scores.csv, <score>/metrics.json, <score>/config.yaml

One call writes `--out` at a time (a lock); folders an earlier call left there that this call does
not make are removed, saying so, so `ranking.csv`, `manifest.json` and the folders always agree.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shutil
import sys
import time
from pathlib import Path

import pandas as pd
from hydra.errors import HydraException
from omegaconf import DictConfig

from deepad import config, validate
from deepad.data import folders
from deepad.data.sources import DataSourceError
from deepad.store import write_atomic, write_json
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
        f"dataset.grey={args.colour == 'grey'}",
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
    return at_pretrained_size(cfg, args.pretrained_size)


def at_pretrained_size(cfg: DictConfig, size: int | None) -> DictConfig:
    """cfg with EfficientNet-Lite0 read at `size` px in the scores that use it (the method's own
    network, or an ensemble's members); None leaves each method's own size."""
    if size:
        if cfg.model.name == "pretrained":
            cfg.model.input_size = size
        if cfg.features.name == "ensemble":
            cfg.features.input_size = size
    return cfg


COLOUR_SIZE, GREY_SIZE = 32, 28  # --size auto: CIFAR-10's side for colour, MNIST's for grey
COLOUR_PRETRAINED = 224  # --pretrained-size auto on colour photos (the paper's photo size table)


def resolve_auto(args: argparse.Namespace, folder: Path) -> None:
    """--colour, --size and --pretrained-size `auto`, from the folder: colour photos keep RGB,
    are read at 32 px for the networks trained on them and reach EfficientNet-Lite0 at 224 px;
    grey images are read at 28 px and the methods keep their own pretrained input size."""
    if args.colour == "auto":
        with folders.listed_once():
            args.colour = (
                "rgb" if folders.is_colour(str(folder), tuple(never_input(args))) else "grey"
            )
    colour = args.colour == "rgb"
    if args.size == "auto":
        args.size = COLOUR_SIZE if colour else GREY_SIZE
    if args.pretrained_size == "auto":
        args.pretrained_size = COLOUR_PRETRAINED if colour else None
    if not args.methods and not args.features:  # the default method of this kind of folder
        args.methods = list(DEFAULT_METHODS[args.colour])


def never_input(args: argparse.Namespace) -> list[str]:
    """This call's output, cache and W&B folders: never scored, even inside FOLDER (`deepad score
    .`); conf/dataset/folder.yaml's `exclude` already holds deepad's default output folders."""
    wandb_dir = Path(os.environ.get("WANDB_DIR", ".")) / "wandb"
    return [str(p.resolve()) for p in (args.out, args.cache, wandb_dir)]


def score(args: argparse.Namespace) -> pd.DataFrame:
    """Run every requested score on the folder; write and return the merged ranking."""
    folder = args.folder.resolve()
    if not folder.is_dir():
        raise DataSourceError(f"{args.folder} is not a folder: give the folder of images to rank")
    writable(args.out, "--out")  # before any work: a path that cannot be written is one line
    writable(args.cache, "--cache")
    resolve_auto(args, folder)
    print(
        f"[deepad] {args.folder}: read as {args.colour.upper()} at {args.size} px"
        + (f"; EfficientNet-Lite0 at {args.pretrained_size} px" if args.pretrained_size else "")
    )
    names = args.methods or args.features
    configs = [compose(folder, variant, args) for variant in names]  # bad names fail here
    for cfg in configs:  # bad values too, before --out is touched
        validate.check(cfg)
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / ".lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DataSourceError(
                f"--out {args.out} is being written by another deepad score call; wait for it "
                "to finish or give another --out"
            ) from None
        return _score_locked(folder, names, configs, args)


def _score_locked(folder: Path, names: list[str], configs: list, args) -> pd.DataFrame:
    from deepad import pipeline

    manifest_path = args.out / "manifest.json"
    before = _manifest(manifest_path)
    (args.out / "ranking.csv").unlink(missing_ok=True)  # until this call's ranking replaces it
    manifest_path.unlink(missing_ok=True)
    made, ranking = {}, None
    with folders.listed_once():  # the folder is listed once: every score ranks the same files
        for variant, cfg in zip(names, configs, strict=True):
            metrics, frame = pipeline.run_scored(cfg)  # the first trains; the others load it
            earlier = before.get("scores", {}).get(variant, {}).get("config_key")
            if earlier not in (None, metrics["config_key"]):
                print(
                    f"[deepad] replaced {args.out / variant}: an earlier call's, of another config"
                )
            made[variant] = {"label": metrics.get("label"), "config_key": metrics["config_key"]}
            scores = frame[["file", "score", "rank"]].rename(
                columns={"score": f"score_{variant}", "rank": f"rank_{variant}"}
            )
            ranking = (
                scores if ranking is None else ranking.merge(scores, on="file", validate="1:1")
            )
    for stale in sorted(set(before.get("scores", {})) - set(made)) + _unlisted_runs(args, made):
        shutil.rmtree(args.out / stale, ignore_errors=True)
        print(f"[deepad] removed {args.out / stale}: an earlier call's score, not this call's")
    ranking = ranking.sort_values(f"rank_{names[0]}").reset_index(drop=True)
    write_atomic(args.out / "ranking.csv", lambda tmp: ranking.to_csv(tmp, index=False))
    write_json(
        manifest_path,
        {"folder": str(folder), "seed": args.seed, "order": names[0], "scores": made},
    )  # last: the folders, the ranking and this manifest now agree
    return ranking


def _manifest(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def _unlisted_runs(args: argparse.Namespace, made: dict) -> list[str]:
    """Score folders under --out that no manifest lists and this call did not make, left by an
    older or an interrupted call: a run of a folder (`dataset=folder`) whose own config says it was
    written exactly there. Anything else under --out is never touched."""
    import yaml

    out = []
    for p in sorted(args.out.iterdir()):
        if not p.is_dir() or p.name in made or not (p / "config.yaml").is_file():
            continue
        try:
            cfg = yaml.safe_load((p / "config.yaml").read_text()) or {}
            ours = cfg["dataset"]["name"] == "folder"
            ours = ours and Path(cfg["paths"]["output_dir"]).resolve() == p.resolve()
        except (OSError, KeyError, TypeError, yaml.YAMLError):
            ours = False
        if ours:
            out.append(p.name)
    return out


# The default method per kind of folder (--colour auto), chosen by `make default`'s rule
# (experiments/choose_default.py -> paper/results/default.json; a test checks they agree).
DEFAULT_METHODS = {"grey": ("ensemble",), "rgb": ("pre_knn",)}


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
    if "ensemble" in names:
        raise argparse.ArgumentTypeError("ensemble is a named method: give --methods ensemble")
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


def _auto_or(number):
    def pick(value: str):
        return "auto" if value == "auto" else number(value)

    return pick


class _Help(argparse.HelpFormatter):
    """Every option's default in its help line, unless the line states it or there is none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        none = action.default is None or action.default is False or action.default == []
        if "default" not in text and not none and action.default != argparse.SUPPRESS:
            text += " (default: %(default)s)"
        return text


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="deepad", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True, parser_class=Parser)
    s = sub.add_parser(
        "score",
        help="rank the images of a folder, most anomalous first",
        description=__doc__.split("\n\n")[1],
        formatter_class=_Help,
    )
    s.add_argument(
        "folder", type=Path, help="folder of png / jpg / jpeg / bmp / webp / tif / gif images"
    )
    s.add_argument("--out", type=Path, help="output folder (default: outputs/score/<folder name>)")
    s.add_argument(
        "--methods",
        type=_method_list,
        help="comma list of named methods, the first ordering ranking.csv; choices: "
        f"{', '.join(config.choices('method'))} (default: {DEFAULT_METHODS['grey'][0]} on grey "
        f"folders, {DEFAULT_METHODS['rgb'][0]} on colour ones: README, make default)",
    )
    s.add_argument(
        "--features",
        type=_score_list,
        help="instead of --methods: comma list of the proposal's scores of --model / --detector; "
        f"choices: {', '.join(f for f in config.choices('features') if f != 'ensemble')} "
        "(free_energy: dbn only); e.g. re,a1,a2",
    )
    for group, default in (("model", "ae_h2o"), ("detector", "iforest")):
        s.add_argument(
            f"--{group}",
            default=default,
            type=_choices(group),
            help=f"with --features; choices: {', '.join(config.choices(group))}",
        )
    s.add_argument(
        "--size",
        type=_auto_or(_at_least(1)),
        default="auto",
        help=f"images are resized to size x size; auto: {COLOUR_SIZE} for colour, {GREY_SIZE} for grey",
    )
    s.add_argument(
        "--colour",
        choices=("auto", "rgb", "grey"),
        default="auto",
        help="keep colour (rgb) or read grey; auto: rgb when the folder's images have colour",
    )
    s.add_argument("--rgb", dest="colour", action="store_const", const="rgb", help="--colour rgb")
    s.add_argument(
        "--pretrained-size",
        type=_auto_or(_at_least(16)),
        default="auto",
        help="EfficientNet-Lite0's input side for the scores that use it; auto: "
        f"{COLOUR_PRETRAINED} for colour, the method's own for grey",
    )
    s.add_argument("--epochs", type=_at_least(1), help="training epochs (default: conf/trainer/)")
    s.add_argument("--seed", type=_at_least(0), default=0, help="seeds training, detector, ties")
    s.add_argument("--cache", type=Path, default=Path("cache"), help="model and feature cache")
    s.add_argument("--top", type=_at_least(0), default=10, help="print this many files per score")
    s.add_argument(
        "--max-pixels",
        type=_at_least(1),
        default=folders.MAX_PIXELS,
        help="larger images are skipped with a warning (Pillow's own limit)",
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
    args.methods = args.methods or []  # none: the folder's kind picks (resolve_auto)
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
