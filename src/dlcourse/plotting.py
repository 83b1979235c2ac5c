"""Plots the lessons share: training curves and image grids.

Taught in lesson 01 (``notebooks/01_frameworks.ipynb``), where the first
training curves are drawn by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def plot_history(histories: Mapping[str, Mapping[str, Sequence[float]]], *, metrics=None, ax=None):
    """Plot one line per run and metric, one panel per metric.

    ``histories`` maps a run's name (say ``"PyTorch"``) to its history, a
    mapping from a metric's name (``"loss"``, ``"val_accuracy"``) to one value
    per epoch. ``ax``, if given, must hold one axis per metric. Returns the
    matplotlib figure.
    """
    import matplotlib.pyplot as plt

    if metrics is None:
        metrics = sorted({m for history in histories.values() for m in history})
    if ax is None:
        fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.2), squeeze=False)
        axes = axes[0]
    else:
        axes = np.atleast_1d(ax)
        fig = axes[0].figure
    for axis, metric in zip(axes, metrics, strict=True):
        for run, history in histories.items():
            if metric in history:
                values = list(history[metric])
                axis.plot(range(1, len(values) + 1), values, marker=".", label=run)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    fig.tight_layout()
    return fig


def show_images(images, labels=None, *, ncols: int = 8, cmap="gray_r", size: float = 1.2):
    """Show a grid of images (N x H x W, or N x H x W x C), titled by ``labels``."""
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    count = len(images)
    nrows = max(1, -(-count // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < count:
            axis.imshow(images[index], cmap=cmap)
            if labels is not None:
                axis.set_title(str(labels[index]), fontsize=9)
    fig.tight_layout()
    return fig
