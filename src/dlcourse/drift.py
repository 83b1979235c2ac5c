"""Drift statistics and monitoring helpers: PSI, per-feature KS tests, MMD, alarms.

Taught in lesson 07 (``notebooks/07_production.ipynb``, "Monitoring and drift"),
where each statistic is explained and the stream of requests is generated.

- :func:`psi` is the population stability index of two binned distributions;
  an empty bin is given the proportion ``eps`` instead of 0, so the index
  stays finite.
- :func:`psi_per_feature` (or :class:`FeatureBins`, which keeps the
  reference's bins and counts) is the PSI of every column;
- :func:`ks_per_feature` runs a two-sample Kolmogorov-Smirnov test on every
  column at once.
- :func:`mmd_rbf` is the (biased) maximum mean discrepancy with a Gaussian
  kernel, a drift statistic for whole vectors such as embeddings.
- :func:`alarm_summary` turns a statistic per window and a threshold into the
  numbers a monitoring dashboard reports: first alarm, detection delay and
  false alarms before the drift began.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

EPS = 1e-4


def proportions(counts, eps: float = EPS) -> np.ndarray:
    """Counts per bin as proportions, each at least ``eps`` (no renormalisation)."""
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum(axis=-1, keepdims=True)
    if np.any(total <= 0):
        raise ValueError("every distribution needs at least one count")
    return np.maximum(counts / total, eps)


def psi(expected_counts, actual_counts, eps: float = EPS) -> np.ndarray | float:
    """Population stability index, ``sum((a - e) * ln(a / e))`` over bins.

    ``expected_counts`` (the reference) and ``actual_counts`` are counts per
    bin, along the last axis. Proportions below ``eps`` become ``eps``. The
    rule of thumb: below 0.1 stable, 0.1 to 0.25 some shift, above 0.25 a
    large shift.
    """
    e = proportions(expected_counts, eps)
    a = proportions(actual_counts, eps)
    value = np.sum((a - e) * np.log(a / e), axis=-1)
    return float(value) if np.ndim(value) == 0 else value


def bin_edges(reference, bins: int = 10) -> np.ndarray:
    """Quantile bin edges of a 1-D reference sample, duplicates (ties) removed.

    The outer edges are open (``-inf``, ``inf``), so every later value falls
    in some bin.
    """
    inner = np.unique(np.quantile(np.asarray(reference, dtype=np.float64),
                                  np.linspace(0, 1, bins + 1)[1:-1]))
    return np.concatenate([[-np.inf], inner, [np.inf]])


def binned_counts(values, edges) -> np.ndarray:
    """How many ``values`` fall in each bin ``[edges[i], edges[i+1])``."""
    index = np.searchsorted(edges, np.asarray(values, dtype=np.float64), side="right") - 1
    return np.bincount(np.clip(index, 0, len(edges) - 2), minlength=len(edges) - 1)


def feature_edges(reference, bins: int = 10) -> list[np.ndarray]:
    """:func:`bin_edges` of every column of ``reference``: compute once, reuse per window."""
    reference = np.asarray(reference)
    return [bin_edges(reference[:, j], bins) for j in range(reference.shape[1])]


def psi_per_feature(reference, current, bins: int = 10, eps: float = EPS,
                    edges: list[np.ndarray] | None = None) -> np.ndarray:
    """PSI of every column of ``current`` against the same column of ``reference``.

    Pass ``edges`` from :func:`feature_edges` to skip recomputing the bins (or use a
    :class:`FeatureBins`, which also keeps the reference's counts).
    """
    return FeatureBins(reference, bins, edges=edges).psi(current, eps)


class FeatureBins:
    """The bins of every column of a reference sample, and its counts in them.

    Made once per reference; :meth:`psi` then scores a window of requests with only the
    window's counts to compute, which is what a monitor does for every window. Columns
    with fewer distinct quantiles (ties) have fewer bins; the others are padded with
    empty bins, which add nothing to the PSI.
    """

    def __init__(self, reference, bins: int = 10, edges: list[np.ndarray] | None = None):
        reference = np.asarray(reference)
        self.edges = feature_edges(reference, bins) if edges is None else edges
        width = max(len(e) for e in self.edges) - 2                # inner edges per column
        self.inner = np.full((len(self.edges), max(width, 0)), np.inf)
        for j, e in enumerate(self.edges):
            self.inner[j, :len(e) - 2] = e[1:-1]
        self.reference_counts = self.counts(reference)

    def counts(self, values) -> np.ndarray:
        """Counts per bin of each column of ``values``: shape (columns, bins)."""
        values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        index = (values[:, :, None] >= self.inner[None]).sum(axis=2)   # (rows, columns)
        bins = self.inner.shape[1] + 1
        flat = index + bins * np.arange(values.shape[1])[None, :]
        return np.bincount(flat.ravel(), minlength=bins * values.shape[1]).reshape(-1, bins)

    def psi(self, current, eps: float = EPS) -> np.ndarray:
        """PSI of every column of ``current`` against the reference."""
        return np.asarray(psi(self.reference_counts, self.counts(current), eps))


def ks_per_feature(reference, current):
    """Two-sample KS statistic and asymptotic p-value of every column: ``(statistics, p_values)``.

    The statistic is the largest gap between the two empirical CDFs, evaluated
    at every pooled value, column by column; the p-value is that of the
    limiting Kolmogorov distribution, ``P(K > sqrt(n m / (n + m)) D)``, fast
    and accurate for samples of a hundred or more (``scipy.stats.ks_2samp``
    is exact for small samples, and much slower). A column that is constant in
    both samples has statistic 0 and p-value 1.

    All columns at once: the pooled values are sorted column by column, the two
    CDFs are running counts of which sample each sorted value came from, and
    they are compared at the last of each run of tied values.
    """
    from scipy.special import kolmogorov

    reference = np.asarray(reference, dtype=np.float64).reshape(len(reference), -1)
    current = np.asarray(current, dtype=np.float64).reshape(len(current), -1)
    n, m = len(reference), len(current)
    pooled = np.concatenate([reference, current]).T                   # (features, n + m)
    order = np.argsort(pooled, axis=1)  # ties: any order, only the last of a run counts
    values = np.take_along_axis(pooled, order, axis=1)
    from_reference = order < n
    gap = np.abs(np.cumsum(from_reference, axis=1) / n - np.cumsum(~from_reference, axis=1) / m)
    last_of_run = np.ones_like(from_reference)
    last_of_run[:, :-1] = values[:, 1:] != values[:, :-1]
    statistic = np.where(last_of_run, gap, 0.0).max(axis=1)
    p_value = np.clip(kolmogorov(np.sqrt(n * m / (n + m)) * statistic), 0.0, 1.0)
    return statistic, p_value


def mmd_rbf(x, y, bandwidth: float | None = None) -> float:
    """Squared maximum mean discrepancy of two samples with a Gaussian kernel (biased).

    ``bandwidth`` defaults to the median distance between the pooled points.
    0 when the two samples are identical; grows as their distributions differ.
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    pooled = np.concatenate([x, y])
    norms = (pooled**2).sum(1)
    squared = np.maximum(norms[:, None] + norms[None, :] - 2 * pooled @ pooled.T, 0.0)
    if bandwidth is None:
        positive = squared[squared > 1e-12]
        bandwidth = float(np.sqrt(np.median(positive))) if len(positive) else 1.0
    kernel = np.exp(-squared / (2 * bandwidth**2))
    n = len(x)
    return float(kernel[:n, :n].mean() + kernel[n:, n:].mean() - 2 * kernel[:n, n:].mean())


def threshold_from_null(values, quantile: float = 0.99) -> float:
    """An alarm threshold: the ``quantile`` of a statistic on windows with no drift."""
    return float(np.quantile(np.asarray(values, dtype=np.float64), quantile))


def alarm_summary(statistic: Sequence[float], threshold: float, onset: int) -> dict:
    """What a dashboard reports for one statistic of one stream.

    ``statistic`` has one value per window, an alarm is a value above
    ``threshold`` and the drift begins at window ``onset``. Returns the first
    alarm at or after the onset (``None`` if never), the detection ``delay`` in
    windows (``None`` if never detected) and the ``false_alarms`` before the onset.
    """
    alarms = np.asarray(statistic, dtype=np.float64) > threshold
    after = np.flatnonzero(alarms[onset:])
    first = int(onset + after[0]) if len(after) else None
    return {"first_alarm": first, "delay": None if first is None else first - onset,
            "false_alarms": int(alarms[:onset].sum()), "false_alarm_rate":
            float(alarms[:onset].mean()) if onset else 0.0}


def plot_dashboard(streams: Mapping[str, Mapping[str, Sequence[float]]],
                   thresholds: Mapping[str, float], onsets: Mapping[str, int]):
    """One row per stream, one panel per statistic, with its threshold and the onset.

    ``streams`` maps a stream's name to ``{statistic name: value per window}``.
    Alarms (values above the threshold) are marked in red. Returns the figure.
    """
    import matplotlib.pyplot as plt

    names = list(streams)
    statistics = list(next(iter(streams.values())))
    fig, axes = plt.subplots(len(names), len(statistics), squeeze=False,
                             figsize=(3.3 * len(statistics), 2.2 * len(names)), sharex=True)
    for row, stream in enumerate(names):
        for col, stat in enumerate(statistics):
            ax = axes[row, col]
            values = np.asarray(streams[stream][stat], dtype=np.float64)
            ax.plot(values, color="tab:blue", lw=1.2)
            above = values > thresholds[stat]
            ax.scatter(np.flatnonzero(above), values[above], color="tab:red", s=10, zorder=3)
            ax.axhline(thresholds[stat], color="tab:red", ls="--", lw=0.8)
            if onsets.get(stream) is not None:
                ax.axvline(onsets[stream], color="black", ls=":", lw=1)
            if row == 0:
                ax.set_title(stat, fontsize=10)
            if col == 0:
                ax.set_ylabel(stream, fontsize=10)
            ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("window")
    fig.tight_layout()
    return fig
