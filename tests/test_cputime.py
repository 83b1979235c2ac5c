"""dlcourse.cputime: the fewest CPU seconds of a call, which sleeping does not count."""

from __future__ import annotations

import time

import pytest

from dlcourse import cputime


def test_waiting_costs_no_cpu_time_and_work_does():
    def spin(seconds=0.02):
        end = time.process_time() + seconds
        while time.process_time() < end:
            pass

    assert cputime.cpu_seconds(lambda: time.sleep(0.05), min_calls=2) < 0.01
    assert 0.015 < cputime.cpu_seconds(spin, min_calls=2) < 0.2


def test_calls_are_counted_as_asked():
    calls = []
    cputime.cpu_seconds(lambda: calls.append(1), warmup=2, min_calls=4, min_time=0.0)
    assert len(calls) == 6
    with pytest.raises(ValueError):
        cputime.cpu_seconds(lambda: None, min_calls=0)
