"""environment.yml mirrors pyproject.toml's pins exactly."""

import tomllib

import yaml

from conftest import ROOT


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
