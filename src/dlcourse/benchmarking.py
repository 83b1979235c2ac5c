"""Measure latency and size the same way everywhere: warm up, repeat, report percentiles.

Taught in lesson 05 (``notebooks/05_deployment.ipynb``, "Speed and size"), where
every runtime of the digits model is timed with :func:`time_call`, and the HTTP
service's latencies are summarised with :func:`latency_summary`. Lesson 01
(``notebooks/01_frameworks.ipynb``, "Measured: what compiling costs and buys")
times eager against compiled code with :func:`compare_eager_and_compiled`.

Timing rules, and why:

- **Warm up first.** The first calls of a runtime pay for lazy work (memory
  allocation, kernel selection, JIT compilation) that a server pays once.
- **Time each call** with :func:`time.perf_counter` and keep every sample, so
  the report can give the median (robust to a busy machine) and the tail (what
  the slowest users see), not only a mean.
- **Repeat for a minimum time**, not a fixed count: fast calls get many
  samples, slow calls still finish.
"""

from __future__ import annotations

import math
import os
import textwrap
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: Percentiles reported by :func:`latency_summary`.
PERCENTILES = (50, 90, 99)


@dataclass(frozen=True)
class Timing:
    """Seconds per call of one timed function: every sample, and their summary."""

    samples: tuple[float, ...]

    @property
    def calls(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> float:
        return float(np.median(self.samples))

    @property
    def mean(self) -> float:
        return float(np.mean(self.samples))

    @property
    def best(self) -> float:
        return float(np.min(self.samples))

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.samples, q))


def time_call(fn: Callable[[], object], *, warmup: int = 5, min_time: float = 0.2,
              min_calls: int = 5, max_calls: int = 10_000) -> Timing:
    """Time ``fn()`` (no arguments: wrap the call in a ``lambda``) call by call.

    ``fn`` runs ``warmup`` times untimed, then at least ``min_calls`` times and
    until ``min_time`` seconds have been spent timing it, at most ``max_calls``
    times. Make sure ``fn`` waits for its result: a GPU or an asynchronous
    runtime must have finished when it returns (``.block_until_ready()`` in JAX,
    ``torch.cuda.synchronize()`` in PyTorch on a GPU, ``.numpy()`` in TensorFlow).
    """
    if min_calls < 1 or max_calls < min_calls:
        raise ValueError("need 1 <= min_calls <= max_calls")
    for _ in range(warmup):
        fn()
    samples: list[float] = []
    spent = 0.0
    while len(samples) < max_calls and (len(samples) < min_calls or spent < min_time):
        start = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - start
        samples.append(elapsed)
        spent += elapsed
    return Timing(tuple(samples))


def latency_summary(samples: Iterable[float], *, scale: float = 1e3,
                    percentiles: Iterable[float] = PERCENTILES) -> dict[str, float]:
    """Summarise latencies given in seconds: count, mean, percentiles and max.

    Values are multiplied by ``scale`` (default: milliseconds); percentiles use
    NumPy's default (linear) interpolation, named ``p50``, ``p90``, ``p99``.
    """
    values = np.asarray(list(samples), dtype=np.float64)
    if values.size == 0:
        raise ValueError("no latencies to summarise")
    summary = {"count": float(values.size), "mean": float(values.mean() * scale)}
    for q in percentiles:
        name = f"p{q:g}".replace(".", "_")
        summary[name] = float(np.percentile(values, q) * scale)
    summary["max"] = float(values.max() * scale)
    return summary


def size_on_disk(path: str | os.PathLike) -> int:
    """Bytes in a file, or in all the files under a folder (a SavedModel)."""
    path = Path(path)
    if path.is_file():
        return path.stat().st_size
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    raise FileNotFoundError(path)


def human_bytes(size: float) -> str:
    """``12345`` -> ``'12.1 KiB'``: sizes as a person reads them."""
    if size < 1024:
        return f"{int(size)} B"
    exponent = min(int(math.log(size, 1024)), 4)
    return f"{size / 1024**exponent:.1f} {('B', 'KiB', 'MiB', 'GiB', 'TiB')[exponent]}"


# --- Eager versus compiled -----------------------------------------------------------------
# Taught in lesson 01 (``notebooks/01_frameworks.ipynb``, "Measured: what compiling costs and
# buys"), which times one forward pass eager and compiled in PyTorch, TensorFlow and JAX.


def _returned(out: object) -> object:
    return out


def first_call_seconds(fn: Callable[..., object], *args: object,
                       sync: Callable[[object], object] = _returned) -> float:
    """Seconds taken by one call ``sync(fn(*args))``, timed with :func:`time.perf_counter`.

    Called on a freshly compiled function, this is the bill for tracing and compiling
    plus one run. ``sync`` receives the result and must return only once it is ready
    (``jax.block_until_ready``; a function calling ``torch.cuda.synchronize()`` on a GPU).
    """
    start = time.perf_counter()
    sync(fn(*args))
    return time.perf_counter() - start


def best_block_seconds(fn: Callable[..., object], *args: object,
                       sync: Callable[[object], object] = _returned, calls: int = 300,
                       blocks: int = 6, warmup: int = 5) -> float:
    """Steady-state seconds per call ``sync(fn(*args))``: the fastest of ``blocks`` blocks.

    ``fn`` runs ``warmup`` times untimed, then ``calls`` times in ``blocks`` equal blocks,
    each timed as a whole and divided by its number of calls. The fastest block is
    returned, following :mod:`timeit`: other programs on the machine can only add time,
    so the minimum is the best estimate of the code's own cost. Every result goes
    through ``sync``: JAX and CUDA run asynchronously, and an unwaited call costs nothing.
    """
    if blocks < 1 or calls < blocks:
        raise ValueError("need 1 <= blocks <= calls")
    for _ in range(warmup):
        sync(fn(*args))
    per_block = calls // blocks
    best = math.inf
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(per_block):
            sync(fn(*args))
        best = min(best, (time.perf_counter() - start) / per_block)
    return best


@dataclass(frozen=True)
class CompileComparison:
    """One framework's eager and compiled timings of the same computation, in seconds."""

    framework: str
    compiler: str
    eager: float
    compiled: float
    first_call: float

    @property
    def speedup(self) -> float:
        """Eager time over compiled time per call: above 1 when compiling pays per call."""
        return self.eager / self.compiled

    @property
    def calls_to_repay(self) -> float:
        """Calls after which the first call's cost is earned back; ``inf`` if never."""
        saved = self.eager - self.compiled
        return self.first_call / saved if saved > 0 else math.inf

    def row(self) -> dict[str, object]:
        """The comparison as a table row, in the units a person reads (µs, ms)."""
        repay = self.calls_to_repay
        return {"framework": self.framework, "compiler": self.compiler,
                "eager µs/call": self.eager * 1e6,
                "first compiled call (ms)": self.first_call * 1e3,
                "compiled µs/call": self.compiled * 1e6,
                "speed-up (eager / compiled)": self.speedup,
                "calls to repay the first call": "never" if math.isinf(repay) else f"{repay:,.0f}"}


def compare_eager_and_compiled(framework: str, compiler: str, eager: Callable[..., object],
                               compiled: Callable[..., object], *args: object,
                               sync: Callable[[object], object] = _returned, calls: int = 300,
                               blocks: int = 6) -> CompileComparison:
    """Time ``eager(*args)`` and a not-yet-called ``compiled(*args)`` the same way.

    The compiled function's first call is timed first (:func:`first_call_seconds`), so
    it must not have run before; then both are timed in steady state
    (:func:`best_block_seconds`).
    """
    first = first_call_seconds(compiled, *args, sync=sync)
    return CompileComparison(
        framework=framework, compiler=compiler,
        eager=best_block_seconds(eager, *args, sync=sync, calls=calls, blocks=blocks),
        compiled=best_block_seconds(compiled, *args, sync=sync, calls=calls, blocks=blocks),
        first_call=first)


def plot_eager_and_compiled(table, *, figsize=(11, 3.6)):
    """Draw a table of :meth:`CompileComparison.row` rows: steady state and first call.

    ``table`` is a DataFrame of those rows indexed by (workload, framework), as lesson 01
    builds it. Left: eager and compiled microseconds per call, side by side for each
    workload and framework; right: the first compiled call in milliseconds. Both axes are
    logarithmic, since the values span several powers of ten. Returns the figure.
    """
    import matplotlib.pyplot as plt

    keys = [key if isinstance(key, tuple) else ("", key) for key in table.index]
    workloads = list(dict.fromkeys(str(workload) for workload, _ in keys))
    short = {w: w.split(" ", 1)[0] if w.startswith("(") else textwrap.fill(w, 14)
             for w in workloads}  # "(a) MLP forward" -> "(a)", named in the title
    labels = [f"{framework}\n{short[str(workload)]}" for workload, framework in keys]
    positions = np.arange(len(labels))
    fig, (left, right) = plt.subplots(1, 2, figsize=figsize)
    if any(short[w] != w for w in workloads):
        fig.suptitle("   ".join(w for w in workloads if short[w] != w), fontsize=10)
    width = 0.4
    left.bar(positions - width / 2, table["eager µs/call"], width, label="eager")
    left.bar(positions + width / 2, table["compiled µs/call"], width, label="compiled")
    left.set_yscale("log")
    left.set_ylabel("µs per call (log scale)")
    left.set_title("steady state: time per call")
    left.legend()
    right.bar(positions, table["first compiled call (ms)"], color="tab:red")
    right.set_yscale("log")
    right.set_ylabel("ms (log scale)")
    right.set_title("first call: trace + compile + run")
    for ax in (left, right):
        ax.set_xticks(positions, labels, fontsize=8)
        ax.grid(axis="y", which="major", alpha=0.3)
    fig.tight_layout()
    return fig
