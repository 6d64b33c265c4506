"""Faults, round 2: each ends in one clear line and the documented exit code, and leaves what was
finished as it was (byte for byte)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from deepad import cli, detector, pipeline, report
from helpers import ROOT
from test_faults import FAST, blobs_folder, one_error_line, run_py, snapshot


def _score(folder, out, *argv):
    return cli.main(
        ["score", str(folder), "--out", str(out), "--cache", str(out.parent / "c"), *FAST, *argv]
    )


# --- 1. a logger failure after the results leaves one final state -------------------------------


def test_a_failing_logger_is_a_warning_and_the_run_stays_finished(
    make_cfg, tmp_path, monkeypatch, capsys
):
    def broken(*args, **kwargs):
        raise OSError("No such file or directory: '/home/nobody/.config/wandb'")

    monkeypatch.setattr(report, "log_wandb", broken)
    over = ("dataset=synthetic", "dataset.n_per_class=40", "trainer.max_epochs=2", "logger=wandb",
            f"logger.dir={tmp_path / 'wb'}")  # fmt: skip
    first = pipeline.run_recorded(make_cfg(*over))
    err = capsys.readouterr().err.strip().splitlines()
    assert first is not None and len(err) == 1 and "W&B logging failed (OSError" in err[0]
    run = tmp_path / "run"
    assert (run / "metrics.json").is_file() and not (run / "error.json").exists()
    pipeline.run_recorded(make_cfg(*over))
    assert "skipped" in capsys.readouterr().out
    sys.path.insert(0, str(ROOT / "experiments"))
    import collect

    (run / "error.json").write_text('{"error": "an older failure"}')  # an earlier attempt's
    rows = collect.collect([tmp_path])
    assert len(rows) == 1 and rows["status"].tolist() == ["ok"]


def test_wandb_keeps_its_staging_beside_its_runs_when_home_is_not_writable(
    make_cfg, tmp_path, monkeypatch, capsys
):
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("WANDB_MODE", "offline")
    for var in ("WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    over = ("dataset=synthetic", "dataset.n_per_class=40", "trainer.max_epochs=2", "logger=wandb",
            f"logger.dir={tmp_path / 'wb'}")  # fmt: skip
    assert pipeline.run_recorded(make_cfg(*over)) is not None
    assert not (tmp_path / "run" / "error.json").exists()
    assert "W&B offline run" in capsys.readouterr().out
    assert list((tmp_path / "wb" / "wandb").glob("offline-run-*"))


# --- 2. corrupt score and feature caches heal --------------------------------------------------


@pytest.mark.parametrize("damage", [b"", b"garbage, not numpy", b"\x93NUMPY\x01\x00truncated"])
def test_corrupt_score_and_feature_caches_are_set_aside_and_recomputed(tmp_path, capsys, damage):
    folder = blobs_folder(tmp_path / "photos")
    out = tmp_path / "out"
    assert _score(folder, out) == 0  # the default ensemble: scores and EfficientNet features cached
    first = pd.read_csv(out / "ranking.csv")
    cache = tmp_path / "c"
    files = [*(cache / "scores").glob("*.npy"), *(cache / "features").rglob("*.npz")]
    assert files
    for path in files:
        path.write_bytes(damage)
    detector.clear_memory()
    from deepad.models.pretrained import FeatureStore

    FeatureStore._open.clear()  # a new process: only the disk cache is left
    assert _score(folder, out, "--set", "rerun=true") == 0
    err = capsys.readouterr().err
    assert err.count("is unreadable") == len(files) and "moved it to" in err
    assert all(p.with_name(p.name + ".corrupt").is_file() for p in files)
    pd.testing.assert_frame_equal(pd.read_csv(out / "ranking.csv"), first)


# --- 4. workers die with their sweep ------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc")
def test_a_killed_sweep_leaves_no_worker_running(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "WANDB_MODE": "disabled"}
    cmd = [sys.executable, str(ROOT / "experiments" / "sweep.py"), "dataset=synthetic",
           "seed=0,1,2,3", "trainer.max_epochs=400", "logger=none", "--jobs", "2",
           f"hydra.sweep.dir={tmp_path / 'sweep'}", f"paths.cache={tmp_path / 'c'}"]  # fmt: skip
    main = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while time.monotonic() < deadline and len(workers) < 2:
        time.sleep(0.5)
        workers = [
            c
            for c in _children(main.pid)
            if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text(errors="replace")
        ]
    assert len(workers) >= 2, "the sweep started no workers"
    main.send_signal(signal.SIGKILL)
    main.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.5)
    assert not any(_alive(w) for w in workers)


# --- 5, 9. run.py: environment faults are one line, exit 2; an interrupted -m says where -------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["hydra.run.dir={file}/run"], "hydra.run.dir={file}/run: cannot write there"),
        (["features=a3"], "run.py: error: no features 'a3'; choose one of a1, a2"),
        (["+model.hiden="], "run.py: error: unknown key model.hiden (a typo?)"),
        (["-m", "features=a3,re"], "run.py: error: no features 'a3'"),
    ],
)
def test_run_py_environment_faults_are_one_line_and_exit_2(tmp_path, overrides, message):
    file = tmp_path / "a-file"
    file.write_text("")
    args = [o.format(file=file) for o in overrides]
    done = run_py(tmp_path, *args, "dataset=synthetic", "logger=none", "trainer.max_epochs=1")
    assert done.returncode == 2
    line = one_error_line(done.stderr, "run.py: error:")
    assert message.format(file=file).removeprefix("run.py: error: ") in line


def test_an_interrupted_multirun_says_how_it_resumes(monkeypatch, capsys):
    def entry():
        raise KeyboardInterrupt

    monkeypatch.setattr(sys, "argv", ["run.py", "-m", "seed=0,1"])
    with pytest.raises(SystemExit) as stop:
        pipeline.interruptible(entry)
    err = capsys.readouterr().err
    assert stop.value.code == 130 and "outputs/multirun/" in err and "run the same command" in err


# --- 6, 7. a one-image folder; a folder's contamination ----------------------------------------


def test_a_one_image_folder_says_how_many_images_are_needed(tmp_path, capsys):
    folder = blobs_folder(tmp_path / "one", n=1)
    assert _score(folder, tmp_path / "out") == 2
    line = one_error_line(capsys.readouterr().err, "deepad score: error:")
    assert "1 image to rank: a ranking needs at least 2 images" in line


@pytest.mark.parametrize("value", ["1.5", "-3", "abc"])
def test_a_folders_contamination_is_refused_in_one_line(tmp_path, capsys, value):
    folder = blobs_folder(tmp_path / "photos")
    out = tmp_path / "out"
    assert _score(folder, out, "--features", "re") == 0
    before = snapshot(out)
    assert _score(folder, out, "--features", "re", "--set", f"dataset.contamination={value}") == 2
    line = one_error_line(capsys.readouterr().err, "deepad score: error:")
    assert f"dataset.contamination={value}: a folder (dataset=folder) is ranked as it is" in line
    assert snapshot(out) == before  # nothing finished touched


# --- 8. TIFF (16-bit too), GIF, RGBA; other files are counted --------------------------------


def test_tiff_gif_and_transparent_images_are_read_and_other_files_counted(tmp_path):
    from deepad.data import folders

    folder = tmp_path / "scans"
    folder.mkdir()
    grey = np.full((8, 8), 100, np.uint8)
    Image.fromarray(grey).save(folder / "a.tif")
    Image.fromarray(grey.astype(np.uint16) * 40).save(folder / "b16.tif")  # 16-bit: 4000
    Image.fromarray(np.full((8, 8), 200, np.uint8)).convert("P").save(folder / "c.gif")
    rgba = np.zeros((8, 8, 4), np.uint8)
    rgba[..., :3] = 30  # a hidden colour under fully transparent pixels
    Image.fromarray(rgba, "RGBA").save(folder / "d.png")
    (folder / "notes.txt").write_text("x")
    (folder / "e.pdf").write_bytes(b"%PDF")
    with pytest.warns(
        UserWarning, match=r"ignored 2 files that are not images \(1 \.pdf, 1 \.txt\)"
    ):
        images, files = folders.read_images.__wrapped__(str(folder), 8, grey=True)
    assert list(files) == ["a.tif", "b16.tif", "c.gif", "d.png"]
    assert images[0].mean() == pytest.approx(100, abs=1)
    assert images[2].mean() == pytest.approx(200, abs=1)  # the GIF's first frame
    assert images[3].mean() == pytest.approx(255, abs=1)  # transparent: the white background
    assert 0 < images[1].mean() < 255  # 16-bit scaled by its bit depth, not clipped to white
