"""The losses of neural style transfer (Gatys et al.), on PyTorch tensors.

Each is first written out step by step in lesson 04
(``notebooks/04_style_transfer.ipynb``): the content loss in section 3, the
Gram matrix and the style loss in section 4, the total variation in section 5,
the softmax smoothing in appendix A. Quiz 04 asks students to write them, so
it does not let its students import this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrices of a batch of feature maps, normalised by the number of positions.

    ``features`` has shape (B, C, H, W); the result (B, C, C) holds
    ``G[b, i, j] = sum_p F[b, i, p] * F[b, j, p] / (H * W)``, the average
    over positions of the product of channels ``i`` and ``j``. Dividing by
    ``H * W`` makes it independent of the image's size, so a style image of
    any size can be compared with the image being optimised.
    """
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference between two feature maps of the same shape."""
    return ((features - target) ** 2).mean()


def style_loss(features: Sequence[torch.Tensor], target_grams: Sequence[torch.Tensor],
               weights: Sequence[float] | None = None) -> torch.Tensor:
    """``sum_l weights[l] * mean((gram_matrix(features[l]) - target_grams[l]) ** 2)``.

    ``features`` and ``target_grams`` are sequences over the same layers;
    ``weights`` defaults to 1 for every layer.
    """
    if len(features) != len(target_grams):
        raise ValueError("one target Gram matrix per feature map")
    if weights is None:
        weights = [1.0] * len(features)
    total = 0.0
    for feature, target, weight in zip(features, target_grams, weights, strict=True):
        total = total + weight * ((gram_matrix(feature) - target) ** 2).mean()
    return total


def tv_loss(image: torch.Tensor) -> torch.Tensor:
    """Total variation: the mean absolute difference between neighbouring pixels.

    For an image (B, C, H, W) this is ``mean |x[..., 1:, :] - x[..., :-1, :]|
    + mean |x[..., :, 1:] - x[..., :, :-1]|`` (the anisotropic L1 form): small
    for smooth images, large for noise, so a little of it removes the
    high-frequency speckle that optimising pixels tends to create.
    """
    vertical = (image[..., 1:, :] - image[..., :-1, :]).abs().mean()
    horizontal = (image[..., :, 1:] - image[..., :, :-1]).abs().mean()
    return vertical + horizontal


def balanced_weights(targets: Iterable[torch.Tensor]) -> list[float]:
    """Per-layer scaling: ``1 / mean(target ** 2)`` for each layer's target.

    With these weights each layer's loss is a *relative* squared error (1.0
    means "as far from the target as zero is"), whatever the scale of the
    layer's activations. Random networks (He et al. 2016) and softmax-smoothed
    features (Wang et al. 2021) have scales that differ by orders of magnitude
    from layer to layer; without this, one layer would drown out the others.
    """
    return [1.0 / max(float((t.detach().double() ** 2).mean()), 1e-30) for t in targets]


def softmax_features(features: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The softmax over all of a feature map's values, per image (Wang et al., CVPR 2021).

    ``softmax(features / temperature)`` taken over every channel and position
    of each image together. It turns peaky, low-entropy activations (such as
    those of residual networks) into smooth ones whose Gram matrices carry
    style well. The paper applies it to ResNet's post-ReLU features with
    ``temperature=1``; activations with a larger spread need a larger one.
    """
    b = features.shape[0]
    return (features / temperature).reshape(b, -1).softmax(dim=1).reshape(features.shape)
