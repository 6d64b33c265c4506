"""`deepad score FOLDER` on a generated folder: ranking, caching, a changed folder, bad input."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.metrics import roc_auc_score

from deepad import cli

ODD = {"b/odd_0.png", "b/odd_1.png", "b/odd_2.png", "odd_3.png"}
FAST = [
    "--size",
    "16",
    "--epochs",
    "40",
    "--set",
    "trainer.batch_size=16",
    "--set",
    "model.hidden=[8]",
]


@pytest.fixture
def photos(tmp_path):
    """A user's folder, two levels deep: 60 grey blobs near the centre and 4 odd images (stripes)
    whose names the test alone knows; one unreadable file that is skipped with a warning."""
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:20, 0:20]
    folder = tmp_path / "photos"
    for sub in ("a", "b"):
        (folder / sub).mkdir(parents=True)
    for i in range(60):
        cy, cx = 10 + rng.normal(0, 1, 2)
        img = 230 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 12.0) + rng.normal(0, 8, (20, 20))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            folder / "ab"[i % 2] / f"{i}.png"
        )
    for name in ODD:
        img = 200.0 * ((xx // 3 + yy // 5) % 2) + rng.normal(0, 8, (20, 20))
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(folder / name)
    (folder / "a" / "broken.jpg").write_bytes(b"not an image")
    return folder


@pytest.mark.filterwarnings("ignore:skipping unreadable image")
def test_score_ranks_the_odd_images_first_and_a_second_call_reuses_the_runs(
    photos, tmp_path, capsys
):
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = [str(photos), "--out", str(out), "--cache", str(cache), "--features", "re,a1,a2", *FAST]
    assert cli.main(["score", *args]) == 0
    ranking = pd.read_csv(out / "ranking.csv")
    assert len(ranking) == 64 and set(ODD) < set(ranking["file"])  # broken.jpg skipped
    for variant in ("re", "a1", "a2"):
        assert sorted(ranking[f"rank_{variant}"]) == list(range(1, 65))
        assert (out / variant / "grid.png").is_file() and (out / variant / "metrics.json").is_file()
    assert list(ranking["rank_re"]) == list(range(1, 65))  # ordered by the first score
    odd = ranking["file"].isin(ODD)
    assert roc_auc_score(odd, ranking["score_re"]) > 0.95  # labels read by this test only
    printed = capsys.readouterr().out
    assert "64 images of" in printed and "most anomalous by re: " in printed
    assert "(unlabelled) ae_h2o re iforest | AP nan" in printed  # no AUROC claimed without labels
    assert cli.main(["score", *args]) == 0  # same folder, same options: every run is reused
    assert capsys.readouterr().out.count("skipped: results for this config exist") == 3
    pd.testing.assert_frame_equal(pd.read_csv(out / "ranking.csv"), ranking)


@pytest.mark.filterwarnings("ignore:skipping unreadable image")
def test_score_defaults_to_the_rank_ensemble(photos, tmp_path, capsys):
    """With no --methods / --features, deepad score ranks by the paper's best label-free method,
    the rank ensemble (conf/method/ensemble.yaml), and finds the odd images; both options at once
    is one clear error."""
    args = ["score", str(photos), "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "c")]
    assert cli.main([*args, "--size", "16"]) == 0
    ranking = pd.read_csv(tmp_path / "out" / "ranking.csv")
    assert list(ranking["rank_ensemble"]) == list(range(1, 65))
    assert roc_auc_score(ranking["file"].isin(ODD), ranking["score_ensemble"]) > 0.95
    assert "most anomalous by ensemble: " in capsys.readouterr().out
    assert cli.main([*args, "--methods", "raw_if", "--features", "re"]) == 2
    assert "give --methods or --features, not both" in capsys.readouterr().err
    assert cli.main([*args, "--methods", "nope"]) == 2


@pytest.mark.filterwarnings("ignore:skipping unreadable image")
def test_a_changed_folder_is_scored_again(photos, tmp_path, capsys):
    args = ["score", str(photos), "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "c")]
    assert cli.main([*args, "--features", "re", *FAST]) == 0
    Image.fromarray(np.zeros((20, 20), np.uint8)).save(photos / "a" / "new.png")
    capsys.readouterr()
    assert cli.main([*args, "--features", "re", *FAST]) == 0
    printed = capsys.readouterr().out
    assert "skipped" not in printed and "| model miss |" in printed  # retrained on 65 images
    assert len(pd.read_csv(tmp_path / "out" / "ranking.csv")) == 65


@pytest.mark.parametrize(
    "argv, message",
    [
        (["score", "{tmp}/nowhere"], "nowhere is not a folder"),
        (["score", "{tmp}/empty"], "no readable png, jpg, jpeg, bmp or webp image under"),
        (["score", "{tmp}/photos", "--model", "resnet"], "no model 'resnet'; choose ae_conv"),
        (["score", "{tmp}/photos", "--features", "re,free_energy"], "free_energy"),
    ],
)
def test_bad_input_names_the_problem_and_exits_2(photos, tmp_path, capsys, argv, message):
    (tmp_path / "empty").mkdir()
    argv = [a.format(tmp=tmp_path) for a in argv] + ["--out", str(tmp_path / "out"), *FAST]
    argv += ["--cache", str(tmp_path / "cache")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("deepad score: error:") and message in err
    assert not (tmp_path / "out" / "ranking.csv").exists()


def test_the_installed_command_exits_2_on_a_missing_folder(tmp_path):
    command = Path(sys.executable).parent / "deepad"  # [project.scripts], made by make install
    env = {**os.environ, "WANDB_MODE": "disabled"}
    done = subprocess.run(
        [command, "score", tmp_path / "nowhere"], capture_output=True, text=True, env=env
    )
    assert done.returncode == 2
    assert (
        done.stderr
        == f"deepad score: error: {tmp_path / 'nowhere'} is not a folder: give the folder of images to rank\n"
    )


def test_real_digits_folder_with_fashion_items_mixed_in(tmp_path):
    """600 real MNIST ones and 30 Fashion-MNIST images as png files in one folder: RE puts the
    clothes first (AUROC from their file names, which only this test reads)."""
    from deepad.data import sources
    from helpers import DATA

    ones = sources.load_mnist(str(DATA))["train"]
    clothes = sources.load_fashion_mnist(str(DATA))["test"]
    folder = tmp_path / "mixed"
    folder.mkdir()
    for i, img in enumerate(ones.images[ones.labels == 1][:600]):
        Image.fromarray(img).save(folder / f"digit_{i:03d}.png")
    for i, img in enumerate(clothes.images[:30]):
        Image.fromarray(img).save(folder / f"cloth_{i:02d}.png")
    out = tmp_path / "out"
    argv = ["score", str(folder), "--out", str(out), "--cache", str(tmp_path / "c")]
    assert cli.main([*argv, "--features", "re,a2"]) == 0
    ranking = pd.read_csv(out / "ranking.csv")
    cloth = ranking["file"].str.startswith("cloth_")
    assert roc_auc_score(cloth, ranking["score_re"]) > 0.95
    assert roc_auc_score(cloth, ranking["score_a2"]) > 0.8
