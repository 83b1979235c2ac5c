"""The course's data: scikit-learn's handwritten digits, split once for all lessons.

Taught in lesson 01 (``notebooks/01_frameworks.ipynb``, "The data"); lesson 03
builds data pipelines on :func:`torch_loader` and :func:`tf_dataset`.

The digits (1,797 images of 8x8 pixels, ten classes) ship inside
scikit-learn, so nothing is downloaded. The split is fixed (stratified, seed
0): every lesson and quiz sees the same train, validation and test examples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SPLIT_SEED = 0
VALIDATION_FRACTION = 0.2
TEST_FRACTION = 0.2


@dataclass(frozen=True, eq=False)  # arrays have no single truth value to compare by
class Split:
    """Images ``x`` (float32, scaled to [0, 1]) and integer labels ``y`` (int64)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True, eq=False)
class Digits:
    """The three fixed splits of the digits, plus their shape and class count."""

    train: Split
    validation: Split
    test: Split
    image_shape: tuple[int, int] = (8, 8)
    num_classes: int = 10


def load_digits(*, flatten: bool = True) -> Digits:
    """Return the digits split 60/20/20 into train, validation and test.

    With ``flatten=True`` each image is a vector of 64 features; with
    ``flatten=False`` it keeps its 8x8 shape.
    """
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    x = (bunch.images / 16.0).astype(np.float32)  # pixel values are 0..16
    y = bunch.target.astype(np.int64)
    if flatten:
        x = x.reshape(len(x), -1)
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED
    )
    validation_share = VALIDATION_FRACTION / (1 - TEST_FRACTION)
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=validation_share, stratify=y_rest, random_state=SPLIT_SEED
    )
    return Digits(Split(x_train, y_train), Split(x_val, y_val), Split(x_test, y_test))


def torch_loader(split: Split, *, batch_size: int = 64, shuffle: bool = False, seed: int = 0):
    """Wrap a split in a ``torch.utils.data.DataLoader`` of (images, labels) batches.

    Shuffling uses its own seeded generator, so two runs see the same order.
    """
    import torch
    from torch.utils.data import DataLoader, TensorDataset

    dataset = TensorDataset(torch.from_numpy(split.x), torch.from_numpy(split.y))
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)


def tf_dataset(split: Split, *, batch_size: int = 64, shuffle: bool = False, seed: int = 0):
    """Wrap a split in a batched, prefetched ``tf.data.Dataset`` of (images, labels)."""
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((split.x, split.y))
    if shuffle:
        dataset = dataset.shuffle(len(split), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def numpy_batches(split: Split, *, batch_size: int = 64, shuffle: bool = False, seed: int = 0):
    """Yield (images, labels) NumPy batches, for frameworks without a loader (JAX)."""
    order = np.arange(len(split))
    if shuffle:
        np.random.default_rng(seed).shuffle(order)
    for start in range(0, len(order), batch_size):
        chosen = order[start : start + batch_size]
        yield split.x[chosen], split.y[chosen]


def digit_pairs(split: Split, n: int, *, seed: int = 0) -> Split:
    """``n`` pairs of digits from ``split``, side by side: is it the same digit twice?

    Lesson 01 (``notebooks/01_frameworks.ipynb``, "When does a network win?") uses this
    task to show what a linear model cannot learn. Each example's ``x`` is the left image's
    pixels followed by the right image's (twice the features of ``split``); ``y`` is 1
    when both show the same digit, 0 otherwise. Half the pairs are the same digit (drawn
    as two images of one class, possibly the same image twice), half are two different
    digits (the right one's class drawn uniformly from the nine others). Both images come
    from ``split`` only, so pairs of the training split never show a test image.
    """
    rng = np.random.default_rng(seed)
    labels = split.y
    classes = np.unique(labels)
    members = [np.flatnonzero(labels == c) for c in classes]
    position = {int(c): i for i, c in enumerate(classes)}

    left = rng.integers(len(split), size=n)
    same = rng.random(n) < 0.5
    left_class = np.array([position[int(c)] for c in labels[left]])
    # a different class: shift the left class by 1 .. k-1 places around the circle
    shift = rng.integers(1, len(classes), size=n)
    right_class = np.where(same, left_class, (left_class + shift) % len(classes))
    right = np.array([rng.choice(members[c]) for c in right_class], dtype=np.int64)

    x = np.concatenate([split.x[left].reshape(n, -1), split.x[right].reshape(n, -1)], axis=1)
    return Split(x.astype(np.float32), same.astype(np.int64))
