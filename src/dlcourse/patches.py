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

Patches cut at random places overlap, so a test set drawn from the same
patches as the training set would share pixels with it. :func:`make_split`
therefore cuts each photograph into square blocks first, gives a quarter of
the blocks to the test set, and cuts every patch inside a single block of its
own part: no test pixel is ever seen in training. Every patch remembers where
it was cut (``origin``), so that this can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The scikit-image images that make the classes, in label order.
CLASSES = ("brick", "grass", "gravel", "moon", "camera", "cell")


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare by
class Patches:
    """Patches ``x`` (uint8, N x size x size x 3), labels ``y`` (int64), class names, and
    ``origin`` (int64, N x 2): the row and column of each patch's top-left pixel in its
    class's photograph."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    origin: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    @property
    def size(self) -> int:
        """The side of a patch, in pixels."""
        return int(self.x.shape[1])

    def subset(self, index) -> Patches:
        """The patches at ``index`` (an array of positions or a boolean mask)."""
        return Patches(self.x[index], self.y[index], self.classes, self.origin[index])


def _grey_image(name: str) -> np.ndarray:
    import skimage.data

    image = np.asarray(getattr(skimage.data, name)())
    if image.ndim == 3:  # colour: average the channels
        image = image[..., :3].mean(axis=-1)
    return image.astype(np.uint8)


def _cut(images, corners, labels, size, classes) -> Patches:
    """Patches of side ``size`` at ``corners`` (top, left) of ``images[label]``."""
    xs = [images[label][top:top + size, left:left + size]
          for (top, left), label in zip(corners, labels, strict=True)]
    grey = np.stack(xs) if xs else np.zeros((0, size, size), np.uint8)
    return Patches(np.repeat(grey[..., None], 3, axis=-1), np.asarray(labels, np.int64),
                   tuple(classes), np.asarray(corners, np.int64).reshape(-1, 2))


def make_patches(per_class: int = 60, *, size: int = 48, classes=CLASSES, seed: int = 0) -> Patches:
    """Cut ``per_class`` random ``size`` x ``size`` patches from anywhere in each class's image.

    Patches of one class may overlap, so never split these into a training and a test
    set: use :func:`make_split` for that. The order is class by class.
    """
    rng = np.random.default_rng(seed)
    images = [_grey_image(name) for name in classes]
    corners, labels = [], []
    for label, image in enumerate(images):
        height, width = image.shape
        if height < size or width < size:
            raise ValueError(f"image {classes[label]!r} ({height}x{width}) is smaller than {size}")
        tops = rng.integers(0, height - size + 1, per_class)
        lefts = rng.integers(0, width - size + 1, per_class)
        corners += list(zip(tops, lefts, strict=True))
        labels += [label] * per_class
    return _cut(images, corners, labels, size, classes)


def blocks(shape: tuple[int, int], block: int) -> list[tuple[int, int]]:
    """The top-left corners of the ``block`` x ``block`` squares that tile an image of
    ``shape`` (a remainder at the right and bottom edges is left out)."""
    height, width = shape
    return [(top, left) for top in range(0, height - block + 1, block)
            for left in range(0, width - block + 1, block)]


def make_split(train_per_class: int, test_per_class: int, *, size: int = 48,
               block: int | None = None, test_share: float = 0.25, classes=CLASSES,
               seed: int = 0) -> tuple[Patches, Patches]:
    """(train, test): random patches from disjoint regions of each class's photograph.

    Each photograph is tiled into squares of side ``block`` (default ``2 * size``); a
    random ``test_share`` of the squares (at least one) belongs to the test set, the rest
    to the training set, and each patch lies inside one square of its own part. So no
    pixel of a test patch is in any training patch. Patches within one part may overlap.
    """
    block = 2 * size if block is None else block
    if block < size:
        raise ValueError(f"block ({block}) must be at least the patch size ({size})")
    if not 0 < test_share < 1:
        raise ValueError("test_share must be between 0 and 1")
    rng = np.random.default_rng(seed)
    images = [_grey_image(name) for name in classes]
    parts = {"train": ([], []), "test": ([], [])}
    for label, image in enumerate(images):
        squares = blocks(image.shape, block)
        n_test = max(1, round(test_share * len(squares)))
        if len(squares) - n_test < 1:
            raise ValueError(f"image {classes[label]!r} has too few {block}-pixel blocks")
        order = rng.permutation(len(squares))
        chosen = {"test": order[:n_test], "train": order[n_test:]}
        for part, count in (("train", train_per_class), ("test", test_per_class)):
            which = rng.choice(chosen[part], count)  # a square for each patch
            offsets = rng.integers(0, block - size + 1, (count, 2))
            corners, labels = parts[part]
            corners += [(squares[s][0] + dt, squares[s][1] + dl)
                        for s, (dt, dl) in zip(which, offsets, strict=True)]
            labels += [label] * count
    return tuple(_cut(images, *parts[part], size, classes) for part in ("train", "test"))


def sample_per_class(labels, per_class: int, *, seed: int = 0) -> np.ndarray:
    """Positions of ``per_class`` examples of each class, drawn at random without
    replacement (in class order): a small labelled subset of a larger pool."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if per_class > len(members):
            raise ValueError(f"class {label} has {len(members)} examples, asked for {per_class}")
        chosen.extend(sorted(rng.choice(members, per_class, replace=False)))
    return np.asarray(chosen, np.int64)


def overlapping_pairs(a: Patches, b: Patches) -> int:
    """How many (patch of ``a``, patch of ``b``) pairs of the same class share at least one
    pixel of their photograph (0 for a leak-free train/test split)."""
    shared = 0
    for label in range(len(a.classes)):
        oa, ob = a.origin[a.y == label], b.origin[b.y == label]
        top_a, left_a = oa[:, None, 0], oa[:, None, 1]
        top_b, left_b = ob[None, :, 0], ob[None, :, 1]
        apart = ((top_a + a.size <= top_b) | (top_b + b.size <= top_a)
                 | (left_a + a.size <= left_b) | (left_b + b.size <= left_a))
        shared += int((~apart).sum())
    return shared


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


def photograph(label: int, classes=CLASSES) -> np.ndarray:
    """The grey photograph (uint8, H x W) that class ``label`` is cut from."""
    return _grey_image(classes[label])


def plot_split(train: Patches, test: Patches, label: int, *, ax=None, title: str | None = None):
    """Draw class ``label``'s photograph with the outline of every training patch (green)
    and test patch (orange) cut from it."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    ax.imshow(photograph(label, train.classes), cmap="gray", vmin=0, vmax=255)
    for part, colour in ((train, "tab:green"), (test, "tab:orange")):
        for top, left in part.origin[part.y == label]:
            ax.add_patch(Rectangle((left - 0.5, top - 0.5), part.size, part.size, fill=False,
                                   edgecolor=colour, linewidth=0.8))
    ax.set_title(title or f"{train.classes[label]}: train (green), test (orange)", fontsize=9)
    ax.axis("off")
    return ax.figure
