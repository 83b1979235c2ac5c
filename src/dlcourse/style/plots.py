"""Drawing for lesson 04 (``notebooks/04_style_transfer.ipynb``): rows of images, loss curves.

Incidental code, kept out of the lesson's cells. Every function draws and shows its
figure and returns ``None``: a figure returned as a cell's last value would be shown a
second time by Jupyter (and by the course's website), which ignores a trailing ``;`` in
executed notebooks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from .images import to_image


def _as_picture(image) -> np.ndarray:
    """A tensor (1, 3, H, W) / (3, H, W) in [0, 1], or an array (H, W[, 3]), for imshow."""
    if isinstance(image, torch.Tensor):
        return to_image(image)
    return np.asarray(image)


def show_images(images: Sequence, titles: Sequence[str] | None = None, *, size: float = 3.0,
                ncols: int | None = None, title: str | None = None,
                nearest: bool = False, cmap: str = "gray_r") -> None:
    """Show images in a row (or a grid of ``ncols`` columns), each ``size`` inches wide.

    ``images`` are tensors in [0, 1] (as :func:`~dlcourse.style.images.load_image`
    returns them) or NumPy images; ``nearest=True`` draws every pixel as a sharp square
    (for zoomed crops); ``cmap`` colours 2-D images (feature maps, edge maps). The
    figure is shown and closed; nothing is returned.
    """
    count = len(images)
    ncols = ncols or count
    nrows = -(-count // ncols)
    height = size * nrows + 0.4 * bool(titles)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, height), squeeze=False)
    for index, axis in enumerate(axes.flat):
        axis.axis("off")
        if index < count:
            picture = _as_picture(images[index])
            axis.imshow(picture, cmap=cmap if picture.ndim == 2 else None,
                        interpolation="nearest" if nearest else "antialiased")
            if titles is not None:
                axis.set_title(str(titles[index]), fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.show()
    plt.close(fig)


def plot_curves(curves: Mapping[str, Sequence[float]], *, ax=None, xlabel: str = "loss evaluation",
                ylabel: str = "", title: str = "", logy: bool = True,
                x: Mapping[str, Sequence[float]] | None = None) -> None:
    """Plot one line per entry of ``curves`` (label: values), against ``x[label]`` or the
    index. With ``ax`` it draws into that axis and leaves showing to the caller;
    without, it makes a figure, shows it and closes it. Returns ``None``."""
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(7, 3.6))
    for label, values in curves.items():
        xs = x[label] if x is not None else np.arange(len(values))
        ax.plot(xs, values, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    if own:
        fig.tight_layout()
        plt.show()
        plt.close(fig)


def lowest_so_far(values: Sequence[float]) -> np.ndarray:
    """The running minimum of ``values``: the best loss reached after each evaluation,
    which is what an optimiser that keeps its best image has to show at that point."""
    return np.minimum.accumulate(np.asarray(values, dtype=float))
