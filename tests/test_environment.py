"""environment.yml mirrors pyproject.toml's pins exactly."""

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile

import yaml

from helpers import ROOT


def _pins(lines):
    return {s.split("==")[0].lower(): s.split("==")[1] for s in lines if "==" in s}


def test_environment_yml_pins_match_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [dep for group in project["optional-dependencies"].values() for dep in group]
    declared = _pins(project["dependencies"] + extras)
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert _pins(pip_section) == declared
    assert all("==" in dep for dep in project["dependencies"]), "every runtime dependency is pinned"


def test_a_built_wheel_carries_the_configs_and_composes_without_the_repository(tmp_path):
    """conf/ is package data: a non-editable install (the wheel, unpacked away from the
    repository) composes a run config and lists the methods from its own copy."""
    src = tmp_path / "src"
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    wheel = tmp_path / "wheel"
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run([*build, "-w", str(wheel), str(src)], check=True, capture_output=True)
    (whl,) = wheel.glob("deepad-*.whl")
    site = tmp_path / "site"
    zipfile.ZipFile(whl).extractall(site)
    assert (site / "deepad" / "conf" / "experiment" / "ovr.yaml").is_file()
    probe = (
        "import deepad.config as c; cfg = c.compose(['+method=raw_knn']); "
        "print(c.CONF.parent.parent == __import__('pathlib').Path(sys.argv[1]), cfg.detector.name, "
        "len(c.choices('method')) > 5)"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    out = subprocess.run(
        [sys.executable, "-c", "import sys; " + probe, str(site)],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.split() == ["True", "knn_rel", "True"]
