"""Choose `deepad score`'s default method by a stated rule over three kinds of images (issue 28).

`python experiments/choose_default.py [OUT.json] [--readme README.md]` (make default) scores each
candidate method as `deepad score` runs it and applies the rule, fixed before any figure:

- for each kind of folder `deepad score` tells apart without labels (`--colour auto`: grey or
  colour), the default is the candidate with the highest *worst-case* mean AUROC over that kind's
  sets;
- grey: the MNIST (digits) and Fashion-MNIST (clothes) one-vs-rest sets of the *test* split (p =
  0.1, seed 0, every class), validation sets the paper does not report; their figures are
  experiments/select_settings.py's (paper/results/selection.json), on the same sets;
- colour: CIFAR-10's cats and dogs (natural photos), both directions, the photo rates and seeds of
  the paper's section 5, read at 32 px with EfficientNet-Lite0 at 224 px as `deepad score` reads a
  colour folder. No unreported natural photos install offline, so these are the paper's own photo
  sets: the colour choice is not held out, and the README says so.

It writes every candidate's figures, each one's worst case over all three kinds, the choices and
the git commit to OUT.json (paper/results/default.json), and with --readme the table between
README's `default:methods` markers; a test checks that `deepad score` uses the choices.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from deepad.cli import COLOUR_PRETRAINED, at_pretrained_size
from deepad.config import compose, compose_method
from deepad.data import sets
from deepad.detector import Detector
from deepad.store import git_commit, write_json, write_text

CANDIDATES = ("ensemble", "ensemble_all", "pre_knn", "raw_knn", "raw_knncos", "raw_if", "ae_re")
KINDS = {"digits": "mnist", "clothes": "fashion_mnist"}  # grey kinds -> selection.json's data set
SELECTION = Path("paper/results/selection.json")


def grey_figures(selection: dict) -> dict[str, dict[str, float]]:
    """candidate -> {digits, clothes}: its mean test-split AUROC at its configured settings."""
    k, size = selection["chosen_k"], selection["chosen_input_size"]
    key = {
        "ensemble": None,
        "ensemble_all": None,
        "pre_knn": f"pre_knn@k={k['pre_knn']},size={size}",
        "raw_knn": f"raw_knn@k={k['raw_knn']}",
        "raw_knncos": f"raw_knncos@k={k['raw_knncos']}",
        "raw_if": "raw_if",
        "ae_re": "ae_re",
    }
    out = {}
    for method in CANDIDATES:
        found = selection[method] if key[method] is None else selection["candidates"][key[method]]
        out[method] = {kind: float(found[ds]) for kind, ds in KINDS.items()}
    return out


def photo_sets() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(label, images (N, 3, 32, 32), is_anomaly (N,), seed, overrides) of section 5's photo sets."""
    profile = compose(["logger=none"]).profile
    classes = [int(c.strip("[]")) for c in profile.photo_classes.split(",")]
    rates = [float(p) for p in str(profile.photo_contamination).split(",")]
    seeds = [int(s) for s in str(profile.seeds).split(",")]
    out = []
    for c in classes:
        for p in rates:
            for seed in seeds:
                over = ["dataset=cats_dogs", f"dataset.nominal=[{c}]", f"dataset.contamination={p}"]
                data = sets.build(compose_method("raw_if", seed, over).dataset)
                out.append((f"{c}/{p}/{seed}", data.images, data.record.is_anomaly, seed, over))
    return out


def photo_figure(method: str, photos, cache: Path) -> float:
    """The candidate's mean AUROC over the photo sets, run as `deepad score` runs a colour folder."""
    aurocs = []
    for _, images, y, seed, over in photos:
        cfg = at_pretrained_size(compose_method(method, seed, over), COLOUR_PRETRAINED)
        scores = Detector.from_config(cfg, cache=cache).fit(images).decision_scores_
        aurocs.append(roc_auc_score(y, scores))
    return float(np.mean(aurocs))


def readme_table(result: dict) -> str:
    rows = ["| method | digits | clothes | photos | worst case |", "|:--|--:|--:|--:|--:|"]
    for m, f in result["figures"].items():
        cells = [f"{f[k]:.3f}" for k in ("digits", "clothes", "photos")]
        rows.append(f"| {m} | {' | '.join(cells)} | {f['worst']:.3f} |")
    chosen = result["chosen"]
    return (
        "\n".join(rows)
        + f"\n\nDefault on grey folders: **{chosen['grey']}** (best worst case over digits and "
        f"clothes, validation sets); on colour folders: **{chosen['colour']}** (best on the "
        "photos, which are the paper's own sets: no unreported photos install offline). Written "
        "by `make default`.\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=Path("paper/results/default.json"))
    parser.add_argument("--cache", type=Path, default=Path("cache"))
    parser.add_argument("--readme", type=Path)
    args = parser.parse_args()
    t0 = time.perf_counter()
    selection = json.loads(SELECTION.read_text())
    figures = grey_figures(selection)
    photos = photo_sets()
    for method in CANDIDATES:
        figures[method]["photos"] = photo_figure(method, photos, args.cache)
        figures[method]["worst"] = min(figures[method].values())
        print(f"[default] {method}: {figures[method]} ({time.perf_counter() - t0:.0f} s)")
    chosen = {
        "grey": max(CANDIDATES, key=lambda m: min(figures[m][k] for k in KINDS)),
        "colour": max(CANDIDATES, key=lambda m: figures[m]["photos"]),
    }
    result = {
        "rule": "per kind (grey / colour), the candidate with the best worst-case mean AUROC over "
        "that kind's sets; grey: digits and clothes test-split sets (validation); colour: the "
        "paper's photo sets (not held out)",
        "figures": figures,
        "chosen": chosen,
        "git_commit": git_commit(),
        "seconds": time.perf_counter() - t0,
    }
    write_json(args.out, result)
    if args.readme:
        text = args.readme.read_text()
        block = f"<!-- default:methods -->\n{readme_table(result)}<!-- /default:methods -->"
        new = re.sub(
            r"<!-- default:methods -->.*?<!-- /default:methods -->", block, text, flags=re.S
        )
        write_text(args.readme, new)
    print(json.dumps(chosen))


if __name__ == "__main__":
    main()
