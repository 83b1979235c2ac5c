"""dlcourse.style: the losses, the images, the feature networks and the loop of lesson 04.

Fast: small tensors and images; the networks run on 32x32 inputs.
"""

from __future__ import annotations

import ast
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from dlcourse import style
from dlcourse.grading.prepare.package_view import closure

STYLE_PACKAGE = Path(style.__file__).resolve().parent


def test_gram_matrix_is_normalised_by_the_number_of_positions():
    features = torch.arange(12.0).reshape(1, 3, 2, 2)
    flat = features.reshape(3, 4)
    expected = flat @ flat.T / 4
    assert torch.allclose(style.gram_matrix(features)[0], expected)
    # independent of size: tiling the map repeats every position four times
    tiled = features.repeat(1, 1, 2, 2)
    assert torch.allclose(style.gram_matrix(tiled), style.gram_matrix(features))


def test_gram_matrix_ignores_where_and_keeps_the_batch():
    features = torch.randn(2, 5, 4, 6, generator=torch.Generator().manual_seed(0))
    permutation = torch.randperm(24, generator=torch.Generator().manual_seed(1))
    shuffled = features.flatten(2)[..., permutation].reshape(features.shape)
    gram = style.gram_matrix(features)
    assert gram.shape == (2, 5, 5)
    assert torch.allclose(gram, gram.transpose(1, 2))
    assert torch.allclose(gram, style.gram_matrix(shuffled), atol=1e-5)


def test_losses_are_zero_on_identical_inputs():
    g = torch.Generator().manual_seed(2)
    features = [torch.randn(1, 4, 6, 6, generator=g), torch.randn(1, 8, 3, 3, generator=g)]
    grams = [style.gram_matrix(f) for f in features]
    assert float(style.content_loss(features[0], features[0].clone())) == 0.0
    assert float(style.style_loss(features, grams, [2.0, 3.0])) == 0.0
    assert float(style.tv_loss(torch.full((1, 3, 5, 5), 0.3))) == 0.0


def test_style_loss_is_the_weighted_sum_over_layers():
    g = torch.Generator().manual_seed(3)
    features = [torch.randn(1, 4, 6, 6, generator=g), torch.randn(1, 8, 3, 3, generator=g)]
    targets = [torch.randn(1, 4, 4, generator=g), torch.randn(1, 8, 8, generator=g)]
    per_layer = [((style.gram_matrix(f) - t) ** 2).mean() for f, t in
                 zip(features, targets, strict=True)]
    got = style.style_loss(features, targets, [0.5, 2.0])
    assert torch.allclose(got, 0.5 * per_layer[0] + 2.0 * per_layer[1])
    assert torch.allclose(style.style_loss(features, targets), per_layer[0] + per_layer[1])
    with pytest.raises(ValueError):
        style.style_loss(features, targets[:1])


def test_tv_loss_on_a_known_tiny_image():
    image = torch.tensor([[0.0, 1.0], [0.0, 3.0]]).reshape(1, 1, 2, 2)
    # vertical pairs: |0-0|, |3-1| -> mean 1; horizontal pairs: |1-0|, |3-0| -> mean 2
    assert float(style.tv_loss(image)) == pytest.approx(3.0)


def test_balanced_weights_make_each_layer_relative():
    targets = [torch.full((1, 2, 2), 10.0), torch.full((1, 3, 3), 0.001)]
    weights = style.balanced_weights(targets)
    assert weights == pytest.approx([1 / 100.0, 1 / 1e-6])
    zeros = [torch.zeros_like(t) for t in targets]
    relative = [w * float(((z - t) ** 2).mean()) for w, z, t in
                zip(weights, zeros, targets, strict=True)]
    assert relative == pytest.approx([1.0, 1.0])


def test_softmax_features_sum_to_one_per_image():
    features = torch.randn(2, 3, 4, 4, generator=torch.Generator().manual_seed(4)) * 20
    smooth = style.softmax_features(features, temperature=16.0)
    assert smooth.shape == features.shape
    assert torch.allclose(smooth.flatten(1).sum(1), torch.ones(2))
    sharp = style.softmax_features(features)
    assert float(smooth.max()) < float(sharp.max())  # a higher temperature is smoother


def test_sample_images_load_offline_as_square_tensors():
    for name in ("astronaut", "chelsea", "grace_hopper"):
        array = style.sample_image(name)
        assert array.dtype == np.uint8 and array.ndim == 3 and array.shape[2] == 3
    image = style.load_image("chelsea", 32, device="cpu")
    assert image.shape == (1, 3, 32, 32) and image.dtype == torch.float32
    assert 0.0 <= float(image.min()) and float(image.max()) <= 1.0
    back = style.to_image(image)
    assert back.shape == (32, 32, 3)
    with pytest.raises(ValueError):
        style.sample_image("no-such-image")


def test_swirls_are_generated_reproducibly():
    a = style.swirl_painting(48, seed=1)
    b = style.swirl_painting(48, seed=1)
    assert a.shape == (48, 48, 3) and np.array_equal(a, b)
    assert 0.0 <= a.min() and a.max() <= 1.0 and a.std() > 0.05


def test_load_image_takes_a_path_and_an_array(tmp_path):
    import matplotlib.image

    picture = (np.random.default_rng(0).random((20, 30, 3)) * 255).astype(np.uint8)
    path = tmp_path / "mine.png"
    matplotlib.image.imsave(path, picture)
    from_path = style.load_image(str(path), 16, device="cpu")
    from_array = style.load_image(picture, 16, device="cpu")
    assert from_path.shape == from_array.shape == (1, 3, 16, 16)
    assert torch.allclose(from_path, from_array, atol=1 / 255)
    with pytest.raises(FileNotFoundError):
        style.load_image(str(tmp_path / "missing.png"), 16, device="cpu")


def test_default_size_depends_on_the_device():
    assert style.default_size("cpu") == 384
    assert style.default_size("cuda") == 512
    assert style.comparison_size("cpu") == 128
    assert style.comparison_size("cuda:0") == 256


@pytest.fixture(scope="module")
def lite0():
    return style.feature_network("efficientnet-lite0-softmax", device="cpu")


def test_efficientnet_returns_the_requested_layers_with_expected_shapes(lite0):
    image = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(5))
    wanted = ["stem", "block2", "block3.expand", "block7"]
    features = lite0(image, wanted)
    assert list(features) == wanted
    shapes = {name: tuple(f.shape) for name, f in features.items()}
    assert shapes == {"stem": (1, 32, 32, 32), "block2": (1, 24, 16, 16),
                      "block3.expand": (1, 144, 16, 16), "block7": (1, 80, 4, 4)}
    for f in features.values():  # softmax features: a distribution per image
        assert torch.allclose(f.flatten(1).sum(1), torch.ones(1), atol=1e-4)
    with pytest.raises(KeyError):
        lite0(image, ["conv9_9"])


def test_efficientnet_weights_come_from_the_package_and_classify():
    model = style.efficientnet_lite0()
    image = style.load_image("coffee", 224, device="cpu")
    with torch.no_grad():
        logits = model((image - 0.5) / 0.5)
    assert int(logits.argmax()) in (967, 968)  # espresso or cup, in ImageNet's classes


def test_fused_batchnorm_gives_the_same_features():
    plain = style.efficientnet_lite0()
    fused = style.efficientnet_lite0_features(softmax=False)
    image = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        reference = plain.features((image - 0.5) / 0.5, {"block4"})["block4"]
        got = fused(image, ["block4"])["block4"]
    assert torch.allclose(got, reference, rtol=1e-3, atol=1e-3)


def test_vgg_loader_falls_back_to_random_weights_offline(monkeypatch, tmp_path):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))  # an empty torch cache
    assert style.vgg19_cached_weights() is None
    network = style.vgg19_features("auto")
    assert network.name == "vgg19-random"
    with pytest.raises(FileNotFoundError, match="torch cache"):
        style.vgg19_features("imagenet")
    features = network(torch.rand(1, 3, 32, 32), ["relu1_1", "relu2_1", "relu3_1"])
    assert {n: tuple(f.shape) for n, f in features.items()} == {
        "relu1_1": (1, 64, 32, 32), "relu2_1": (1, 128, 16, 16), "relu3_1": (1, 256, 8, 8)}
    again = style.vgg19_features("random")
    first = next(network.body.parameters())
    assert torch.equal(first, next(again.body.parameters()))  # seeded


def test_vgg_loader_uses_cached_weights_when_present(monkeypatch, tmp_path):
    import torchvision
    from torchvision.models import VGG19_Weights

    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    (checkpoints / "vgg19-dcbb9e9d.pth").write_bytes(b"stand-in")
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert style.vgg19_cached_weights() == checkpoints / "vgg19-dcbb9e9d.pth"
    asked = []

    def fake_vgg19(weights=None):  # what torchvision would build from the cached file
        asked.append(weights)
        model = torch.nn.Module()
        model.features = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1),
                                             torch.nn.ReLU(inplace=True), torch.nn.MaxPool2d(2))
        return model

    monkeypatch.setattr(torchvision.models, "vgg19", fake_vgg19)
    network = style.vgg19_features("auto")
    assert asked == [VGG19_Weights.IMAGENET1K_V1]
    assert network.name == "vgg19-imagenet"
    features = network(torch.rand(1, 3, 8, 8), ["relu1_1", "conv1_1"])
    assert tuple(features["relu1_1"].shape) == (1, 4, 8, 8)
    assert float(features["relu1_1"].min()) >= 0.0


def test_stylize_lowers_the_style_loss_and_keeps_a_history(lite0):
    content = style.load_image("chelsea", 32, device="cpu")
    paint = style.load_image("swirls", 32, device="cpu")
    for optimizer in ("lbfgs", "adam"):
        result = style.stylize(content, paint, lite0, steps=12, optimizer=optimizer,
                               snapshot_every=6, progress=False)
        assert result.image.shape == content.shape
        assert 0.0 <= float(result.image.min()) and float(result.image.max()) <= 1.0
        assert len(result.history["style"]) == 12
        assert [n for n, _ in result.snapshots] == [0, 6, 12]
        assert result.start["content"] == 0.0
        assert result.end["style"] < result.start["style"]
        assert result.fall("style") > 0
    similarity = style.content_similarity(result.image, content)
    assert set(similarity) == {"ssim", "edges"} and similarity["edges"] > 0.3


def test_the_package_imports_at_module_level_only():
    lazy = []
    for path in sorted(STYLE_PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lazy += [f"{path.name}:{inner.lineno}" for inner in ast.walk(node)
                         if isinstance(inner, ast.Import | ast.ImportFrom)]
    assert not lazy, f"imports inside functions: {lazy}"


def test_no_quiz_sees_the_style_package_unless_it_declares_it():
    for declared in ((), ("data",), ("training",)):
        files = {p.as_posix() for p in closure(declared)}
        assert not {f for f in files if f.startswith("style")}, declared
    declared = {p.as_posix() for p in closure(("style",))}
    assert {"style/__init__.py", "style/losses.py", "style/optimise.py"} <= declared


def test_a_feature_network_is_a_frozen_module_that_stays_in_eval_mode(lite0):
    assert isinstance(lite0, nn.Module) and isinstance(lite0.body, nn.Module)
    assert not any(p.requires_grad for p in lite0.parameters())
    lite0.train()
    assert not lite0.training and not any(m.training for m in lite0.modules())
    assert lite0.device == torch.device("cpu")
    assert "mean" in dict(lite0.named_buffers())  # moves with .to(device)


def test_sequential_taps_stop_after_the_deepest_layer_asked_for():
    class Forbidden(nn.Module):
        def forward(self, x):
            raise AssertionError("ran past the last wanted layer")

    layers = OrderedDict(same=nn.Identity(), relu=nn.ReLU(), never=Forbidden())
    taps = style.SequentialTaps(layers)
    x = torch.tensor([-1.0, 2.0])
    out = taps(x, {"same", "relu"})
    assert list(out) == ["same", "relu"] and torch.equal(out["relu"], torch.tensor([0.0, 2.0]))


def test_stylize_is_the_lbfgs_closure_loop_written_out(lite0):
    content = style.load_image("chelsea", 32, device="cpu")
    paint = style.load_image("swirls", 32, device="cpu")
    objective = style.StyleObjective(lite0, content, paint)
    image = content.clone().requires_grad_(True)
    optimizer = style.lbfgs(image)
    totals = []

    def closure_by_hand():
        with torch.no_grad():
            image.clamp_(0, 1)
        optimizer.zero_grad()
        total = objective(image)["total"]
        total.backward()
        totals.append(float(total.detach()))
        return total

    while len(totals) < 8:
        left = 8 - len(totals)
        optimizer.param_groups[0].update(max_eval=left, max_iter=min(20, left))
        optimizer.step(closure_by_hand)
    packaged = style.stylize(content, paint, lite0, steps=8, progress=False)
    assert len(totals) == 8
    assert np.allclose(totals, packaged.history["total"], rtol=1e-5)


def test_drawing_helpers_show_once_and_return_nothing(monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(plt, "show", lambda *args, **kwargs: shown.append(plt.gcf().number))
    plt.close("all")
    image = torch.rand(1, 3, 8, 8, generator=torch.Generator().manual_seed(7))
    result = style.show_images([image, image[0], np.zeros((8, 8))], ["a", "b", "c"], ncols=2,
                               nearest=True)
    assert result is None and len(shown) == 1
    assert plt.get_fignums() == []  # closed: nothing left for the notebook to show again
    assert style.plot_curves({"x": [3.0, 2.0, 1.0]}) is None and len(shown) == 2
    assert plt.get_fignums() == []
    fig, ax = plt.subplots()
    assert style.plot_curves({"x": [3.0, 2.0]}, ax=ax, x={"x": [0.5, 1.0]}) is None
    assert len(shown) == 2 and len(ax.lines) == 1  # drawn into the caller's axis, not shown
    plt.close(fig)


def test_lowest_so_far_is_the_running_minimum():
    assert style.lowest_so_far([5.0, 3.0, 4.0, 1.0, 2.0]).tolist() == [5.0, 3.0, 3.0, 1.0, 1.0]
