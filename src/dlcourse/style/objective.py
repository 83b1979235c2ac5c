"""The style-transfer objective of one image against a content and a style image.

Lesson 04 (``notebooks/04_style_transfer.ipynb``, section 7) writes these lines
out by hand before using this class: targets computed once, without gradients,
per-layer scaling, and the weighted sum of the style, content and TV losses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from .features import FeatureNetwork
from .losses import balanced_weights, content_loss, gram_matrix, style_loss, tv_loss


class StyleObjective:
    """The loss of an image against a content and a style image, in one network.

    Targets (content features, style Gram matrices) and the per-layer weights
    (:func:`~dlcourse.style.losses.balanced_weights`, divided by the number of
    layers) are computed once, here. Calling the objective on an image returns
    a dict of tensors: ``style``, ``content``, ``tv`` and the weighted
    ``total``. ``layer_weights`` is ``"balanced"``, ``"equal"`` or a mapping
    from style layer to weight.
    """

    def __init__(self, network: FeatureNetwork, content: torch.Tensor, style: torch.Tensor, *,
                 style_layers: Sequence[str] | None = None,
                 content_layers: Sequence[str] | None = None, style_weight: float | None = None,
                 content_weight: float = 1.0, tv_weight: float | None = None,
                 layer_weights: str | Mapping[str, float] = "balanced"):
        self.network = network
        self.style_layers = tuple(style_layers or network.style_layers)
        self.content_layers = tuple(content_layers or network.content_layers)
        self.layers = tuple(dict.fromkeys(self.style_layers + self.content_layers))
        self.style_weight = network.style_weight if style_weight is None else style_weight
        self.content_weight = content_weight
        self.tv_weight = network.tv_weight if tv_weight is None else tv_weight
        with torch.no_grad():
            content_features = network(content, self.content_layers)
            style_features = network(style, self.style_layers)
            self.content_targets = [content_features[n] for n in self.content_layers]
            self.style_targets = [gram_matrix(style_features[n]) for n in self.style_layers]
        if layer_weights == "balanced":
            count = len(self.style_layers)
            self.style_weights = [w / count for w in balanced_weights(self.style_targets)]
            self.content_weights = [w / len(self.content_layers)
                                    for w in balanced_weights(self.content_targets)]
        elif layer_weights == "equal":
            self.style_weights = [1.0] * len(self.style_layers)
            self.content_weights = [1.0] * len(self.content_layers)
        else:
            self.style_weights = [float(layer_weights[n]) for n in self.style_layers]
            self.content_weights = [1.0] * len(self.content_layers)

    def __call__(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.network(image, self.layers)
        s = style_loss([features[n] for n in self.style_layers], self.style_targets,
                       self.style_weights)
        c = sum(w * content_loss(features[n], t) for n, t, w in
                zip(self.content_layers, self.content_targets, self.content_weights, strict=True))
        tv = tv_loss(image)
        total = self.style_weight * s + self.content_weight * c + self.tv_weight * tv
        return {"style": s, "content": c, "tv": tv, "total": total}

    def evaluate(self, image: torch.Tensor) -> dict[str, float]:
        """The losses of ``image`` as floats, without gradients."""
        with torch.no_grad():
            return {k: float(v) for k, v in self(image).items()}
