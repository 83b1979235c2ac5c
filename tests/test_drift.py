"""dlcourse.drift: PSI, KS, MMD and alarm bookkeeping give the numbers lesson 07 relies on."""

import numpy as np
import pytest

from dlcourse import drift


def test_psi_is_zero_for_the_same_distribution_and_finite_with_empty_bins():
    assert drift.psi([10, 20, 30], [1, 2, 3]) == pytest.approx(0.0, abs=1e-12)
    value = drift.psi([50, 50, 0], [0, 50, 50], eps=1e-4)
    expected = 2 * (0.5 - 1e-4) * np.log(0.5 / 1e-4)
    assert np.isfinite(value) and value == pytest.approx(expected, rel=1e-9)


def test_psi_matches_the_formula_and_works_along_the_last_axis():
    e, a = np.array([30, 40, 30]), np.array([20, 40, 40])
    pe, pa = e / e.sum(), a / a.sum()
    assert drift.psi(e, a) == pytest.approx(np.sum((pa - pe) * np.log(pa / pe)))
    both = drift.psi(np.stack([e, e]), np.stack([e, a]))
    assert both.shape == (2,) and both[0] == pytest.approx(0) and both[1] > 0.05


def test_binned_counts_put_every_value_in_a_bin():
    rng = np.random.default_rng(0)
    reference = rng.normal(size=1000)
    edges = drift.bin_edges(reference, bins=10)
    counts = drift.binned_counts(reference, edges)
    assert counts.sum() == 1000 and len(counts) == 10
    assert np.all(np.abs(counts - 100) <= 2)
    assert drift.binned_counts([-1e9, 1e9], edges).sum() == 2


def test_per_feature_tests_flag_only_the_shifted_column():
    rng = np.random.default_rng(1)
    reference = rng.normal(size=(500, 3))
    current = rng.normal(size=(500, 3))
    current[:, 1] += 1.0
    statistic, p_value = drift.ks_per_feature(reference, current)
    assert p_value[1] < 1e-6 and p_value[0] > 1e-3 and p_value[2] > 1e-3
    assert statistic[1] > 0.3
    psi = drift.psi_per_feature(reference, current)
    assert psi[1] > 0.25 and psi[0] < 0.1 and psi[2] < 0.1
    constant = np.zeros((50, 1))
    s, p = drift.ks_per_feature(constant, constant)
    assert s[0] == 0 and p[0] == 1


def test_mmd_grows_with_the_shift():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(100, 4))
    same = drift.mmd_rbf(x, rng.normal(size=(100, 4)))
    shifted = drift.mmd_rbf(x, rng.normal(size=(100, 4)) + 1.0)
    assert drift.mmd_rbf(x, x) == pytest.approx(0.0, abs=1e-12)
    assert shifted > 5 * same


def test_alarm_summary_counts_delay_and_false_alarms():
    stat = [0, 2, 0, 0, 0, 0.5, 3, 4]
    summary = drift.alarm_summary(stat, threshold=1.0, onset=4)
    assert summary == {"first_alarm": 6, "delay": 2, "false_alarms": 1, "false_alarm_rate": 0.25}
    assert drift.alarm_summary([0, 0, 0], 1.0, onset=1)["delay"] is None
    assert drift.threshold_from_null(np.arange(101), 0.99) == pytest.approx(99.0)


def test_ks_per_feature_agrees_with_scipy_on_ties_and_continuous_data():
    from scipy import stats

    rng = np.random.default_rng(3)
    reference = np.c_[rng.integers(0, 5, 300) / 4, rng.normal(size=300)]
    current = np.c_[rng.integers(0, 4, 120) / 4, rng.normal(0.3, 1, size=120)]
    statistic, p_value = drift.ks_per_feature(reference, current)
    for j in range(2):
        expected = stats.ks_2samp(reference[:, j], current[:, j], method="asymp")
        assert statistic[j] == pytest.approx(expected.statistic, abs=1e-12)
        limit = stats.kstwobign.sf(np.sqrt(300 * 120 / 420) * expected.statistic)
        assert p_value[j] == pytest.approx(limit, rel=1e-6, abs=1e-12)
        assert p_value[j] == pytest.approx(expected.pvalue, rel=0.3, abs=1e-3)


def test_psi_per_feature_reuses_precomputed_edges():
    rng = np.random.default_rng(4)
    reference, current = rng.normal(size=(200, 3)), rng.normal(0.5, 1, size=(80, 3))
    edges = drift.feature_edges(reference)
    assert np.array_equal(drift.psi_per_feature(reference, current, edges=edges),
                          drift.psi_per_feature(reference, current))


def test_feature_bins_agree_with_psi_per_column_and_pad_tied_columns():
    rng = np.random.default_rng(5)
    reference = np.c_[rng.normal(size=300), rng.integers(0, 3, 300), np.zeros(300)]
    current = np.c_[rng.normal(0.4, 1, size=90), rng.integers(0, 4, 90), rng.random(90)]
    bins = drift.FeatureBins(reference)
    expected = [drift.psi(drift.binned_counts(reference[:, j], e),
                          drift.binned_counts(current[:, j], e))
                for j, e in enumerate(drift.feature_edges(reference))]
    assert np.allclose(bins.psi(current), expected, rtol=1e-12)
    assert bins.counts(current).sum(axis=1).tolist() == [90, 90, 90]
    assert bins.psi(reference) == pytest.approx([0, 0, 0], abs=1e-12)
