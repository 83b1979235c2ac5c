"""The optimisation loop of style transfer: the pixels of an image are the parameters.

This is the loop lesson 04 (``notebooks/04_style_transfer.ipynb``) writes out in
the open in section 8 (the L-BFGS closure: clamp, ``zero_grad``, loss,
``backward``, history), packaged so that the lesson's later comparisons can run
it many times; section 8 checks that :func:`stylize` evaluates the same losses
as the lesson's loop. It adds Adam, a noise start and snapshots.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from .features import FeatureNetwork
from .objective import StyleObjective

#: What :attr:`StyleResult.history` records at every loss evaluation.
HISTORY_KEYS = ("evaluation", "seconds", "style", "content", "tv", "total")


@dataclass
class StyleResult:
    """What :func:`stylize` returns.

    ``image`` is the result (1, 3, H, W) in [0, 1]; ``history`` maps each of
    :data:`HISTORY_KEYS` to one value per loss evaluation (``style`` and
    ``content`` before ``style_weight``/``content_weight``); ``snapshots`` is
    a list of (evaluation, image) pairs; ``start`` and ``end`` hold the losses
    of the starting image and of the returned one; ``settings`` what was asked for.
    """

    image: torch.Tensor
    history: dict[str, list[float]]
    start: dict[str, float]
    end: dict[str, float]
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def fall(self, loss: str = "style") -> float:
        """How much ``loss`` fell from the start to the end, in per cent of its start."""
        return 100.0 * (1.0 - self.end[loss] / self.start[loss])


def lbfgs(image: torch.Tensor, lr: float = 1.0) -> torch.optim.LBFGS:
    """The L-BFGS optimiser of lesson 04: strong-Wolfe line search, no early stopping
    (the budget of loss evaluations decides when to stop)."""
    return torch.optim.LBFGS([image], lr=lr, max_iter=20, history_size=50, tolerance_grad=0.0,
                             tolerance_change=0.0, line_search_fn="strong_wolfe")


def _starting_image(content: torch.Tensor, init: str, seed: int) -> torch.Tensor:
    if init == "content":
        return content.detach().clone()
    if init == "noise":
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(content.shape, generator=generator).to(content.device)
    raise ValueError("init must be 'content' or 'noise'")


def stylize(content: torch.Tensor, style: torch.Tensor, network: FeatureNetwork, *,
            steps: int = 200, optimizer: str = "lbfgs", lr: float | None = None,
            init: str = "content", style_layers: Sequence[str] | None = None,
            content_layers: Sequence[str] | None = None, style_weight: float | None = None,
            content_weight: float = 1.0, tv_weight: float | None = None,
            layer_weights: str | Mapping[str, float] = "balanced", snapshot_every: int = 0,
            seed: int = 0, progress: bool = True, leave: bool = True,
            desc: str | None = None) -> StyleResult:
    """Optimise the pixels of an image so that it has ``content``'s content and ``style``'s
    style: the loop of lesson 04, section 8.

    ``content`` and ``style`` are (1, 3, H, W) tensors in [0, 1] (see
    :func:`~dlcourse.style.images.load_image`); the result has ``content``'s
    size. The image starts as the content image (``init="content"``) or as
    noise (``"noise"``) and is the only parameter: the network is frozen.
    ``steps`` counts loss evaluations, the fair unit for comparing
    ``optimizer="lbfgs"`` (which evaluates several times per step) with
    ``"adam"``. Pixels are clamped to [0, 1] before every evaluation. The loss
    is that of :class:`~dlcourse.style.objective.StyleObjective`; the
    network's own defaults (``network.style_layers``, ``.style_weight``, ...)
    fill in whatever is not given. Of the images L-BFGS evaluated, the one
    with the lowest total loss is returned (its last line search may end on a
    worse point).
    """
    objective = StyleObjective(network, content, style, style_layers=style_layers,
                               content_layers=content_layers, style_weight=style_weight,
                               content_weight=content_weight, tv_weight=tv_weight,
                               layer_weights=layer_weights)
    image = _starting_image(content, init, seed).contiguous().requires_grad_(True)
    if optimizer == "lbfgs":
        opt = lbfgs(image, lr or 1.0)
    elif optimizer == "adam":
        opt = torch.optim.Adam([image], lr=lr or 0.02)
    else:
        raise ValueError("optimizer must be 'lbfgs' or 'adam'")
    history: dict[str, list[float]] = {key: [] for key in HISTORY_KEYS}
    snapshots = [(0, image.detach().clone())] if snapshot_every else []
    best = {"total": float("inf"), "image": image.detach().clone()}
    start_losses = objective.evaluate(image)
    began = time.perf_counter()
    bar = tqdm(total=steps, desc=desc or f"{network.name}, {optimizer}", disable=not progress,
               leave=leave)

    def closure():
        with torch.no_grad():
            image.clamp_(0, 1)
        opt.zero_grad()
        losses = objective(image)
        losses["total"].backward()
        values = {k: float(v.detach()) for k, v in losses.items()}
        evaluation = len(history["total"])
        history["evaluation"].append(evaluation)
        history["seconds"].append(time.perf_counter() - began)
        for key, value in values.items():
            history[key].append(value)
        if values["total"] < best["total"]:
            best.update(total=values["total"], image=image.detach().clone())
        if snapshot_every and evaluation and evaluation % snapshot_every == 0:
            snapshots.append((evaluation, image.detach().clone().clamp(0, 1)))
        bar.update(1)
        bar.set_postfix(style=f"{values['style']:.3g}", content=f"{values['content']:.3g}")
        return losses["total"]

    while len(history["total"]) < steps:
        if optimizer == "lbfgs":  # never evaluate past the budget, even inside a step
            left = steps - len(history["total"])
            opt.param_groups[0].update(max_eval=left, max_iter=max(1, min(20, left)))
        opt.step(closure)
    bar.close()
    with torch.no_grad():
        image.clamp_(0, 1)
    end = objective.evaluate(image)
    result = image.detach().clone()
    if best["total"] < end["total"]:
        result = best["image"].clamp(0, 1)
        end = objective.evaluate(result)
    if snapshot_every and snapshots[-1][0] != steps:
        snapshots.append((steps, result.clone()))
    settings = dict(network=network.name, optimizer=optimizer, steps=steps, init=init,
                    style_layers=objective.style_layers, content_layers=objective.content_layers,
                    style_weight=objective.style_weight, content_weight=content_weight,
                    tv_weight=objective.tv_weight, seconds=time.perf_counter() - began,
                    size=tuple(content.shape[-2:]))
    return StyleResult(result, history, start_losses, end, snapshots, settings)
