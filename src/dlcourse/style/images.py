"""Images for style transfer: bundled photographs, loading, and back to NumPy.

Taught in lesson 04 (``notebooks/04_style_transfer.ipynb``, section 1).
Nothing here downloads: the photographs ship with scikit-image and matplotlib,
the painting is generated (:mod:`dlcourse.style.painting`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import matplotlib.cbook
import matplotlib.image
import numpy as np
import skimage.data
import torch
import torch.nn.functional as F

from ..devices import torch_device
from .painting import swirl_painting

#: Photographs bundled with scikit-image (no download: ``skimage.data`` ships them).
SKIMAGE_IMAGES = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry",
                  "hubble_deep_field", "retina")
#: Photographs bundled with matplotlib (``matplotlib.cbook.get_sample_data``).
MATPLOTLIB_IMAGES = {"grace_hopper": "grace_hopper.jpg"}
#: Images generated here, from a seed.
GENERATED_IMAGES = ("swirls",)


def default_size(device=None) -> int:
    """The working image size for ``device``: 384 on a CPU, 512 on a GPU (CUDA or MPS).

    Lesson 04 makes its main image at this size (200 loss evaluations of L-BFGS);
    its side-by-side comparisons use a smaller one (:func:`comparison_size`)."""
    if device is None:
        device = torch_device()
    return 384 if str(device).split(":")[0] == "cpu" else 512


def comparison_size(device=None) -> int:
    """The size of lesson 04's side-by-side experiments: 128 on a CPU, 256 on a GPU."""
    if device is None:
        device = torch_device()
    return 128 if str(device).split(":")[0] == "cpu" else 256


def sample_image(name: str, *, size: int = 512, seed: int = 0) -> np.ndarray:
    """Return a bundled or generated image as a ``uint8`` array of shape (H, W, 3).

    ``name`` is one of :data:`SKIMAGE_IMAGES`, a key of :data:`MATPLOTLIB_IMAGES`
    or one of :data:`GENERATED_IMAGES` (``size`` and ``seed`` apply to those).
    """
    if name in SKIMAGE_IMAGES:
        image = getattr(skimage.data, name)()
    elif name in MATPLOTLIB_IMAGES:
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


def _is_sample(name: str) -> bool:
    return name in SKIMAGE_IMAGES or name in MATPLOTLIB_IMAGES or name in GENERATED_IMAGES


def load_image(source: Any, size: int | None = None, *, device=None,
               square: bool = True) -> torch.Tensor:
    """Load an image as a float tensor of shape (1, 3, size, size) with values in [0, 1].

    ``source`` is a sample image's name (:func:`sample_image`), a path to an
    image file of your own, or an array (H, W, 3) of ``uint8`` or floats in
    [0, 1]. The centre square is cut out (``square=True``) and resized with
    antialiasing so that its side is ``size`` (default :func:`default_size`).
    """
    if device is None:
        device = torch_device()
    if size is None:
        size = default_size(device)
    if isinstance(source, str | Path) and not (isinstance(source, str) and _is_sample(source)):
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


def to_image(tensor: torch.Tensor) -> np.ndarray:
    """A (1, 3, H, W) or (3, H, W) tensor in [0, 1] as a NumPy (H, W, 3) float image."""
    if tensor.dim() == 4:
        tensor = tensor[0]
    return tensor.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
