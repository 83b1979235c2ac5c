"""dlcourse.lr_finder: the range test sweeps geometrically, stops when the loss blows up,
suggests a sensible rate, and leaves the model and optimizer as they were."""

import numpy as np
import pytest
import torch

from dlcourse import data, lr_finder


def digits_setup():
    torch.manual_seed(0)
    digits = data.load_digits()
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    loader = data.torch_loader(digits.train, batch_size=32, shuffle=True)
    return model, loader


def test_lr_find_sweeps_stops_and_restores():
    model, loader = digits_setup()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.123, momentum=0.9)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    result = lr_finder.lr_find(model, loader, loss_fn=torch.nn.CrossEntropyLoss(),
                               optimizer=optimizer, start_lr=1e-5, end_lr=100.0, num_steps=120,
                               progress=False)
    ratios = np.diff(np.log(result.lrs))
    assert np.allclose(ratios, ratios[0])  # geometric
    assert len(result.lrs) < 120, "SGD at a rate of 100 diverges: the test must stop early"
    assert 1e-3 < result.steepest < result.minimum < 100
    assert min(result.losses) < result.losses[0] * 0.8
    for name, value in model.state_dict().items():
        assert torch.equal(value, before[name]), name
    assert optimizer.param_groups[0]["lr"] == 0.123 and not optimizer.state


def test_lr_find_rejects_bad_ranges():
    model, loader = digits_setup()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError):
        lr_finder.lr_find(model, loader, loss_fn=torch.nn.CrossEntropyLoss(),
                          optimizer=optimizer, start_lr=1.0, end_lr=0.1)


def test_suggestions_and_a_readable_plot():
    import matplotlib

    matplotlib.use("Agg")
    rates = tuple(np.geomspace(1e-5, 10, 61))
    logs = np.log10(rates)
    losses = tuple(2 - np.tanh(2 * (logs + 2)) + np.where(logs > -0.5, 40 * (logs + 0.5) ** 2, 0))
    result = lr_finder.LRFinderResult(rates, losses)
    assert np.isclose(result.steepest, 1e-2, rtol=0.25)
    assert result.minimum < 1 and np.isclose(result.suggestion, result.minimum / 10)
    figure = lr_finder.plot_lr_find(result)
    ax = figure.axes[0]
    assert ax.get_xscale() == "log" and ax.get_xlim() == (rates[0], rates[-1])
    low, high = ax.get_ylim()
    assert low < min(losses) and max(losses) > high > losses[0]  # the blow-up is cut off
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert any("suggestion" in label for label in labels)
