"""Time CPU work on a machine that other programs share: CPU seconds, fastest of several calls.

Taught in lesson 06 (``notebooks/06_scaling.ipynb``, "Where the time and the memory
go"), which times training steps, matrix products and checkpointing with it.

Wall-clock time (:func:`time.perf_counter`) counts every moment a program waits for
a core. Where more programs want a core than there are cores, a 25 ms training step
can take 100 ms of wall time, and longer steps are stretched more than short ones,
because they are interrupted more often: a comparison of batch sizes made with the
wall clock then measures the machine's load. The CPU time of the calling process
(:func:`time.process_time`) counts only the time it computed; with PyTorch on one
thread (``torch.set_num_threads(1)``) that is the work itself. Two caveats: with
several threads it adds up their times (it is no longer a duration), and it is the
wrong clock for anything that waits (for a message, another process, a GPU), which
must be timed on the wall clock, keeping the fastest of several runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def cpu_seconds(fn: Callable[[], object], *, warmup: int = 1, min_calls: int = 3,
                min_time: float = 0.05, max_calls: int = 10_000) -> float:
    """The fewest CPU seconds one call of ``fn()`` took.

    ``fn`` runs ``warmup`` times untimed, then at least ``min_calls`` times and until
    ``min_time`` CPU seconds have been spent, at most ``max_calls`` times.
    """
    if min_calls < 1 or max_calls < min_calls:
        raise ValueError("need 1 <= min_calls <= max_calls")
    for _ in range(warmup):
        fn()
    best, spent, calls = float("inf"), 0.0, 0
    while calls < max_calls and (calls < min_calls or spent < min_time):
        started = time.process_time()
        fn()
        elapsed = time.process_time() - started
        best, spent, calls = min(best, elapsed), spent + elapsed, calls + 1
    return best
