"""The feature networks of lesson 04 by name, and the default one.

Lesson 04 (``notebooks/04_style_transfer.ipynb``) uses :data:`DEFAULT_NETWORK`
throughout; its appendix B measures the offline options against each other,
which is how the default was chosen.
"""

from __future__ import annotations

import torch

from ..devices import torch_device
from .efficientnet import efficientnet_lite0_features
from .features import FeatureNetwork
from .vgg import vgg19_features

#: The networks :func:`feature_network` knows, the best offline choice first.
NETWORKS = ("efficientnet-lite0", "efficientnet-lite0-softmax", "vgg19-random",
            "vgg19-imagenet", "vgg19-auto")
#: The default network, the offline option lesson 04 measured best (appendix B).
DEFAULT_NETWORK = "efficientnet-lite0"


def feature_network(name: str = DEFAULT_NETWORK, *, device=None, seed: int = 0) -> FeatureNetwork:
    """Build a feature network by name (one of :data:`NETWORKS`) on ``device``.

    The weights go channels-last: several times faster convolutions on a CPU.
    """
    if device is None:
        device = torch_device()
    if name == "efficientnet-lite0-softmax":
        network = efficientnet_lite0_features(softmax=True)
    elif name == "efficientnet-lite0":
        network = efficientnet_lite0_features(softmax=False)
    elif name in ("vgg19-random", "vgg19-imagenet", "vgg19-auto"):
        network = vgg19_features(name.split("-")[1], seed=seed)
    else:
        raise ValueError(f"unknown network {name!r}; choose one of {', '.join(NETWORKS)}")
    return network.to(device, memory_format=torch.channels_last)
