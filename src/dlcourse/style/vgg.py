"""VGG19's convolutional part as a feature network, the classic choice of Gatys et al.

Taught in lesson 04 (``notebooks/04_style_transfer.ipynb``, section 6): with
torchvision's ImageNet weights when they are already in the torch cache, with
random weights (He, Wang and Hopcroft, NIPS 2016) otherwise. Nothing is
downloaded unless asked for in so many words.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from urllib.parse import urlparse

import torch
import torchvision
from torch import nn
from torchvision.models import VGG19_Weights
from torchvision.models.vgg import cfgs, make_layers

from .features import FeatureNetwork, SequentialTaps

#: ImageNet statistics, the input normalisation of torchvision's VGG19.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: How many convolutions each of VGG19's five blocks has.
VGG19_BLOCKS = (2, 2, 4, 4, 4)


def vgg19_layer_names() -> list[str]:
    """Names of the 37 layers of ``torchvision.models.vgg19().features``, Gatys-style."""
    names = []
    for block, convs in enumerate(VGG19_BLOCKS, start=1):
        for conv in range(1, convs + 1):
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
        names.append(f"pool{block}")
    return names


def vgg19_cached_weights() -> Path | None:
    """The file of ``VGG19_Weights.IMAGENET1K_V1`` in the torch cache, or ``None``.

    torchvision keeps downloaded weights in ``torch.hub.get_dir()/checkpoints``
    under the file name of their URL; if the file is there, loading the
    weights needs no network.
    """
    name = Path(urlparse(VGG19_Weights.IMAGENET1K_V1.url).path).name
    path = Path(torch.hub.get_dir()) / "checkpoints" / name
    return path if path.is_file() else None


def _random_vgg19_layers(seed: int) -> nn.Sequential:
    """VGG19's convolutional layers with torchvision's own He initialisation, from ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers = make_layers(cfgs["E"], batch_norm=False)
        for module in layers.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(module.bias)
    return layers


def vgg19_features(weights: str = "auto", *, seed: int = 0, download: bool = False,
                   pool: str = "avg") -> FeatureNetwork:
    """VGG19's convolutional part as a :class:`~dlcourse.style.features.FeatureNetwork`.

    ``weights``:

    - ``"imagenet"``: torchvision's ``VGG19_Weights.IMAGENET1K_V1``, taken from
      the torch cache; if they are not there, ``FileNotFoundError``, unless
      ``download=True`` lets torchvision fetch them (548 MB).
    - ``"random"``: He initialisation from ``seed``. A random VGG still
      stylises when each layer's loss is scaled (He, Wang and Hopcroft, NIPS 2016).
    - ``"auto"`` (default): ImageNet if cached, random otherwise.

    Max pooling is replaced by average pooling (``pool="avg"``), as Gatys et
    al. recommend: the gradients flow to every pixel.
    """
    cached = vgg19_cached_weights()
    if weights == "auto":
        weights = "imagenet" if cached is not None else "random"
    if weights == "imagenet":
        if cached is None and not download:
            raise FileNotFoundError(
                "VGG19's ImageNet weights are not in the torch cache "
                f"({Path(torch.hub.get_dir()) / 'checkpoints'}); pass download=True "
                "on a machine with network access, or use weights='random'")
        layers = torchvision.models.vgg19(weights=VGG19_Weights.IMAGENET1K_V1).features
        description = "VGG19, ImageNet weights (torchvision IMAGENET1K_V1)"
    elif weights == "random":
        layers = _random_vgg19_layers(seed)
        description = f"VGG19, random weights (seed {seed})"
    else:
        raise ValueError("weights must be 'auto', 'imagenet' or 'random'")
    modules = list(layers)
    if pool == "avg":
        modules = [nn.AvgPool2d(2, 2) if isinstance(m, nn.MaxPool2d) else m for m in modules]
    # an in-place ReLU would overwrite the conv output that a tap (conv4_2, say) returned
    modules = [nn.ReLU(inplace=False) if isinstance(m, nn.ReLU) else m for m in modules]
    names = vgg19_layer_names()[:len(modules)]
    if weights == "random":  # the deeper random layers cost most and add blockiness
        style_layers, content_layers = ("relu1_1", "relu2_1", "relu3_1"), ("relu3_1",)
    else:  # Gatys et al.'s choice, without relu5_1 to save time
        style_layers, content_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1"), ("relu4_2",)
    return FeatureNetwork(
        "vgg19-" + weights, SequentialTaps(OrderedDict(zip(names, modules, strict=True))), names,
        style_layers=style_layers, content_layers=content_layers,
        mean=IMAGENET_MEAN, std=IMAGENET_STD, description=description,
        style_weight=100.0, tv_weight=5.0)
