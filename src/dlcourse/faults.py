"""Data faults injected on purpose, and the checks that find them.

Taught in lesson 07 (``notebooks/07_production.ipynb``, "Data quality first"):
the digits get flipped labels, test images copied into the training set
(exactly and with a little noise), corrupted images and a rare class; the
lesson then finds each fault with the functions below and measures what it
cost.

- :func:`inject` applies the faults and returns what it did (the truth the
  detectors are scored against).
- :func:`exact_duplicates` and :func:`near_duplicates` find rows of one array
  that repeat (or nearly repeat) rows of another.
- :func:`label_issues` is the confident-learning rule on out-of-fold predicted
  probabilities.
- :func:`schema_problems` checks a batch of inputs against the contract of the
  model (shape, dtype, finite values in a range).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(eq=False)
class Faulty:
    """A training set with faults, and where each fault is (indices into ``x``)."""

    x: np.ndarray
    y: np.ndarray
    flipped: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    leaked: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    leaked_from: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    corrupted: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    dropped: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def inject(x, y, *, test_x=None, test_y=None, flip: float = 0.0, leak: int = 0,
           near_noise: float = 0.02, corrupt: float = 0.0, rare_class: int | None = None,
           rare_keep: float = 1.0, num_classes: int = 10, seed: int = 0) -> Faulty:
    """Return a copy of ``(x, y)`` with the faults asked for, and where they are.

    - ``flip``: the fraction of labels changed to another class, chosen at random;
    - ``leak``: how many test images are appended to the training set, half
      exact copies, half with Gaussian noise of standard deviation
      ``near_noise`` (clipped to [0, 1]);
    - ``corrupt``: the fraction of images overwritten (saturated blocks, NaN
      pixels, values out of [0, 1]);
    - ``rare_class`` keeps only ``rare_keep`` of that class (imbalance).

    Faults apply in that order, to the rows that exist at that point; the
    indices returned refer to the final arrays.
    """
    rng = np.random.default_rng(seed)
    x, y = np.array(x, dtype=np.float32, copy=True), np.array(y, dtype=np.int64, copy=True)
    keep = np.ones(len(y), dtype=bool)
    if rare_class is not None:
        members = np.flatnonzero(y == rare_class)
        drop = rng.choice(members, size=len(members) - int(round(rare_keep * len(members))),
                          replace=False)
        keep[drop] = False
    dropped = np.flatnonzero(~keep)
    x, y = x[keep], y[keep]
    flipped = np.sort(rng.choice(len(y), size=int(round(flip * len(y))), replace=False))
    y[flipped] = (y[flipped] + rng.integers(1, num_classes, size=len(flipped))) % num_classes
    leaked = leaked_from = np.zeros(0, dtype=np.int64)
    if leak:
        if test_x is None or test_y is None:
            raise ValueError("leak needs test_x and test_y")
        leaked_from = np.sort(rng.choice(len(test_y), size=leak, replace=False))
        copies = np.array(test_x[leaked_from], dtype=np.float32, copy=True)
        noisy = np.arange(leak) >= leak // 2
        copies[noisy] = np.clip(copies[noisy] + rng.normal(0, near_noise, copies[noisy].shape),
                                0, 1).astype(np.float32)
        leaked = np.arange(len(y), len(y) + leak)
        x = np.concatenate([x, copies])
        y = np.concatenate([y, np.asarray(test_y)[leaked_from]])
    corrupted = np.sort(rng.choice(len(y), size=int(round(corrupt * len(y))), replace=False))
    for kind, i in enumerate(corrupted):
        image = x[i].reshape(-1)
        if kind % 3 == 0:
            image[: len(image) // 2] = 1.0          # a saturated half: a broken sensor
        elif kind % 3 == 1:
            image[rng.choice(len(image), 4, replace=False)] = np.nan  # missing pixels
        else:
            image *= 16.0                           # unscaled: 0..16 instead of 0..1
        x[i] = image.reshape(x[i].shape)
    return Faulty(x, y, flipped, leaked, leaked_from, corrupted, dropped)


def exact_duplicates(a, b=None) -> list[tuple[int, int]]:
    """Pairs ``(i, j)`` with ``a[i]`` and ``b[j]`` byte-for-byte equal.

    Without ``b``, pairs ``i < j`` of repeated rows within ``a``. Rows are
    compared by hashing their bytes, so this is fast on large sets.
    """
    a = np.ascontiguousarray(a).reshape(len(a), -1)
    seen: dict[bytes, list[int]] = {}
    for i, row in enumerate(a):
        seen.setdefault(row.tobytes(), []).append(i)
    if b is None:
        return [(i, j) for rows in seen.values() for k, i in enumerate(rows) for j in rows[k + 1:]]
    b = np.ascontiguousarray(b, dtype=a.dtype).reshape(len(b), -1)
    return [(i, j) for j, row in enumerate(b) for i in seen.get(row.tobytes(), [])]


def nearest(a, b) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``b``, the index of its nearest row of ``a`` and the Euclidean distance."""
    a = np.asarray(a, dtype=np.float64).reshape(len(a), -1)
    b = np.asarray(b, dtype=np.float64).reshape(len(b), -1)
    squared = (b**2).sum(1)[:, None] - 2 * b @ a.T + (a**2).sum(1)[None, :]
    index = squared.argmin(axis=1)
    return index, np.sqrt(np.maximum(squared[np.arange(len(b)), index], 0.0))


def near_duplicates(a, b, tol: float) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``: ``a[i]`` is the nearest row of ``a`` to ``b[j]`` and within ``tol``."""
    index, distance = nearest(a, b)
    return [(int(index[j]), j) for j in np.flatnonzero(distance <= tol)]


def label_issues(labels, probabilities) -> np.ndarray:
    """Indices whose given label is probably wrong, by confident learning.

    ``probabilities`` are out-of-fold predicted probabilities (one row per
    example, one column per class). Each class ``k`` gets a threshold
    ``t_k``: the mean probability of ``k`` over the examples labelled ``k``.
    An example is *confidently* of class ``k`` when ``p_k >= t_k``; among
    such classes it is counted in the most probable one. When that class is
    not its given label, the label is an issue. Returned most suspicious first
    (lowest probability of the given label).
    """
    labels = np.asarray(labels)
    p = np.asarray(probabilities, dtype=np.float64)
    classes = p.shape[1]
    thresholds = np.array([p[labels == k, k].mean() if np.any(labels == k) else 1.0
                           for k in range(classes)])
    confident = p >= thresholds[None, :]
    masked = np.where(confident, p, -np.inf)
    assigned = masked.argmax(axis=1)
    issue = confident.any(axis=1) & (assigned != labels)
    index = np.flatnonzero(issue)
    return index[np.argsort(p[index, labels[index]], kind="stable")]


def schema_problems(x, *, shape=(64,), dtype=np.float32, low: float = 0.0,
                    high: float = 1.0) -> dict[str, np.ndarray]:
    """Which rows of a batch break the model's input contract, per rule.

    Returns ``{"shape": ..., "dtype": ..., "finite": rows, "range": rows}``:
    ``shape`` and ``dtype`` hold one boolean each (the whole batch is wrong),
    ``finite`` and ``range`` the indices of rows with a NaN or infinity, or a
    value outside ``[low, high]``.
    """
    x = np.asarray(x)
    wrong_shape = x.shape[1:] != tuple(shape)
    rows = x.reshape(len(x), -1)
    finite = np.isfinite(rows).all(axis=1)
    with np.errstate(invalid="ignore"):
        in_range = ((rows >= low) & (rows <= high)) | ~np.isfinite(rows)
    return {"shape": np.array(wrong_shape), "dtype": np.array(x.dtype != np.dtype(dtype)),
            "finite": np.flatnonzero(~finite), "range": np.flatnonzero(~in_range.all(axis=1))}
