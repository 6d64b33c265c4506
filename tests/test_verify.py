"""`make verify`: the comparison with the committed results, per network and score, against the
stated tolerances (the rerun itself is the sweep's, tested elsewhere)."""

import subprocess
import sys

import pandas as pd
import pytest

from helpers import ROOT

sys.path.insert(0, str(ROOT / "experiments"))
import verify  # noqa: E402


def _new(d_dbn: float) -> pd.DataFrame:
    rows = []
    for model, feats, auroc in (("ae_h2o", "re", 0.9), ("ae_h2o", "raw", 0.8), ("dbn", "a1", 0.7)):
        rows.append({"experiment": "ovr", "name": f"{model}-{feats}", "results": "ovr.csv",
                     "model": model, "features": feats,
                     "auroc": auroc + (d_dbn if model == "dbn" else 0.0), "ap": 0.5})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture
def results(tmp_path):
    old = _new(0.0)
    pd.DataFrame(
        {
            "run_dir": "outputs/sweeps/full/ovr/" + old["name"],
            "auroc": old["auroc"],
            "ap": 0.5,
            "model": old["model"],
            "features": old["features"],
        }  # fmt: skip
    ).to_csv(tmp_path / "ovr.csv", index=False)
    return tmp_path


def test_differences_within_the_tolerance_pass(results):
    table = verify.compare(_new(0.04), results).set_index(["network", "features"])
    assert table["ok"].all() and table.loc[("dbn", "a1"), "max_d_auroc"] == pytest.approx(0.04)
    assert table.loc[("raw pixels", "raw"), "tol_auroc"] == verify.TOLERANCE["raw pixels"][0]


def test_a_difference_beyond_the_tolerance_fails_its_row(results):
    table = verify.compare(_new(0.06), results).set_index(["network", "features"])
    assert not table.loc[("dbn", "a1"), "ok"] and table.drop(("dbn", "a1"))["ok"].all()
    new = _new(0.0)
    new.loc[new["model"] == "dbn", "ap"] = 0.5 + 0.13  # AP has its own, wider bound
    table = verify.compare(new, results).set_index(["network", "features"])
    assert not table.loc[("dbn", "a1"), "ok"]


def test_a_run_missing_from_the_results_is_named(results):
    new = _new(0.0)
    new.loc[0, "name"] = "not-committed"
    with pytest.raises(SystemExit, match="has no run ovr/not-committed"):
        verify.compare(new, results)


def test_without_committed_results_it_exits_2(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "experiments" / "verify.py"), "--results", str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and "no committed results" in done.stderr


def test_the_rounding_table_sets_each_scores_difference_beside_its_seed_range(tmp_path):
    """Two recordings of the same runs (the DBN's A1 differs by 0.01, the AE's RE not at all) and
    paper runs whose seed ranges are known (0.04 for both): ratios 0.25 and 0."""
    from paper.tables import tab_rounding

    rec = pd.DataFrame(
        {"experiment": ["ovr", "ovr_dbn"], "name": ["a", "b"], "dataset": "mnist",
         "model": ["ae_h2o", "dbn"], "features": ["re", "a1"], "detector": "iforest",
         "a2_layers": None, "auroc": [0.9, 0.8], "ap": [0.5, 0.4], "mkl": "shim"}
    )  # fmt: skip
    other = rec.assign(auroc=[0.9, 0.81], mkl="vendor")
    runs = pd.DataFrame(
        [{"dataset": "mnist", "nominal": c, "contamination": 0.1, "seed": s, "model": m,
          "features": f, "detector": "iforest", "auroc": 0.8 + 0.02 * s}
         for c in range(3) for s in range(3) for m, f in (("ae_h2o", "re"), ("dbn", "a1"))]
    )  # fmt: skip
    tab = tab_rounding.table(rec, other, runs).set_index("method")
    assert tab.loc["DBN A1", "max |d AUROC|"] == pytest.approx(0.01)
    assert tab.loc["DBN A1", "rounding / seed"] == pytest.approx(0.25)
    assert tab.loc["AE RE", "rounding / seed"] == 0
    assert tab_rounding.summary(tab.reset_index()).startswith("Rounding alone moves DBN A1 most")


def test_a_verdict_that_differs_between_machines_is_reported_fragile(tmp_path):
    from paper.tables import tab_fragile

    here = pd.DataFrame(
        {"family": ["clutter", "clutter", "wilcoxon"], "test": ["a", "b", "c"],
         "verdict": ["tie", "fails", "no difference shown"]}
    )  # fmt: skip
    there = here.assign(verdict=["fails", "fails", "no difference shown"])
    tab, fragile = tab_fragile.table(here, there)
    assert tab["fragile"].tolist() == [0, 1] and fragile["test"].tolist() == ["a"]
    assert tab_fragile.summary(tab, fragile).endswith(
        "1 is fragile: a (tie here, fails on the rerun)."
    )
    same, _ = tab_fragile.table(here, here)
    assert same["fragile"].sum() == 0


def test_drift_counts_runs_unchanged_and_the_largest_difference_per_network(tmp_path):
    from paper.tables import tab_fragile

    for folder, dbn in ((tmp_path / "a", 0.80), (tmp_path / "b", 0.83)):
        folder.mkdir()
        for name in ("ovr", "deep", "beyond", "clutter_sweep"):
            pd.DataFrame(
                {"run_dir": [f"{name}/1", f"{name}/2"], "model": ["ae_h2o", "dbn"],
                 "features": ["re", "a1"], "auroc": [0.9, dbn], "ap": [0.5, 0.5]}
            ).to_csv(folder / f"{name}.csv", index=False)  # fmt: skip
    d = tab_fragile.drift(tmp_path / "a", tmp_path / "b").set_index("network")
    assert d.loc["ae_h2o", "same_auroc"] == 1 and d.loc["dbn", "same_auroc"] == 0
    assert d.loc["dbn", "max_d_auroc"] == pytest.approx(0.03) and d.loc["dbn", "runs"] == 4
