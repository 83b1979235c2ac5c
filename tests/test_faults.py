"""dlcourse.faults: the injected faults are where they are said to be, and the checks find them."""

import numpy as np

from dlcourse import data, faults


def digits():
    d = data.load_digits()
    return d.train, d.test


def test_inject_records_every_fault():
    train, test = digits()
    bad = faults.inject(train.x, train.y, test_x=test.x, test_y=test.y, flip=0.1, leak=20,
                        corrupt=0.03, rare_class=3, rare_keep=0.2, seed=0)
    kept = len(train) - len(bad.dropped)
    assert len(bad.y) == kept + 20 and np.all(train.y[bad.dropped] == 3)
    assert (bad.y == 3).sum() < 0.3 * (train.y == 3).sum()
    assert len(bad.flipped) == round(0.1 * kept)
    assert np.all(bad.leaked == np.arange(kept, kept + 20))
    assert np.array_equal(bad.x[bad.leaked[:10]], test.x[bad.leaked_from[:10]])
    assert not np.array_equal(bad.x[bad.leaked[10:]], test.x[bad.leaked_from[10:]])
    assert len(bad.corrupted) == round(0.03 * len(bad.y))
    untouched = np.setdiff1d(np.arange(len(bad.y)), bad.corrupted)
    assert np.isfinite(bad.x[untouched]).all() and bad.x[untouched].max() <= 1


def test_duplicate_checks_find_exact_and_near_copies():
    train, test = digits()
    bad = faults.inject(train.x, train.y, test_x=test.x, test_y=test.y, leak=20, seed=1)
    exact = faults.exact_duplicates(bad.x, test.x)
    found = {j for _, j in exact}
    assert set(bad.leaked_from[:10]) <= found
    near = {j for _, j in faults.near_duplicates(bad.x, test.x, tol=0.3)}
    assert set(bad.leaked_from) <= near
    assert faults.exact_duplicates(np.array([[1.0], [2.0], [1.0]])) == [(0, 2)]


def test_label_issues_follow_confident_learning():
    labels = np.array([0, 0, 1, 1, 1])
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.1, 0.9], [0.3, 0.7], [0.95, 0.05]])
    # thresholds: class 0 -> (0.9 + 0.2) / 2 = 0.55, class 1 -> (0.9 + 0.7 + 0.05) / 3 = 0.55
    assert list(faults.label_issues(labels, p)) == [4, 1]


def test_schema_problems_find_each_kind_of_bad_row():
    x = np.zeros((4, 64), dtype=np.float32)
    x[1, 3] = np.nan
    x[2, 0] = 16.0
    problems = faults.schema_problems(x)
    assert list(problems["finite"]) == [1] and list(problems["range"]) == [2]
    assert not problems["shape"] and not problems["dtype"]
    assert faults.schema_problems(x.reshape(4, 8, 8).astype(np.float64))["shape"]
