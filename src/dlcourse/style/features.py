"""A frozen network as a source of named feature maps, and a module that taps its layers.

Taught in lesson 04 (``notebooks/04_style_transfer.ipynb``, section 2): style
transfer never trains the network; it reads the activations of a few layers.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch
from torch import nn


class SequentialTaps(nn.Sequential):
    """An ``nn.Sequential`` of named layers that returns the outputs of the layers asked for.

    Like torchvision's ``IntermediateLayerGetter``, but it stops after the
    deepest layer asked for in *this* call, so a shallow style layer does not
    pay for the whole network.
    """

    def __init__(self, layers: OrderedDict[str, nn.Module]):
        super().__init__(layers)

    def forward(self, x: torch.Tensor, wanted: set[str]) -> dict[str, torch.Tensor]:
        out = {}
        for name, module in self.named_children():
            x = module(x)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break
        return out


class FeatureNetwork(nn.Module):
    """A frozen network that maps images in [0, 1] to named feature maps.

    ``network(image, layers)`` returns ``{name: feature map}`` for the layers
    asked for and computes nothing past the deepest of them. ``body`` is the
    network itself: a module whose ``forward(x, wanted)`` returns the feature
    maps named in the set ``wanted`` for normalised inputs ``x``. ``layers``
    lists every tap; ``style_layers``, ``content_layers``, ``style_weight``
    and ``tv_weight`` are this network's defaults for
    :func:`dlcourse.style.optimise.stylize`; ``description`` says which
    weights were loaded. Its parameters never need gradients and it stays in
    eval mode (``train()`` does not switch batch norm or dropout back on).
    """

    def __init__(self, name: str, body: nn.Module, layers: Sequence[str], *,
                 style_layers: Sequence[str], content_layers: Sequence[str],
                 mean: Sequence[float], std: Sequence[float], description: str,
                 transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
                 style_weight: float = 100.0, tv_weight: float = 0.0):
        super().__init__()
        self.name = name
        self.body = body
        self.layers = tuple(layers)
        self.style_layers = tuple(style_layers)
        self.content_layers = tuple(content_layers)
        self.description = description
        self.transform = transform
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1))
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> FeatureNetwork:
        """Stay in eval mode: a feature network is frozen, whatever ``mode`` says."""
        return super().train(False)

    @property
    def device(self) -> torch.device:
        """The device the network's weights are on."""
        return self.mean.device

    def forward(self, image: torch.Tensor,
                layers: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        layers = tuple(self.layers if layers is None else layers)
        unknown = [name for name in layers if name not in self.layers]
        if unknown:
            raise KeyError(f"{self.name} has no layer {unknown[0]!r}; see .layers")
        x = ((image - self.mean) / self.std).contiguous(memory_format=torch.channels_last)
        features = self.body(x, set(layers))
        if self.transform is not None:
            features = {name: self.transform(value) for name, value in features.items()}
        return {name: features[name] for name in layers}

    def __repr__(self) -> str:  # the module tree is hundreds of lines; say what it is
        return f"FeatureNetwork({self.name!r}: {self.description})"
