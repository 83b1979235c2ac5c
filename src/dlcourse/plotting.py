"""Plots the lessons share: training curves, image grids and computational graphs.

Training curves and image grids are taught in lesson 01
(``notebooks/01_frameworks.ipynb``), where the first training curves are drawn by
hand; the graph drawing (``draw_graph``, ``layered_layout``) in lesson 02
(``notebooks/02_autograd.ipynb``), sections 1 and 2.
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


#: Width and height of a node's box in :func:`draw_graph`, in data units.
GRAPH_BOX = (2.3, 1.2)


def _leave_box(start, towards, box):
    # Where the segment from a box's centre `start` towards `towards` crosses the box's edge,
    # so that arrows touch the boxes instead of disappearing under them.
    (x0, y0), (x1, y1) = start, towards
    dx, dy = x1 - x0, y1 - y0
    t = min(box[0] / 2 / abs(dx) if dx else np.inf, box[1] / 2 / abs(dy) if dy else np.inf)
    return x0 + t * dx, y0 + t * dy


def draw_graph(ax, nodes, edges, *, title: str = "", reverse: bool = False, colors=None,
               box: tuple[float, float] = GRAPH_BOX):
    """Draw a computational graph as boxes joined by arrows, with plain matplotlib.

    Taught in lesson 02 (``notebooks/02_autograd.ipynb``), section 1, where it draws
    the evaluation trace of the worked example and then the forward and reverse passes.

    ``nodes`` maps a node's name to ``(x, y, text)``: the centre of its box and the text
    in it. ``edges`` lists ``(input, output)`` pairs of names. With ``reverse=True`` the
    arrows point the way the backward pass travels (output to input, red and dashed).
    ``colors`` maps some names to a box colour. Returns ``ax``.
    """
    import matplotlib.pyplot as plt

    colors = colors or {}
    for source, target in edges:
        start, end = nodes[source][:2], nodes[target][:2]
        if reverse:
            start, end = end, start
        ax.annotate("", xy=_leave_box(end, start, box), xytext=_leave_box(start, end, box),
                    arrowprops=dict(arrowstyle="-|>", lw=1.5,
                                    color="tab:red" if reverse else "0.35",
                                    linestyle="--" if reverse else "-", shrinkA=0, shrinkB=0))
    for name, (x, y, text) in nodes.items():
        ax.add_patch(plt.Rectangle((x - box[0] / 2, y - box[1] / 2), box[0], box[1],
                                   facecolor=colors.get(name, "#e8f0fb"), edgecolor="0.25"))
        ax.text(x, y, text, ha="center", va="center", fontsize=8.5)
    xs = [x for x, _, _ in nodes.values()]
    ys = [y for _, y, _ in nodes.values()]
    ax.set_xlim(min(xs) - box[0], max(xs) + box[0])
    ax.set_ylim(min(ys) - box[1], max(ys) + box[1])
    ax.set_title(title)
    ax.axis("off")
    return ax


def layered_layout(root, parents, text, *, spacing: tuple[float, float] = (2.9, 1.5)):
    """Place every node of the graph below ``root`` one column right of its deepest input.

    Taught in lesson 02 (``notebooks/02_autograd.ipynb``), section 2, where the scalar
    autodiff engine draws its own graph. ``parents(node)`` returns the nodes ``node``
    was computed from, ``text(node)`` the text of its box. Nodes are told apart by
    identity, so equal values stay separate nodes. Returns ``(nodes, edges)`` in the
    form :func:`draw_graph` takes, named by ``id(node)``; inputs sit in column 0.
    """
    seen, order = set(), []

    def visit(node):  # depth first, so a node comes after all of its parents in `order`
        if id(node) not in seen:
            seen.add(id(node))
            for parent in parents(node):
                visit(parent)
            order.append(node)

    visit(root)
    depth, columns = {}, {}
    for node in order:
        depth[id(node)] = 1 + max((depth[id(p)] for p in parents(node)), default=-1)
        columns.setdefault(depth[id(node)], []).append(node)
    placed = {}
    for column, members in columns.items():
        for row, node in enumerate(members):
            placed[id(node)] = (spacing[0] * column,
                                spacing[1] * ((len(members) - 1) / 2 - row), text(node))
    edges = [(id(p), id(node)) for node in order for p in parents(node)]
    return placed, edges
