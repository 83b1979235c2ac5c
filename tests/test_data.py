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


def test_digit_pairs_are_half_same_and_labelled_by_their_halves():
    digits = data.load_digits()
    pairs = data.digit_pairs(digits.train, 2000, seed=3)
    assert pairs.x.shape == (2000, 128) and pairs.x.dtype == np.float32
    assert pairs.y.dtype == np.int64 and set(pairs.y) == {0, 1}
    assert 0.45 < pairs.y.mean() < 0.55
    # each half is an image of the split; the label says whether their classes agree
    index = {row.tobytes(): label for row, label in zip(digits.train.x, digits.train.y,
                                                         strict=True)}
    left = [index[row.tobytes()] for row in pairs.x[:, :64]]
    right = [index[row.tobytes()] for row in pairs.x[:, 64:]]
    assert np.array_equal(pairs.y, (np.array(left) == np.array(right)).astype(np.int64))
    # different pairs spread over the other nine classes
    different = np.array(right)[pairs.y == 0] - np.array(left)[pairs.y == 0]
    assert set(different % 10) == set(range(1, 10))
    again = data.digit_pairs(digits.train, 2000, seed=3)
    assert np.array_equal(pairs.x, again.x) and np.array_equal(pairs.y, again.y)


def test_digit_pairs_of_the_test_split_show_no_training_image():
    digits = data.load_digits()
    train_rows = {row.tobytes() for row in digits.train.x}
    test_rows = {row.tobytes() for row in digits.test.x}
    pairs = data.digit_pairs(digits.test, 500, seed=1)
    halves = {row.tobytes() for row in pairs.x.reshape(-1, 64)}
    assert halves <= test_rows
    assert not halves & (train_rows - test_rows)
