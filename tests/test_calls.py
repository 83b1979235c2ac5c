"""dlcourse.calls: what a student's function called, however it reached the function."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from dlcourse.calls import REPLACED, calls_to


def test_a_call_is_seen_through_an_alias_a_method_and_a_wrapper():
    from numpy import linalg

    norm = linalg.norm  # imported under another name before the block
    with calls_to("norm", packages=("numpy",)) as seen:
        norm(np.ones(3))
    assert len(seen.used) == 1 and seen.used[0].endswith(".norm")
    with calls_to("norm", packages=("numpy",)) as seen:
        np.linalg.norm(np.ones(3))
        np.linalg.norm(np.ones(2))
    assert seen.count("norm") == 2


def test_c_functions_and_methods_are_seen():
    with calls_to("cumsum", packages=("numpy",)) as seen:
        np.arange(4).cumsum()  # a method of ndarray, a C function
    assert seen.used and all(name.endswith("cumsum") for name in seen.used)


def test_nothing_is_seen_when_nothing_watched_is_called():
    with calls_to("softmax", packages=("numpy",)) as seen:
        x = np.exp(np.arange(3.0))
        _ = x / x.sum()
    assert seen.used == []


def test_a_suffix_matches_unless_exact():
    def special_expit(x):  # a stand-in defined in a watched "package" (this test module)
        return x

    module = special_expit.__module__.split(".", 1)[0]
    with calls_to("expit", packages=(module,)) as seen:
        special_expit(1)
    assert [name.rsplit(".", 1)[-1] for name in seen.used] == ["special_expit"]
    with calls_to("expit", packages=(module,), exact=True) as seen:
        special_expit(1)
    assert seen.used == []


def test_direct_counts_only_calls_from_outside_the_watched_packages():
    # np.mean calls numpy's own _mean internally: seen, unless only direct calls count
    with calls_to("mean", packages=("numpy",)) as seen:
        np.mean(np.ones(3))
    assert len(seen.used) >= 2
    with calls_to("mean", packages=("numpy",), direct=True) as seen:
        np.mean(np.ones(3))
    assert [name.rsplit(".", 1)[-1] for name in seen.used] == ["mean"]


def test_a_replaced_profiler_is_reported():
    with calls_to("norm", packages=("numpy",)) as seen:
        sys.setprofile(None)
    assert seen.used == [REPLACED]


def test_the_previous_profiler_is_restored():
    before = sys.getprofile()
    with calls_to("norm"):
        pass
    assert sys.getprofile() is before


def test_names_are_required():
    with pytest.raises(ValueError):
        calls_to()
