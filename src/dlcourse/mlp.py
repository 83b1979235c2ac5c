"""The digits model of lessons 07 and 08, and its training recipe.

Lesson 05's multilayer perceptron (64 pixels, one hidden layer, 10 logits), without
dropout, with :meth:`DigitsMLP.embed` returning the hidden layer's activations (the
*embedding* that lesson 07 monitors for drift). :func:`train_mlp` is the recipe both
lessons use: a thin wrapper of :func:`dlcourse.training.fit` (lesson 01's loop) with
Adam, so that a lesson can retrain the same model on other data in one line.

- ``notebooks/07_production.ipynb`` trains it on faulty, cleaned and augmented data,
  monitors it and guards it with an anomaly detector;
- ``notebooks/08_trust.ipynb`` explains it, trains it by federated averaging and with
  differential privacy, and shrinks it for a microcontroller.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import data, training


class DigitsMLP(nn.Module):
    """64 pixels -> ``hidden`` ReLU units (the embedding) -> 10 logits."""

    def __init__(self, hidden: int = 64):
        super().__init__()
        self.hidden = nn.Linear(64, hidden)
        self.out = nn.Linear(hidden, 10)

    def embed(self, x):
        return torch.relu(self.hidden(x))

    def forward(self, x):
        return self.out(self.embed(x))


def loader(x, y, *, batch_size: int = 64, shuffle: bool = False, seed: int = 0):
    """A PyTorch loader of images ``x`` (rows of 64 pixels) and labels ``y``."""
    return data.torch_loader(data.Split(np.asarray(x, np.float32), np.asarray(y, np.int64)),
                             batch_size=batch_size, shuffle=shuffle, seed=seed)


def train_mlp(x, y, *, epochs: int = 20, seed: int = 0, class_weight=None, train_loader=None,
              lr: float = 1e-2, device="cpu") -> DigitsMLP:
    """A :class:`DigitsMLP` trained with Adam on ``(x, y)``, in evaluation mode on the CPU.

    ``class_weight`` weights the cross-entropy per class; ``train_loader`` replaces
    the loader of ``(x, y)`` (an augmenting wrapper, say). The seed fixes the
    initial weights and the order of the batches, so a rerun gives the same model.
    """
    torch.manual_seed(seed)
    model = DigitsMLP()
    weight = None if class_weight is None else torch.as_tensor(class_weight, dtype=torch.float32)
    training.fit(model, train_loader or loader(x, y, shuffle=True, seed=seed), epochs=epochs,
                 optimizer=torch.optim.Adam(model.parameters(), lr=lr),
                 loss_fn=nn.CrossEntropyLoss(weight=weight), device=device, progress=False)
    return model.cpu().eval()


def predict_proba(model, x) -> np.ndarray:
    """Softmax probabilities of ``model`` on the images ``x``, as a NumPy array."""
    with torch.inference_mode():
        return torch.softmax(model(torch.as_tensor(x, dtype=torch.float32)), 1).numpy()


def accuracy(model, x, y) -> float:
    """The share of the images ``x`` that ``model`` labels ``y``."""
    return float((predict_proba(model, x).argmax(1) == np.asarray(y)).mean())


__all__ = ["DigitsMLP", "accuracy", "loader", "predict_proba", "train_mlp"]
