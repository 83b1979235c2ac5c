"""dlcourse.data: the digits split is fixed, disjoint and stratified."""

import numpy as np

from dlcourse import data


def test_splits_are_fixed_disjoint_and_cover_the_digits():
    digits = data.load_digits()
    again = data.load_digits()
    assert np.array_equal(digits.train.x, again.train.x)
    sizes = [len(digits.train), len(digits.validation), len(digits.test)]
    assert sum(sizes) == 1797 and sizes == [1077, 360, 360]
    rows = {row.tobytes() for split in (digits.train, digits.validation, digits.test)
            for row in split.x}
    assert len(rows) >= 1790  # a handful of digits are pixel-identical in the data set


def test_images_are_scaled_and_labels_balanced():
    digits = data.load_digits(flatten=False)
    assert digits.train.x.shape[1:] == (8, 8) and digits.train.x.dtype == np.float32
    assert 0.0 <= digits.train.x.min() and digits.train.x.max() <= 1.0
    counts = np.bincount(digits.test.y, minlength=10)
    assert counts.min() >= 34 and counts.max() <= 38


def test_numpy_batches_cover_a_split_once_in_a_seeded_order():
    split = data.load_digits().validation
    batches = list(data.numpy_batches(split, batch_size=64, shuffle=True, seed=1))
    again = list(data.numpy_batches(split, batch_size=64, shuffle=True, seed=1))
    assert sum(len(y) for _, y in batches) == len(split)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(batches, again, strict=True))
    assert sorted(np.concatenate([y for _, y in batches])) == sorted(split.y)


def test_torch_loader_yields_tensors_of_the_split():
    split = data.load_digits().test
    x, y = next(iter(data.torch_loader(split, batch_size=32)))
    assert tuple(x.shape) == (32, 64) and str(y.dtype) == "torch.int64"
