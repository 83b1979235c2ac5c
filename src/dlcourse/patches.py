"""A small image-classification task that ships with the course: patches of sample images.

Taught in lesson 03 (``notebooks/03_training.ipynb``, "Data pipelines from the
inside" and "Transfer learning"), where the patches feed a ``Dataset``, the
augmentation examples, and the pretrained-versus-from-scratch comparison.

Each class is one of scikit-image's bundled grey-level photographs (textures
such as brick, grass and gravel, and scenes such as the moon's surface); an
example is a square patch cut at a random place in its image. Nothing is
downloaded, the patches are the same on every machine for a given seed, and
telling the classes apart takes texture, not colour (every image is grey, so
the three colour channels are equal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The scikit-image images that make the classes, in label order.
CLASSES = ("brick", "grass", "gravel", "moon", "camera", "cell")


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare by
class Patches:
    """Patches ``x`` (uint8, N x size x size x 3), labels ``y`` (int64) and class names."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, index) -> Patches:
        """The patches at ``index`` (an array of positions or a boolean mask)."""
        return Patches(self.x[index], self.y[index], self.classes)


def _grey_image(name: str) -> np.ndarray:
    import skimage.data

    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 3:  # colour: average the channels
        image = image[..., :3].mean(axis=-1)
    return image.astype(np.uint8)


def make_patches(per_class: int = 60, *, size: int = 48, classes=CLASSES, seed: int = 0) -> Patches:
    """Cut ``per_class`` random ``size`` x ``size`` patches from each class's image.

    Patches of one class may overlap; the order is class by class. Use
    :func:`split` to get disjoint train and test sets (patches from different
    parts of each image).
    """
    rng = np.random.default_rng(seed)
    xs, ys = [], []
    for label, name in enumerate(classes):
        image = _grey_image(name)
        height, width = image.shape
        if height < size or width < size:
            raise ValueError(f"image {name!r} ({height}x{width}) is smaller than {size}")
        tops = rng.integers(0, height - size + 1, per_class)
        lefts = rng.integers(0, width - size + 1, per_class)
        for top, left in zip(tops, lefts, strict=True):
            xs.append(image[top : top + size, left : left + size])
            ys.append(label)
    grey = np.stack(xs)
    return Patches(np.repeat(grey[..., None], 3, axis=-1), np.asarray(ys, np.int64), tuple(classes))


def split(patches: Patches, per_class: int, *, seed: int = 0) -> tuple[Patches, Patches]:
    """Return (train, rest): ``per_class`` random examples of each class, and all the others."""
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(len(patches.classes)):
        members = np.flatnonzero(patches.y == label)
        if per_class > len(members):
            raise ValueError(f"class {label} has {len(members)} patches, asked for {per_class}")
        chosen.extend(rng.choice(members, per_class, replace=False))
    mask = np.zeros(len(patches), dtype=bool)
    mask[chosen] = True
    return patches.subset(mask), patches.subset(~mask)


def to_tensor(x: np.ndarray, *, normalise: str = "unit"):
    """uint8 images (N x H x W x 3) -> float32 torch tensor (N x 3 x H x W).

    ``normalise="unit"`` scales to [0, 1]; ``"symmetric"`` to [-1, 1], the
    range EfficientNet-Lite0 was trained on.
    """
    import torch

    images = torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).float() / 255.0
    if normalise == "symmetric":
        return images * 2 - 1
    if normalise != "unit":
        raise ValueError(f"normalise must be 'unit' or 'symmetric', not {normalise!r}")
    return images


class PatchDataset:
    """A map-style ``torch.utils.data.Dataset`` over :class:`Patches`.

    ``dataset[i]`` is ``(image, label)``: a float CHW tensor in [0, 1] passed
    through ``transform`` (if given), and an int. It subclasses nothing:
    PyTorch's ``DataLoader`` needs only ``__len__`` and ``__getitem__``.
    """

    def __init__(self, patches: Patches, transform=None):
        self.patches = patches
        self.transform = transform

    def __len__(self) -> int:
        return len(self.patches)

    def __getitem__(self, index: int):
        image = to_tensor(self.patches.x[index : index + 1])[0]
        if self.transform is not None:
            image = self.transform(image)
        return image, int(self.patches.y[index])
