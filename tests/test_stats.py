"""The paper's statistics on small made-up tables whose answers are known by hand."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon

from paper import common as stats


def test_holm_on_known_pvalues():
    # sorted 0.005, 0.01, 0.03, 0.04 -> x4, x3, x2, x1 = 0.02, 0.03, 0.06, 0.04 -> monotone 0.06
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(stats.holm([0.5, 0.9]), [1.0, 1.0])
    np.testing.assert_allclose(stats.holm([0.01, np.nan, 0.02]), [0.02, np.nan, 0.02])


def table(classes: int = 6, seeds: int = 3) -> pd.DataFrame:
    """Method A beats B by 0.1 on every class; seed noise that cancels within a class."""
    rows = []
    for c in range(classes):
        for s in range(seeds):
            noise = (s - (seeds - 1) / 2) * 0.05
            rows.append({"nominal": c, "seed": s, "method": "A", "auroc": 0.7 + 0.01 * c + noise})
            rows.append({"nominal": c, "seed": s, "method": "B", "auroc": 0.6 + 0.01 * c - noise})
    return pd.DataFrame(rows).assign(dataset="d")


def test_class_pairing_collapses_seeds():
    results = table(classes=6, seeds=3)
    per_class = stats.class_means(results, ["dataset"])
    assert len(per_class) == 12 and set(per_class["seeds"]) == {3}
    row = stats.compare(results, [("A", "B")], ["dataset"]).iloc[0]
    assert row["classes"] == 6 and row["wins"] == 6 and row["losses"] == 0  # not 18 pairs
    assert row["median difference"] == pytest.approx(0.1)
    assert row["p_value"] == pytest.approx(wilcoxon(np.full(6, 0.1) + np.arange(6) * 1e-9).pvalue)
    assert row["p_value"] == pytest.approx(2 / 2**6)  # exact two-sided: all 6 signs positive
    assert row["lo"] == pytest.approx(0.1) and row["hi"] == pytest.approx(0.1)


def test_compare_holm_over_the_table_family():
    results = pd.concat([table().assign(dataset="x"), table().assign(dataset="y")])
    tab = stats.compare(results, [("A", "B")], ["dataset"])
    assert list(tab["dataset"]) == ["x", "y"]
    np.testing.assert_allclose(tab["p_holm"], np.minimum(2 * tab["p_value"], 1))
    per_dataset = stats.compare(results, [("A", "B")], ["dataset"], family=["dataset"])
    np.testing.assert_allclose(per_dataset["p_holm"], per_dataset["p_value"])  # families of one
    assert stats.verdict(tab.iloc[0], alpha=0.1) == "A higher"
    assert stats.verdict(tab.iloc[0], alpha=0.01) == "no difference shown"


def test_identical_methods_are_a_tie():
    results = table()
    same = results[results["method"] == "A"].assign(method="B")
    results = pd.concat([results[results["method"] == "A"], same])
    row = stats.compare(results, [("A", "B")], ["dataset"]).iloc[0]
    assert row["p_value"] == 1.0 and row["wins"] == 0 and row["median difference"] == 0


def test_mean_ci_is_over_classes_and_brackets_the_mean():
    results = table(classes=10, seeds=3)
    ci = stats.mean_ci(results, ["dataset"]).set_index("method")
    assert ci.loc["A", "classes"] == 10 and ci.loc["A", "runs"] == 30
    assert ci.loc["A", "mean"] == pytest.approx(0.7 + 0.045)
    assert ci.loc["A", "lo"] < ci.loc["A", "mean"] < ci.loc["A", "hi"]
    assert ci.loc["A", "hi"] - ci.loc["A", "lo"] < 0.1  # class means span 0.09
    assert stats.cell(0.5, np.nan, np.nan) == "0.500"


def test_seed_spread_per_class():
    spread = stats.seed_spread(table(classes=2, seeds=3), ["dataset"])
    np.testing.assert_allclose(spread["range"], 0.1)  # noise -0.05 .. +0.05


def test_two_level_interval_holds_the_seed_spread():
    rng = np.random.default_rng(0)
    classes = rng.normal(0.8, 0.01, 10)  # classes nearly alike
    tight = [np.full(3, c) for c in classes]  # seeds that agree
    loose = [c + rng.normal(0, 0.1, 3) for c in classes]  # seeds that scatter
    lo_t, hi_t = stats.two_level(tight)
    lo_l, hi_l = stats.two_level(loose)
    assert hi_l - lo_l > 3 * (hi_t - lo_t)  # the seeds' spread widens the interval
    one_seed = [np.array([c]) for c in classes]  # one seed a class: the bootstrap over classes
    assert stats.two_level(one_seed) == stats.bootstrap(classes)
