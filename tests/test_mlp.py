"""dlcourse.mlp: the digits model of lessons 07 and 08 trains, reproducibly, and evaluates."""

import numpy as np
import pytest
import torch

from dlcourse import data, mlp


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models train fastest on one thread (lesson 01); restore the setting after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_train_mlp_is_reproducible_and_learns():
    digits = data.load_digits()
    first = mlp.train_mlp(digits.train.x, digits.train.y, epochs=3, seed=1)
    second = mlp.train_mlp(digits.train.x, digits.train.y, epochs=3, seed=1)
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)
    assert not first.training
    assert mlp.accuracy(first, digits.test.x, digits.test.y) > 0.85


def test_predictions_and_embedding_have_the_promised_shapes():
    model = mlp.DigitsMLP(hidden=16).eval()
    x = np.random.default_rng(0).random((5, 64)).astype(np.float32)
    p = mlp.predict_proba(model, x)
    assert p.shape == (5, 10) and np.allclose(p.sum(1), 1, atol=1e-6)
    assert model.embed(torch.from_numpy(x)).shape == (5, 16)
    assert mlp.accuracy(model, x, p.argmax(1)) == 1.0


def test_class_weights_and_a_custom_loader_are_used():
    digits = data.load_digits()
    weights = np.ones(10)
    weights[3] = 0.0  # threes cost nothing
    model = mlp.train_mlp(digits.train.x, digits.train.y, epochs=5, seed=0, class_weight=weights)
    threes = digits.test.y == 3
    other = mlp.train_mlp(None, None, epochs=1, seed=0,
                          train_loader=mlp.loader(digits.train.x[:64], digits.train.y[:64]))
    assert mlp.accuracy(model, digits.test.x[threes], digits.test.y[threes]) < 0.5
    assert isinstance(other, mlp.DigitsMLP)
