"""The doors users walk through (the Python API, the CLI, `make help`, README's examples): every
named method is one definition, outputs say what made them, and bad names are one line."""

import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from deepad import Detector, cli, config
from helpers import ROOT

TINY = ["trainer.max_epochs=2", "trainer.batch_size=16"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """72 grey blobs and 8 stripes, 20 x 20, in one flat folder (PyOD's deep peers need more than
    one batch of 32 after their validation split)."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:20, 0:20]
    out = tmp_path_factory.mktemp("doors") / "imgs"
    out.mkdir()
    for i in range(80):
        if i < 72:
            img = 220 * np.exp(-((yy - 10) ** 2 + (xx - 10) ** 2) / 12.0)
        else:
            img = 200.0 * ((xx // 3 + yy // 5) % 2)
        img = np.clip(img + rng.normal(0, 8, (20, 20)), 0, 255).astype(np.uint8)
        Image.fromarray(img).save(out / f"{i:02d}.png")
    return out


def _cli(folder, out, *argv):
    args = ["score", str(folder), "--out", str(out), "--cache", str(out.parent / "cache")]
    assert cli.main([*args, *argv]) == 0
    return pd.read_csv(out / "ranking.csv")


@pytest.mark.parametrize("method", config.choices("method"))
def test_the_api_and_the_cli_give_the_same_scores_for_every_named_method(folder, tmp_path, method):
    """`Detector(method=NAME)` is what `deepad score --methods NAME` runs: one definition."""
    fast = ["--set", TINY[0], "--set", TINY[1]]
    try:
        ranking = _cli(folder, tmp_path / "out", "--methods", method, *fast)
    except AssertionError:
        pytest.fail(f"deepad score --methods {method} failed")
    cli_scores = ranking.sort_values("file")[f"score_{method}"].to_numpy()
    overrides = [f for f in fast if f != "--set"]
    det = Detector(method=method, overrides=overrides, cache=tmp_path / "cache").fit(folder)
    np.testing.assert_allclose(det.decision_scores_, cli_scores, rtol=1e-5, atol=1e-7)
    assert det.cfg_.method == method


def test_a_method_given_as_an_override_or_an_empty_ensemble_is_refused():
    with pytest.raises(ValueError, match=r"give a named method as Detector\(method=NAME\)"):
        Detector(overrides=["+method=ensemble"]).compose()
    with pytest.raises(ValueError, match="method 'ensemble' uses features=ensemble, but this"):
        config.compose(["features=re", "+method=ensemble"])
    from deepad import validate

    cfg = Detector(features="ensemble").compose()
    with pytest.raises(validate.ConfigError, match=r"the paper's ensemble is the method"):
        validate.check_ensemble(cfg)


def test_bad_names_and_keys_are_one_line_naming_the_choices():
    with pytest.raises(
        ValueError, match=r"^no model 'nope'; choose one of ae_conv, ae_dense, ae_h2o"
    ):
        Detector(model="nope").compose()
    with pytest.raises(
        ValueError, match=r"^unknown config key 'epochs'; did you mean trainer.max_epochs\?"
    ):
        Detector(params={"epochs": 3}).compose()
    assert Detector(params={"trainer.max_epochs": 3}).compose().trainer.max_epochs == 3


def test_outputs_name_their_method_and_a_second_call_leaves_one_configuration(
    folder, tmp_path, capsys
):
    out = tmp_path / "out"
    fast = ["--set", TINY[0], "--set", TINY[1]]
    _cli(folder, out, "--features", "re,a1", *fast)
    metrics = json.loads((out / "a1" / "metrics.json").read_text())
    assert metrics["label"] == "ae_h2o a1 iforest" and metrics["auroc"] is None  # strict JSON
    assert "NaN" not in (out / "a1" / "metrics.json").read_text()
    _cli(folder, out, "--methods", "raw_knn,ensemble", "--seed", "1", *fast)
    printed = capsys.readouterr().out
    members = config.compose_method("ensemble", 0).features.members  # conf/method/ensemble.yaml
    assert f"ensemble: rank average of {' + '.join(members)}" in printed
    assert f"removed {out / 'a1'}" in printed and f"removed {out / 're'}" in printed
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["ensemble", "raw_knn"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 1 and sorted(manifest["scores"]) == ["ensemble", "raw_knn"]
    ranking = pd.read_csv(out / "ranking.csv")
    assert list(ranking.columns) == [
        "file",
        "score_raw_knn",
        "rank_raw_knn",
        "score_ensemble",
        "rank_ensemble",
    ]


def test_a_second_call_on_a_locked_out_is_refused_in_one_line(folder, tmp_path, capsys):
    import fcntl

    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        code = cli.main(["score", str(folder), "--out", str(out), "--features", "raw"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "is being written by another deepad score" in err[0]


def test_help_shows_every_default_and_choice(capsys):
    assert cli.main(["score", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for needle in ("(default: ae_h2o)", "(default: iforest)", "(default: auto)", "(default: cache)",
                   "(default: ensemble", "choices: ae_conv, ae_dense, ae_h2o", "free_energy, raw, re",
                   "raw_knncos"):  # fmt: skip
        assert needle in text, needle


def test_make_help_expands_its_variables():
    done = subprocess.run(["make", "-s", "help"], cwd=ROOT, capture_output=True, text=True)
    assert "$(" not in done.stdout and "paper/results/peers.csv" in done.stdout


def _readme_blocks(kind: str) -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(rf"```{kind}\n(.*?)```", text, flags=re.S)


def test_the_readme_examples_run_as_typed(folder, tmp_path, monkeypatch):
    """README's CLI lines and Python block, the placeholder folder replaced by a generated one
    (each CLI line with two epochs, so the test stays short)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".venv").symlink_to(ROOT / ".venv")
    (tmp_path / "data").symlink_to(ROOT / "data")
    lines = [ln.split("#")[0].strip() for b in _readme_blocks("bash") for ln in b.splitlines()]
    scores = [ln for ln in lines if "deepad score" in ln]
    assert len(scores) >= 3
    for line in scores:
        argv = line.replace("path/to/photos", str(folder)).split()[1:]  # after .venv/bin/deepad
        assert cli.main([*argv, "--epochs", "2", "--out", str(tmp_path / "o")]) == 0, line
    (python,) = _readme_blocks("python")
    code = python.replace("path/to/photos", str(folder))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_folder_under_out_that_is_not_a_score_is_never_removed(folder, tmp_path):
    """Only score folders (a folder run written exactly there) are cleaned: a user's own folder of
    the same look beside them stays, byte for byte."""
    out = tmp_path / "out"
    mine = out / "my_run"
    mine.mkdir(parents=True)
    (mine / "config.yaml").write_text("dataset:\n  name: mnist\npaths:\n  output_dir: elsewhere\n")
    (mine / "scores.csv").write_text("index,score\n0,1.0\n")
    _cli(folder, out, "--features", "raw", "--set", TINY[0])
    assert (mine / "scores.csv").read_text() == "index,score\n0,1.0\n"
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["my_run", "raw"]
