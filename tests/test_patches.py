"""dlcourse.patches: the patch task is deterministic, balanced, split without overlap, and
feeds a DataLoader."""

import numpy as np
import pytest
import torch

from dlcourse import patches


def test_make_patches_is_deterministic_balanced_and_grey():
    a = patches.make_patches(10, size=32, seed=3)
    b = patches.make_patches(10, size=32, seed=3)
    c = patches.make_patches(10, size=32, seed=4)
    assert a.x.shape == (10 * len(patches.CLASSES), 32, 32, 3) and a.x.dtype == np.uint8
    assert np.array_equal(a.x, b.x) and not np.array_equal(a.x, c.x)
    assert np.bincount(a.y).tolist() == [10] * len(patches.CLASSES)
    assert np.array_equal(a.x[..., 0], a.x[..., 2])  # grey: texture, not colour, decides


def test_split_takes_per_class_and_leaves_the_rest():
    data = patches.make_patches(12, size=24)
    train, rest = patches.split(data, 5, seed=1)
    assert np.bincount(train.y).tolist() == [5] * len(data.classes)
    assert len(train) + len(rest) == len(data)
    together = np.concatenate([train.x, rest.x]).reshape(len(data), -1)
    assert len(np.unique(together, axis=0)) == len(np.unique(data.x.reshape(len(data), -1), axis=0))
    with pytest.raises(ValueError):
        patches.split(data, 13)


def test_dataset_and_tensor_ranges():
    data = patches.make_patches(4, size=16)
    symmetric = patches.to_tensor(data.x, normalise="symmetric")
    assert symmetric.shape == (len(data), 3, 16, 16)
    assert symmetric.min() >= -1 and symmetric.max() <= 1 and symmetric.min() < 0
    dataset = patches.PatchDataset(data, transform=lambda image: image.flip(-1))
    image, label = dataset[5]
    assert label == int(data.y[5])
    assert torch.allclose(image, patches.to_tensor(data.x[5:6])[0].flip(-1))
    x, y = next(iter(torch.utils.data.DataLoader(dataset, batch_size=8)))
    assert x.shape == (8, 3, 16, 16) and y.tolist() == data.y[:8].tolist()
