"""dlcourse.benchmarking: the timing harness of lesson 01 and the latency helpers of lesson 05.

The eager-versus-compiled timers are checked against a fake clock, so the tests are exact
and do not depend on how busy the machine is.
"""

from __future__ import annotations

import math

import pytest

from dlcourse import benchmarking


class FakeClock:
    """Stands in for ``time.perf_counter``; a timed function advances it by its cost."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def costs(self, seconds):
        """A function whose calls take ``seconds[0]``, ``seconds[1]``, ... (then the last)."""
        remaining = list(seconds)

        def call(*args):
            self.now += remaining.pop(0) if len(remaining) > 1 else remaining[0]
            return args

        return call


@pytest.fixture
def clock(monkeypatch):
    fake = FakeClock()
    monkeypatch.setattr(benchmarking.time, "perf_counter", fake)
    return fake


def test_first_call_times_one_call_and_syncs_its_result(clock):
    synced = []
    seconds = benchmarking.first_call_seconds(clock.costs([2.5, 1.0]), "x", sync=synced.append)
    assert seconds == 2.5
    assert synced == [("x",)]


def test_best_block_is_the_fastest_block_per_call_after_warmup(clock):
    # 2 warm-up calls that are slow (excluded), then 3 blocks of 2 calls each:
    # block costs 2+2, 1+1 (fastest: 1 s per call), 3+3
    fn = clock.costs([100, 100, 2, 2, 1, 1, 3, 3])
    assert benchmarking.best_block_seconds(fn, calls=6, blocks=3, warmup=2) == 1.0


def test_best_block_syncs_every_call(clock):
    synced = []
    benchmarking.best_block_seconds(clock.costs([1.0]), 7, sync=synced.append, calls=8,
                                    blocks=2, warmup=3)
    assert synced == [(7,)] * (3 + 8)


def test_best_block_refuses_fewer_calls_than_blocks():
    with pytest.raises(ValueError):
        benchmarking.best_block_seconds(lambda: None, calls=2, blocks=3)


def test_compare_times_the_first_compiled_call_before_any_other(clock):
    order = []

    def eager():
        order.append("eager")
        clock.now += 4e-6

    def compiled():
        order.append("compiled")
        clock.now += 1.0 if order.count("compiled") == 1 else 1e-6

    result = benchmarking.compare_eager_and_compiled("Demo", "demo.jit", eager, compiled,
                                                     calls=4, blocks=2)
    assert order[0] == "compiled"
    assert result.first_call == 1.0
    assert result.eager == pytest.approx(4e-6)
    assert result.compiled == pytest.approx(1e-6)
    assert result.speedup == pytest.approx(4.0)
    # 1 s of compiling, 3 µs saved per call
    assert result.calls_to_repay == pytest.approx(1.0 / 3e-6)
    row = result.row()
    assert row["framework"] == "Demo" and row["compiler"] == "demo.jit"
    assert row["eager µs/call"] == pytest.approx(4.0)
    assert row["first compiled call (ms)"] == pytest.approx(1000.0)
    assert row["calls to repay the first call"] == "333,333"


def test_a_compiled_version_that_is_slower_never_repays():
    slower = benchmarking.CompileComparison("Demo", "demo.jit", eager=1e-6, compiled=2e-6,
                                            first_call=0.5)
    assert math.isinf(slower.calls_to_repay)
    assert slower.row()["calls to repay the first call"] == "never"
    assert slower.speedup == pytest.approx(0.5)


def test_time_call_and_latency_summary_still_work():
    timing = benchmarking.time_call(lambda: None, warmup=1, min_time=0.0, min_calls=3)
    assert timing.calls == 3
    summary = benchmarking.latency_summary([0.001, 0.002, 0.003])
    assert summary["count"] == 3 and summary["p50"] == pytest.approx(2.0)
    assert summary["max"] == pytest.approx(3.0)


def test_the_compile_plot_draws_both_panels_on_log_axes():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    rows = [{"workload": work, **benchmarking.CompileComparison(
        name, "jit", eager=2e-5, compiled=1e-5, first_call=0.1).row()}
        for work in ("(a) one", "(b) two") for name in ("PyTorch", "JAX")]
    table = pd.DataFrame(rows).set_index(["workload", "framework"])
    fig = benchmarking.plot_eager_and_compiled(table)
    left, right = fig.axes
    assert left.get_yscale() == right.get_yscale() == "log"
    assert len(left.patches) == 2 * len(table) and len(right.patches) == len(table)
    assert [t.get_text() for t in right.get_xticklabels()][:2] == ["PyTorch\n(a)", "JAX\n(a)"]
    assert fig._suptitle.get_text() == "(a) one   (b) two"
    plt.close(fig)
