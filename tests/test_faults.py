"""Bad input and faults at every entry point (`deepad score`, `experiments/run.py`, `pipeline.run`):
one clear line, exit code 2 (130 for Ctrl-C), no traceback, and nothing already finished changed.
Every case runs on generated images."""

import io
import json
import os
import signal
import struct
import subprocess
import sys
import zlib

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from deepad import cli, config, detect, detector, pipeline, validate
from deepad.data import folders
from deepad.models import autoencoder
from helpers import ROOT

FAST = ["--size", "12", "--epochs", "3", "--set", "trainer.batch_size=16"]
SMALL_NET = ("trainer.max_epochs=5", "trainer.batch_size=16", "model.hidden=[16]")
TINY = ("dataset=synthetic", "dataset.n_per_class=60", *SMALL_NET)


def blobs_folder(folder, n=40, seed=0, size=12):
    """n grey blobs near the centre, as png files a.png ... (sorted names)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cy, cx = size / 2 + rng.normal(0, 1, 2)
        img = 230 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 8.0) + rng.normal(
            0, 8, (size, size)
        )
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / f"img_{i:03d}.png")
    return folder


def one_error_line(err: str, start: str) -> str:
    """The only line of stderr, which must start with `start` and hold no traceback."""
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert "Traceback" not in err and len(lines) == 1, err
    assert lines[0].startswith(start), err
    return lines[0]


def snapshot(folder):
    """(relative path, bytes) of every file under folder: to show nothing earlier changed."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def run_py(cwd, *overrides, env=None):
    """experiments/run.py in a subprocess, as a user runs it."""
    env = {**os.environ, "WANDB_MODE": "disabled", "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    cmd = [sys.executable, str(ROOT / "experiments" / "run.py"), *overrides]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


# --- 1. outputs and caches are never input ------------------------------------------------------


def test_score_from_inside_the_folder_never_scores_its_own_output(tmp_path, monkeypatch, capsys):
    folder = blobs_folder(tmp_path / "photos")
    monkeypatch.chdir(folder)  # default --out outputs/score/photos and --cache cache: inside FOLDER
    assert cli.main(["score", ".", "--features", "re,a1,a2", *FAST]) == 0
    for variant in ("re", "a1", "a2"):
        metrics = json.loads(
            (folder / "outputs/score/photos" / variant / "metrics.json").read_text()
        )
        assert metrics["n"] == 40  # not 41, 42: no grid.png of an earlier score read back
        assert metrics["model_cache"] == ("miss" if variant == "re" else "hit")  # trained once
    capsys.readouterr()
    assert cli.main(["score", ".", "--features", "re,a1,a2", *FAST]) == 0  # again: all reused
    assert capsys.readouterr().out.count("skipped: results for this config exist") == 3
    ranking = pd.read_csv(folder / "outputs/score/photos/ranking.csv")
    assert len(ranking) == 40 and ranking["file"].str.startswith("img_").all()


def test_hidden_and_excluded_folders_are_not_listed(tmp_path):
    folder = blobs_folder(tmp_path / "f", n=3)
    blobs_folder(folder / ".thumbs", n=2)
    blobs_folder(folder / "out", n=2)
    files = folders._image_files(folder, (str(folder / "out"),))
    assert [p.name for p in files] == ["img_000.png", "img_001.png", "img_002.png"]


# --- 2. 16-bit images ---------------------------------------------------------------------------


def test_16_bit_images_are_rescaled_by_their_bit_depth_not_clipped(tmp_path):
    """30 different 12-bit scans stored as 16-bit PNG: each read as itself, 4095 -> 255."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "scans"
    folder.mkdir()
    for i in range(30):
        img = rng.integers(0, 4096, size=(12, 12)).astype(np.uint16)
        img[0, 0] = 4095 if i == 0 else img[0, 0]
        Image.fromarray(img).save(folder / f"scan_{i:02d}.png")
    assert Image.open(folder / "scan_00.png").mode == "I;16"
    images, _ = folders.read_images.__wrapped__(str(folder), size=12)
    assert images.shape == (30, 1, 12, 12) and images.dtype == np.uint8
    assert len({img.tobytes() for img in images}) == 30  # not one all-white image
    assert images[0, 0, 0, 0] == 255 and 100 < images.mean() < 155  # uniform 0..4095 -> ~127
    assert folders.bit_depth(4095) == 12 and folders.bit_depth(4096) == 14
    assert folders.bit_depth(65535) == 16 and folders.bit_depth(0.8) == 0  # float in [0, 1]


# --- 3. oversized images ------------------------------------------------------------------------


def huge_png(path, side=13500):
    """A valid 1-bit PNG of side x side black pixels (about 22 kB on disk, 182 M pixels)."""
    row = b"\0" + bytes((side + 7) // 8)
    data = zlib.compress(row * side, 9)

    def chunk(kind, body):
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


def test_an_oversized_image_is_skipped_with_a_warning_and_the_rest_ranked(tmp_path):
    folder = blobs_folder(tmp_path / "photos", n=20)
    huge_png(folder / "huge.png")
    out = tmp_path / "out"
    argv = ["score", str(folder), "--out", str(out), "--cache", str(tmp_path / "c"), *FAST]
    with pytest.warns(UserWarning, match=r"huge.png: 13500 x 13500 = 182,250,000 pixels is over"):
        assert cli.main([*argv, "--features", "re"]) == 0
    assert len(pd.read_csv(out / "ranking.csv")) == 20
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(folder / "big.png")  # 1,600 pixels
    with pytest.warns(
        UserWarning, match=r"big.png: 40 x 40 = 1,600 pixels is over the limit of 1,000"
    ):
        images, files = folders.read_images.__wrapped__(str(folder), 12, max_pixels=1000)
    assert "big.png" not in files and len(files) == 20
    with pytest.warns(UserWarning, match="huge.png"):  # the default limit keeps big.png
        _, files = folders.read_images.__wrapped__(str(folder), 12)
    assert "big.png" in files


# --- 4. ties ------------------------------------------------------------------------------------


def test_ties_are_broken_by_the_seed_not_by_position():
    scores = np.array([1.0, 1.0, 1.0, 1.0, 0.0, 2.0])
    assert detect.order(scores, 0)[0] == 5 and detect.order(scores, 0)[-1] == 4
    orders = {tuple(detect.order(scores, s)[1:5]) for s in range(20)}
    assert len(orders) > 5  # the tied four come in many orders across seeds...
    np.testing.assert_array_equal(
        detect.order(scores, 3), detect.order(scores, 3)
    )  # ...fixed per seed
    assert sorted(detect.rank(scores, 0)) == [1, 2, 3, 4, 5, 6] and detect.rank(scores, 0)[5] == 1
    assert detect.ties(scores) == {"n_distinct_scores": 3, "tied_share": 4 / 6}
    assert detect.ties(np.arange(5.0)) == {"n_distinct_scores": 5, "tied_share": 0.0}


def test_a_folder_of_tied_images_is_not_ranked_by_file_name(tmp_path, capsys):
    folder = tmp_path / "same"
    folder.mkdir()
    img = np.full((12, 12), 90, np.uint8)
    for i in range(40):
        Image.fromarray(img).save(folder / f"{i:03d}.png")  # 000.png sorts first
    out = tmp_path / "out"
    argv = ["score", str(folder), "--out", str(out), "--cache", str(tmp_path / "c"), *FAST]
    with pytest.warns(UserWarning, match=r"re gives 1 distinct scores for 40 images \(100% share"):
        assert cli.main([*argv, "--features", "re"]) == 0
    metrics = json.loads((out / "re" / "metrics.json").read_text())
    assert metrics["n_distinct_scores"] == 1 and metrics["tied_share"] == 1.0
    first = pd.read_csv(out / "ranking.csv")["file"].tolist()
    assert first != sorted(first)  # not the file order
    assert cli.main([*argv, "--features", "re", "--set", "rerun=true"]) == 0
    assert pd.read_csv(out / "ranking.csv")["file"].tolist() == first  # same seed, same order
    assert cli.main([*argv, "--features", "re", "--seed", "1"]) == 0
    assert pd.read_csv(out / "ranking.csv")["file"].tolist() != first


# --- 5, 8. config errors: one line naming key, value and what is allowed -------------------------

CONFIG_ERRORS = [
    (["dataset.contamination=-0.1"], "dataset.contamination=-0.1: need a number from 0.0 to 0.5"),
    (["dataset.contamination=0.6"], "dataset.contamination=0.6: need a number from 0.0 to 0.5"),
    (["dataset.contamination=1.0"], "dataset.contamination=1.0: need a number from 0.0 to 0.5"),
    (["dataset.contamination=abc"], "dataset.contamination='abc': need a number from 0.0 to 0.5"),
    (
        ["dataset.nominal=[11]"],
        "dataset.nominal=[11]: synthetic's classes are the whole numbers 0..9",
    ),
    (["dataset.nominal=[seven]"], "dataset.nominal=['seven']: synthetic's classes are the whole"),
    (["dataset.cap=0"], "dataset.cap=0: need a whole number >= 2 or null"),
    (["model.batch_size=0"], "model.batch_size=0: need a whole number >= 1 or null"),
    (["dataset.cap=-5"], "dataset.cap=-5: need a whole number >= 2 or null"),
    (
        ["+model.hiden=10"],
        "unknown key model.hiden (a typo?); model has the keys: activation, arch, batch_size, hidden, "
        "kind, lr, lr_schedule, name, out_activation, stop_min_delta, stop_min_epochs, stop_patience, "
        "weight_decay",
    ),
    (["+foo=1"], "unknown key foo (a typo?); the config has the keys: clutter_setting, dataset,"),
    (["trainer.max_epochs=0"], "trainer.max_epochs=0: need a whole number >= 1"),
    (["seed=-1"], "seed=-1: need a whole number >= 0"),
    (["dataset=folder"], "dataset.root is not set: give the folder of images"),
    (
        ["dataset=folder", "dataset.root=/no/such/place"],
        "dataset.root=/no/such/place: no such folder",
    ),
    (["dataset=folder", "dataset.root=/", "dataset.size=0"], "dataset.size=0: need a whole number"),
]


@pytest.mark.parametrize("overrides, message", CONFIG_ERRORS)
def test_a_bad_config_value_is_one_error_naming_key_value_and_range(
    make_cfg, tmp_path, overrides, message
):
    data = () if overrides[0].startswith("dataset=") else TINY[:2]
    with pytest.raises(validate.ConfigError) as err:
        pipeline.run(make_cfg(*data, *SMALL_NET, *overrides))
    assert str(err.value).startswith(message) and "\n" not in str(err.value)
    assert not (tmp_path / "run").exists()  # nothing written, nothing trained


def test_every_experiment_and_profile_passes_the_checks(tmp_path):
    """The known-keys check knows every key the shipped configs use."""
    base = [
        f"paths.output_dir={tmp_path}",
        f"paths.cache={tmp_path}",
        "logger.dir=" + str(tmp_path),
    ]
    for experiment in config.choices("experiment"):
        for profile in ("full", "quick"):
            cfg = config.compose([*base, f"+experiment={experiment}", f"profile={profile}"])
            validate.check(cfg)
            quiet = config.compose([*base[:2], f"+experiment={experiment}", "logger=none"])
            validate.check(quiet)  # an experiment's W&B group is no typo when W&B is off


def test_run_py_reports_user_errors_in_one_line_with_exit_code_2(tmp_path):
    (tmp_path / "imgs" / "sky").mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "imgs" / "sky" / "a.png")
    cases = [
        ("dataset=synthetic dataset.contamination=0.6", "dataset.contamination=0.6: need a number"),
        ("dataset=synthetic +model.hiden=10", "unknown key model.hiden (a typo?)"),
        (
            f"dataset=image_folder dataset.root={tmp_path / 'imgs'} dataset.nominal=[sky] "
            "dataset.anomaly=[dog]",
            "class 'dog' is missing in",
        ),
    ]
    for overrides, message in cases:
        done = run_py(tmp_path, *SMALL_NET, *overrides.split(), "logger=none")
        assert done.returncode == 2, done.stderr[-2000:]
        assert message in one_error_line(done.stderr, "run.py: error: ")
    full = run_py(tmp_path, *TINY, "+foo=1", "logger=none", env={"HYDRA_FULL_ERROR": "1"})
    assert full.returncode == 1 and "Traceback" in full.stderr  # the whole story on request


# --- 6. a corrupt cached model ------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "garbled", "empty"])
def test_a_corrupt_cached_model_is_moved_aside_and_retrained(make_cfg, tmp_path, capsys, damage):
    detector.clear_memory()  # no model of an earlier test in this process
    first = pipeline.run(make_cfg(*TINY))
    (path,) = (tmp_path / "cache" / "models").glob("*.pt")
    good = path.read_bytes()
    broken = {"truncated": good[: len(good) // 2], "garbled": os.urandom(len(good)), "empty": b""}
    path.write_bytes(broken[damage])
    detector.clear_memory()  # a new process: only the disk cache is left
    capsys.readouterr()
    again = pipeline.run(make_cfg(*TINY, "rerun=true"))
    err = capsys.readouterr().err
    assert f"cached model {path} is unreadable" in err and "training again" in err
    assert again["model_cache"] == "miss" and again["auroc"] == first["auroc"]  # deterministic
    assert path.with_name(path.name + ".corrupt").read_bytes() == broken[damage]  # kept aside
    saved, fresh = (torch.load(io.BytesIO(b), weights_only=True) for b in (good, path.read_bytes()))
    assert saved.keys() == fresh.keys() and all(torch.equal(saved[k], fresh[k]) for k in saved)


# --- 7. unwritable places -----------------------------------------------------------------------


def test_unwritable_out_or_cache_is_one_line_and_earlier_results_stay(tmp_path, capsys):
    folder = blobs_folder(tmp_path / "photos", n=20)
    out, cache = tmp_path / "out", tmp_path / "cache"
    base = ["score", str(folder), *FAST, "--features", "re"]
    assert cli.main([*base, "--out", str(out), "--cache", str(cache)]) == 0
    before = snapshot(tmp_path / "out")
    (tmp_path / "afile").write_text("in the way")
    capsys.readouterr()
    for option, value in (("--out", tmp_path / "afile" / "x"), ("--cache", tmp_path / "afile")):
        argv = {"--out": str(out), "--cache": str(cache), option: str(value)}
        assert cli.main([*base, *[a for kv in argv.items() for a in kv]]) == 2
        line = one_error_line(capsys.readouterr().err, "deepad score: error: ")
        assert f"{option}={value}: cannot write there ({tmp_path / 'afile'} is a file" in line
    assert snapshot(tmp_path / "out") == before


def test_an_unwritable_paths_key_is_a_config_error(make_cfg, tmp_path):
    (tmp_path / "afile").write_text("in the way")
    blocked = f"cannot write there ({tmp_path / 'afile'} is a file, not a folder)"
    with pytest.raises(validate.ConfigError) as err:
        pipeline.run(make_cfg(*TINY, f"paths.cache={tmp_path / 'afile' / 'c'}"))
    assert (
        str(err.value)
        == f"paths.cache={tmp_path / 'afile' / 'c'}: {blocked}; choose another folder"
    )
    with pytest.raises(validate.ConfigError) as err:
        pipeline.run(make_cfg(*TINY, f"paths.output_dir={tmp_path / 'afile'}"))
    assert str(err.value).startswith(f"paths.output_dir={tmp_path / 'afile'}: {blocked}")


# --- 9. Ctrl-C ----------------------------------------------------------------------------------


def test_ctrl_c_during_training_exits_130_in_one_line_and_keeps_nothing_partial(
    tmp_path, capsys, monkeypatch
):
    folder = blobs_folder(tmp_path / "photos", n=20)
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = [
        "score",
        str(folder),
        "--out",
        str(out),
        "--cache",
        str(cache),
        "--features",
        "re",
        *FAST,
    ]
    step = autoencoder.AutoencoderModule.training_step

    def interrupted(self, batch, batch_idx):
        if self.current_epoch == 1:  # mid-training, as a user's Ctrl-C would
            raise KeyboardInterrupt
        return step(self, batch, batch_idx)

    monkeypatch.setattr(autoencoder.AutoencoderModule, "training_step", interrupted)
    detector.clear_memory()
    assert cli.main(argv) == 130
    line = one_error_line(capsys.readouterr().err, "deepad score: interrupted;")
    assert "run the same command again to resume" in line
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # Ctrl-C works again
    assert not list(cache.rglob("*.pt")) and not list(out.rglob("metrics.json"))  # nothing partial
    monkeypatch.setattr(autoencoder.AutoencoderModule, "training_step", step)
    assert cli.main(argv) == 0  # the same command resumes: trains and scores
    assert json.loads((out / "re" / "metrics.json").read_text())["model_cache"] == "miss"


def test_run_py_ctrl_c_is_one_line_and_exit_130(capsys):
    def entry():
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as stop:
        pipeline.interruptible(entry)
    assert stop.value.code == 130
    assert "run the same command again to resume" in one_error_line(
        capsys.readouterr().err, "interrupted:"
    )


# --- 10. a plain -m sweep resumes ---------------------------------------------------------------


def test_a_plain_multirun_writes_fixed_folders_and_resumes(tmp_path):
    common = ("-m", *TINY, "logger=none", "trainer.progress_bar=false")
    first = run_py(tmp_path, *common, "features=re")  # a sweep killed after its first run
    assert first.returncode == 0, first.stderr[-2000:]
    again = run_py(tmp_path, *common, "features=re,a1")  # the same command, whole
    assert again.returncode == 0, again.stderr[-2000:]
    assert again.stdout.count("skipped: results for this config exist") == 1
    runs = sorted(p.parent.name for p in (tmp_path / "outputs/multirun").rglob("metrics.json"))
    assert len(runs) == 2 and all("features=" in r for r in runs)


# --- 11. deepad score options are checked before any work ---------------------------------------


@pytest.mark.parametrize(
    "options, message",
    [
        (["--size", "0"], "argument --size: need a whole number >= 1, got '0'"),
        (["--features", ","], "argument --features: ',' names no score; e.g. --features re,a1,a2"),
        (["--features", "re,bogus"], "argument --features: no features 'bogus'; choose a1, a2,"),
        (["--epochs", "0"], "argument --epochs: need a whole number >= 1, got '0'"),
        (["--seed", "-1"], "argument --seed: need a whole number >= 0, got '-1'"),
        (["--max-pixels", "x"], "argument --max-pixels: need a whole number >= 1, got 'x'"),
        (["--detector", "svm"], "argument --detector: no detector 'svm'; choose iforest, knn,"),
    ],
)
def test_a_bad_option_is_named_before_any_image_is_read(tmp_path, capsys, options, message):
    folder = blobs_folder(tmp_path / "photos", n=3)
    assert cli.main(["score", str(folder), "--out", str(tmp_path / "out"), *options]) == 2
    line = one_error_line(capsys.readouterr().err, "deepad score: error: ")
    assert message in line and "unreadable" not in line
    assert not (tmp_path / "out").exists()


def test_torch_state_is_untouched_by_a_failed_check(make_cfg):
    """A config error stops before seeding or training: the caller's RNG is not reset."""
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    with pytest.raises(validate.ConfigError):
        pipeline.run(make_cfg(*TINY, "seed=-1"))
    assert torch.equal(torch.rand(3), expected)
