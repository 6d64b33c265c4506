"""Contaminated-set builder: counts, determinism, errors; labels only in the record."""

import numpy as np
import pytest

from deepad.data import sets


def test_counts_match_p(blobs):
    images, labels = blobs
    s = sets.contaminate(images, labels, nominal=[0], anomaly=None, p=0.1, seed=0)
    assert s.record.is_anomaly.sum() == round(0.1 * 200 / 0.9) == 22
    assert len(s) == 222 and s.images.shape == (222, 1, 8, 8)
    assert set(s.record.classes[s.record.is_anomaly]) <= {1, 2}
    assert (s.record.classes[~s.record.is_anomaly] == 0).all()
    np.testing.assert_array_equal(s.images, images[s.source_index])  # index points into the source


def test_same_seed_same_indices_other_seed_others(blobs):
    images, labels = blobs
    a = sets.contaminate(images, labels, [0], [2], p=0.2, seed=3)
    b = sets.contaminate(images, labels, [0], [2], p=0.2, seed=3)
    c = sets.contaminate(images, labels, [0], [2], p=0.2, seed=4)
    np.testing.assert_array_equal(a.source_index, b.source_index)
    assert not np.array_equal(np.sort(a.source_index), np.sort(c.source_index))
    assert set(a.record.classes[a.record.is_anomaly]) == {2}


def test_order_carries_no_label(blobs):
    images, labels = blobs
    s = sets.contaminate(images, labels, [0], None, p=0.1, seed=0)
    first_anomaly = np.flatnonzero(s.record.is_anomaly)[0]
    assert (
        first_anomaly < len(s) - s.record.is_anomaly.sum()
    )  # anomalies are not appended at the end


def test_cap_limits_nominal(blobs):
    images, labels = blobs
    s = sets.contaminate(images, labels, [1], None, p=0.5, seed=0, cap=50)
    assert (~s.record.is_anomaly).sum() == 50 and s.record.is_anomaly.sum() == 50


def test_p_zero_is_the_clean_nominal_set(blobs):
    s = sets.contaminate(*blobs, nominal=[0, 1], anomaly=None, p=0.0, seed=0)
    assert not s.record.is_anomaly.any() and set(s.record.classes) == {0, 1}
    assert len(s) == np.isin(blobs[1], [0, 1]).sum()


@pytest.mark.parametrize("p", [-0.1, 0.51, 1.0])
def test_bad_p_is_a_clear_error(blobs, p):
    with pytest.raises(ValueError, match=r"contamination p=.* out of range: need 0 <= p <= 0.5"):
        sets.contaminate(*blobs, nominal=[0], anomaly=None, p=p, seed=0)


def test_unknown_class_is_a_clear_error(blobs):
    with pytest.raises(
        ValueError, match=r"unknown or empty nominal class\(es\) \[7\]; known classes: \[0, 1, 2\]"
    ):
        sets.contaminate(*blobs, nominal=[7], anomaly=None, p=0.1, seed=0)
    with pytest.raises(ValueError, match=r"unknown or empty anomaly class\(es\) \[9\]"):
        sets.contaminate(*blobs, nominal=[0], anomaly=[9], p=0.1, seed=0)
    with pytest.raises(ValueError, match="both nominal and anomaly"):
        sets.contaminate(*blobs, nominal=[0], anomaly=[0, 1], p=0.1, seed=0)


def test_too_few_anomalies_is_a_clear_error(blobs):
    with pytest.raises(ValueError, match=r"needs 400 anomalies but classes \[2\] have only 200"):
        sets.contaminate(*blobs, nominal=[0, 1], anomaly=[2], p=0.5, seed=0)


def test_split_all_and_bad_split():
    from deepad.data.sources import Split

    splits = {
        "train": Split(np.zeros((3, 2, 2), np.uint8), np.array([0, 1, 2])),
        "test": Split(np.ones((2, 2, 2), np.uint8), np.array([1, 2])),
    }
    assert sets.select_split(splits, "all").labels.tolist() == [0, 1, 2, 1, 2]
    with pytest.raises(ValueError, match="unknown split 'val'; choose train, test or all"):
        sets.select_split(splits, "val")
