"""The paper's table and figure scripts on a small collected-results file: they read only it, and
their numbers are the means and tests of its rows."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT


@pytest.fixture
def results(tmp_path):
    """A collected-results CSV: 2 data sets x 3 classes x (AE re, a1, raw), known AUROCs."""
    rows = []
    for d, dataset in enumerate(["mnist", "fashion_mnist"]):
        for c in range(3):
            for features, auroc in (("re", 0.9), ("a1", 0.6), ("raw", 0.8)):
                rows.append(
                    {
                        "dataset": dataset,
                        "nominal": str(c),
                        "contamination": 0.1,
                        "seed": 0,
                        "model": "ae_h2o",
                        "features": features,
                        "auroc": auroc - 0.1 * d + 0.01 * c,
                        "seconds_total": 2.0,
                        "seconds_train": 1.5,
                        "model_cache": "miss",
                        "git_commit": "abc",
                        "status": "ok",
                    }
                )
    rows.append({**rows[0], "status": "failed", "auroc": np.nan})  # a failed run is left out
    path = tmp_path / "ovr.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _script(path, *args):
    done = subprocess.run(
        [sys.executable, str(ROOT / path), *map(str, args)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_ovr_table_means_per_dataset(results, tmp_path):
    _script("paper/tables/tab_ovr.py", results, tmp_path / "ovr.md")
    md = (tmp_path / "ovr.md").read_text()
    assert "**mnist**" in md and "**fashion_mnist**" in md and "(commit abc)" in md
    mean_rows = [line for line in md.splitlines() if line.startswith("| mean")]
    assert "0.910" in mean_rows[0] and "0.610" in mean_rows[0]  # mnist AE RE, AE A1 means
    assert "0.810" in mean_rows[1]  # fashion AE RE mean


def test_wilcoxon_and_published_tables(results, tmp_path):
    _script("paper/tables/tab_wilcoxon.py", results, tmp_path / "w.md")
    w = (tmp_path / "w.md").read_text()
    assert "AE A1 vs AE RE" in w and "-0.3" in w  # A1 is 0.3 below RE on every class
    _script("paper/tables/tab_published.py", results, tmp_path / "p.md")
    p = (tmp_path / "p.md").read_text()
    assert "0.819" in p and "ODIM" in p and "AE RE (ours)" in p


def test_heatmap_figure_is_written(results, tmp_path):
    _script("paper/figures/fig_heatmap_ovr.py", results, tmp_path / "h.png")
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
