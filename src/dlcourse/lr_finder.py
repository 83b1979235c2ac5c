"""A learning-rate finder (Smith 2015; fast.ai's ``lr_find``), for any PyTorch model.

Lesson 03 (``notebooks/03_training.ipynb``, "Where fast.ai sits") writes this
range test in the open, as ``lr_range_test``; :func:`lr_find` is that cell's
code with a progress bar, kept here for your own projects. Train for a hundred
or so mini-batches while the learning rate grows geometrically from tiny to
huge, record the smoothed loss at each rate, and stop once the loss blows up.
The model and optimizer are put back as they were. :func:`plot_lr_find` draws
the curve so that it can be read: log-scaled rates, the blow-up cut off, the
suggestions marked.
"""

from __future__ import annotations

import copy
import itertools
import math
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm


@dataclass(frozen=True)
class LRFinderResult:
    """The rates tried, the smoothed loss at each, and the rates they suggest."""

    lrs: tuple[float, ...]
    losses: tuple[float, ...]

    @property
    def steepest(self) -> float:
        """The rate where the smoothed loss falls fastest (per log-step of the rate),
        looking only at the rates up to the minimum."""
        losses = np.asarray(self.losses)
        if len(losses) < 3:
            return float(self.lrs[0])
        slopes = np.gradient(losses, np.log(np.asarray(self.lrs)))
        return float(self.lrs[int(np.argmin(slopes[: int(np.argmin(losses)) + 1]))])

    @property
    def minimum(self) -> float:
        """The rate at the lowest smoothed loss (too high to train with)."""
        return float(self.lrs[int(np.argmin(self.losses))])

    @property
    def suggestion(self) -> float:
        """A rate to train with: a tenth of the rate at the minimum (fast.ai's ``minimum``
        suggestion), safely below where the loss turns."""
        return self.minimum / 10


def lr_find(model, loader, *, loss_fn, optimizer, start_lr: float = 1e-6, end_lr: float = 10.0,
            num_steps: int = 100, smoothing: float = 0.9, diverge: float = 4.0,
            device="cpu", progress: bool = True) -> LRFinderResult:
    """Run the learning-rate range test on ``model`` with ``optimizer``.

    The rate goes from ``start_lr`` to ``end_lr`` geometrically over
    ``num_steps`` mini-batches (cycling through ``loader``); the loss is
    smoothed by an exponential moving average with bias correction (weight
    ``smoothing`` on the past). The test stops early when the smoothed loss
    exceeds ``diverge`` times its best value. Afterwards the model's and the
    optimizer's states are restored, so training can start from scratch.
    """
    if not 0 < start_lr < end_lr:
        raise ValueError("need 0 < start_lr < end_lr")
    if num_steps < 2:
        raise ValueError("need at least 2 steps")
    saved = copy.deepcopy(model.state_dict()), copy.deepcopy(optimizer.state_dict())
    factor = (end_lr / start_lr) ** (1 / (num_steps - 1))  # the rate grows by this each step
    lrs, losses, average, best = [], [], 0.0, math.inf
    batches = (batch for _ in itertools.count() for batch in loader)  # cycle through the data
    model.to(device).train()
    try:
        for step in tqdm(range(num_steps), desc="lr_find", disable=not progress):
            lr = start_lr * factor**step
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = next(batches)
            optimizer.zero_grad()
            loss = loss_fn(model(x.to(device)), y.to(device))
            loss.backward()
            optimizer.step()
            if not math.isfinite(loss.item()):
                break
            average = smoothing * average + (1 - smoothing) * loss.item()  # moving average ...
            smoothed = average / (1 - smoothing ** (step + 1))             # ... bias-corrected
            lrs.append(lr)
            losses.append(smoothed)
            best = min(best, smoothed)
            if smoothed > diverge * best:  # the loss has blown up: stop
                break
    finally:
        model.load_state_dict(saved[0])
        optimizer.load_state_dict(saved[1])
    return LRFinderResult(tuple(lrs), tuple(losses))


def plot_lr_find(result: LRFinderResult, *, ax=None, title: str = "learning-rate finder"):
    """Plot the smoothed loss against the learning rate, readably.

    The rate axis is logarithmic and spans the rates tried; the loss axis runs from a
    little below the lowest loss to a little above the first, so the final blow-up
    leaves the plot instead of squashing the curve. The suggestion (``result.suggestion``)
    is marked with a dot and a line, the steepest descent and the minimum with markers.
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.6))
    lrs, losses = np.asarray(result.lrs), np.asarray(result.losses)
    ax.plot(lrs, losses, color="tab:blue", label="smoothed training loss")
    ax.set_xscale("log")
    low, start = float(losses.min()), float(losses[0])
    span = max(start - low, 0.05 * abs(start), 1e-3)
    ax.set_ylim(low - 0.15 * span, start + 0.35 * span)
    ax.set_xlim(lrs[0], lrs[-1])

    def at(rate):
        return float(np.interp(np.log(rate), np.log(lrs), losses))

    ax.axvline(result.suggestion, color="tab:green", lw=1)
    ax.plot([result.suggestion], [at(result.suggestion)], "o", color="tab:green", ms=8,
            label=f"suggestion (minimum / 10): {result.suggestion:.2g}")
    ax.plot([result.steepest], [at(result.steepest)], "v", color="tab:orange", ms=8,
            label=f"steepest descent: {result.steepest:.2g}")
    ax.plot([result.minimum], [at(result.minimum)], "s", color="tab:red", ms=7,
            label=f"minimum: {result.minimum:.2g}")
    ax.set(xlabel="learning rate (log scale)", ylabel="smoothed training loss", title=title)
    ax.grid(alpha=0.3, which="major")
    ax.legend(fontsize=8, loc="lower left")
    return ax.figure
