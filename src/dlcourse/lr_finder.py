"""A learning-rate finder (Smith 2015; fast.ai's ``lr_find``), for any PyTorch model.

Taught in lesson 03 (``notebooks/03_training.ipynb``, "Where fast.ai sits"),
where it is built from the lesson's own training step: train for a few
hundred mini-batches while the learning rate grows geometrically from tiny to
huge, record the (smoothed) loss at each rate, and stop once the loss blows
up. The useful rates are where the loss falls fastest, well before the
minimum of the curve. The model and optimizer are put back as they were.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import numpy as np
from tqdm.auto import tqdm


@dataclass(frozen=True)
class LRFinderResult:
    """The rates tried, the smoothed loss at each, and a suggested rate."""

    lrs: tuple[float, ...]
    losses: tuple[float, ...]

    @property
    def steepest(self) -> float:
        """The rate where the smoothed loss falls fastest (per log-step of the rate)."""
        losses = np.asarray(self.losses)
        if len(losses) < 3:
            return float(self.lrs[0])
        slopes = np.gradient(losses, np.log(np.asarray(self.lrs)))
        return float(self.lrs[int(np.argmin(slopes[: int(np.argmin(losses)) + 1]))])

    @property
    def minimum(self) -> float:
        """The rate at the lowest smoothed loss (too high to train with: divide it by ~10)."""
        return float(self.lrs[int(np.argmin(self.losses))])


def _batches(loader):
    while True:  # cycle through the loader as often as needed
        yield from loader


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
    model_state = copy.deepcopy(model.state_dict())
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    factor = (end_lr / start_lr) ** (1 / (num_steps - 1))
    lrs, losses = [], []
    average, best = 0.0, math.inf
    model.to(device).train()
    batches = _batches(loader)
    try:
        for step in tqdm(range(num_steps), desc="lr_find", disable=not progress):
            lr = start_lr * factor**step
            for group in optimizer.param_groups:
                group["lr"] = lr
            x, y = next(batches)
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            value = loss.item()
            if not math.isfinite(value):
                break
            average = smoothing * average + (1 - smoothing) * value
            smoothed = average / (1 - smoothing ** (step + 1))
            lrs.append(lr)
            losses.append(smoothed)
            best = min(best, smoothed)
            if smoothed > diverge * best:
                break
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
    return LRFinderResult(tuple(lrs), tuple(losses))


def plot_lr_find(result: LRFinderResult, *, ax=None, title: str = "learning-rate finder"):
    """Plot smoothed loss against learning rate (log axis), marking the two suggestions."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    ax.semilogx(result.lrs, result.losses)
    ax.axvline(result.steepest, color="tab:green", ls="--",
               label=f"steepest descent: {result.steepest:.2g}")
    ax.axvline(result.minimum, color="tab:red", ls=":", label=f"minimum: {result.minimum:.2g}")
    ax.set(xlabel="learning rate", ylabel="smoothed training loss", title=title)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    return ax.figure
