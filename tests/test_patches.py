"""dlcourse.patches: the patch task is deterministic, balanced and grey; make_split gives
training and test sets that share no pixel of any photograph; it feeds a DataLoader."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from dlcourse import patches  # noqa: E402


def test_make_patches_is_deterministic_balanced_and_grey():
    a = patches.make_patches(10, size=32, seed=3)
    b = patches.make_patches(10, size=32, seed=3)
    c = patches.make_patches(10, size=32, seed=4)
    assert a.x.shape == (10 * len(patches.CLASSES), 32, 32, 3) and a.x.dtype == np.uint8
    assert np.array_equal(a.x, b.x) and not np.array_equal(a.x, c.x)
    assert np.bincount(a.y).tolist() == [10] * len(patches.CLASSES)
    assert np.array_equal(a.x[..., 0], a.x[..., 2])  # grey: texture, not colour, decides


def test_origins_say_where_each_patch_was_cut():
    data = patches.make_patches(5, size=24, seed=1)
    for image, label, (top, left) in zip(data.x, data.y, data.origin, strict=True):
        photo = patches.photograph(int(label))
        assert np.array_equal(image[..., 0], photo[top:top + 24, left:left + 24])


def test_make_split_shares_no_pixel_between_train_and_test():
    train, test = patches.make_split(60, 30, size=64, seed=0)
    assert np.bincount(train.y).tolist() == [60] * 6 and np.bincount(test.y).tolist() == [30] * 6
    assert patches.overlapping_pairs(train, test) == 0
    # the same, pixel by pixel: mark every photograph pixel a training patch covers
    for label in range(6):
        covered = np.zeros(patches.photograph(label).shape, dtype=bool)
        for top, left in train.origin[train.y == label]:
            covered[top:top + 64, left:left + 64] = True
        for top, left in test.origin[test.y == label]:
            assert not covered[top:top + 64, left:left + 64].any(), (label, top, left)
    # and no test patch is a copy of a training patch
    seen = {image.tobytes() for image in train.x}
    assert not any(image.tobytes() in seen for image in test.x)


def test_make_split_is_deterministic_and_seeds_differ():
    a_train, a_test = patches.make_split(8, 4, size=32, seed=5)
    b_train, b_test = patches.make_split(8, 4, size=32, seed=5)
    c_train, _ = patches.make_split(8, 4, size=32, seed=6)
    assert np.array_equal(a_train.x, b_train.x) and np.array_equal(a_test.origin, b_test.origin)
    assert not np.array_equal(a_train.origin, c_train.origin)
    assert patches.overlapping_pairs(a_train, a_test) == 0


def test_overlapping_pairs_sees_a_leak():
    data = patches.make_patches(40, size=64, seed=0)  # random places: many overlaps
    chosen = patches.sample_per_class(data.y, 10, seed=0)
    rest = np.setdiff1d(np.arange(len(data)), chosen)
    assert patches.overlapping_pairs(data.subset(chosen), data.subset(rest)) > 0
    one = data.subset(np.array([0]))
    assert patches.overlapping_pairs(one, one) == 1  # a patch overlaps itself


def test_sample_per_class_and_bad_arguments():
    labels = np.repeat(np.arange(3), 5)
    chosen = patches.sample_per_class(labels, 2, seed=1)
    assert np.bincount(labels[chosen]).tolist() == [2, 2, 2] and len(set(chosen)) == 6
    assert np.array_equal(chosen, patches.sample_per_class(labels, 2, seed=1))
    with pytest.raises(ValueError):
        patches.sample_per_class(labels, 6)
    with pytest.raises(ValueError):
        patches.make_split(2, 2, size=64, block=32)


def test_plot_split_draws_one_outline_per_patch():
    train, test = patches.make_split(5, 3, size=32, seed=0)
    figure = patches.plot_split(train, test, 1)
    assert len(figure.axes[0].patches) == 5 + 3


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
