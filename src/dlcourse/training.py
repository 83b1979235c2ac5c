"""A PyTorch training loop with a progress bar and a history, shared by the lessons.

Taught in lesson 01 (``notebooks/01_frameworks.ipynb``, "PyTorch: nn.Module and
a training loop"), where the loop is written out step by step; later lessons
call :func:`fit` instead of pasting it again.
"""

from __future__ import annotations

import importlib.util
import sys

from tqdm.auto import tqdm


class ImportOrderError(RuntimeError):
    """TensorFlow was imported before Triton, and PyTorch's optimizer would crash the process."""


def check_import_order() -> None:
    """Refuse to go on where building an optimizer would crash the whole process.

    Creating a PyTorch optimizer imports Triton, and importing Triton after
    TensorFlow 2.21 is a segmentation fault (tensorflow/tensorflow#124205).
    Lesson 01's set-up imports ``torch`` and ``triton`` before TensorFlow.
    Checked when this module is imported, which comes before any optimizer.
    """
    if ("tensorflow" in sys.modules and "triton" not in sys.modules
            and importlib.util.find_spec("triton") is not None):
        raise ImportOrderError(
            "TensorFlow was imported before Triton: creating a PyTorch optimizer would "
            "import Triton and crash the process. Restart the kernel and import torch and "
            "triton before tensorflow (see lesson 01, 'Setup').")


check_import_order()


def evaluate(model, loader, *, loss_fn=None, device="cpu") -> dict[str, float]:
    """Return the mean loss (if ``loss_fn`` is given) and accuracy of a classifier."""
    import torch

    was_training = model.training
    model.eval()
    correct, total, loss_sum = 0, 0, 0.0
    with torch.inference_mode():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x)
            if loss_fn is not None:
                loss_sum += loss_fn(logits, y).item() * len(y)
            correct += (logits.argmax(dim=1) == y).sum().item()
            total += len(y)
    model.train(was_training)  # leave the model in the mode it came in
    result = {"accuracy": correct / total}
    if loss_fn is not None:
        result["loss"] = loss_sum / total
    return result


def train_epoch(model, train_loader, *, optimizer, loss_fn, device="cpu",
                max_grad_norm: float | None = None, on_batch=None) -> dict[str, float]:
    """One pass over ``train_loader`` in training mode; return its mean ``loss`` and ``accuracy``.

    The steps of lesson 01's loop, batch by batch: zero the gradients, forward,
    loss, backward, (clip the global gradient norm to ``max_grad_norm``, lesson
    02), step. ``on_batch(loss)`` is called after each step with the batch's
    loss (:func:`dlcourse.loop.fit` calls its callbacks there).
    """
    import torch

    model.train()
    correct, total, loss_sum = 0, 0, 0.0
    for x, y in train_loader:
        x, y = x.to(device), y.to(device)
        optimizer.zero_grad()
        logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        loss_sum += loss.item() * len(y)
        correct += (logits.argmax(dim=1) == y).sum().item()
        total += len(y)
        if on_batch is not None:
            on_batch(loss.item())
    return {"loss": loss_sum / total, "accuracy": correct / total}


def fit(model, train_loader, *, epochs, optimizer, loss_fn, val_loader=None, device="cpu",
        progress=True) -> dict[str, list[float]]:
    """Train ``model`` for ``epochs`` passes over ``train_loader``.

    Returns the history: per epoch, the training ``loss`` and ``accuracy`` and,
    with a ``val_loader``, ``val_loss`` and ``val_accuracy``, ready for
    :func:`dlcourse.plotting.plot_history`.
    """
    model.to(device)
    history: dict[str, list[float]] = {"loss": [], "accuracy": []}
    if val_loader is not None:
        history.update(val_loss=[], val_accuracy=[])
    bar = tqdm(range(epochs), desc="epochs", disable=not progress)
    for _ in bar:
        scores = train_epoch(model, train_loader, optimizer=optimizer, loss_fn=loss_fn,
                             device=device)
        history["loss"].append(scores["loss"])
        history["accuracy"].append(scores["accuracy"])
        if val_loader is not None:
            scores = evaluate(model, val_loader, loss_fn=loss_fn, device=device)
            history["val_loss"].append(scores["loss"])
            history["val_accuracy"].append(scores["accuracy"])
        bar.set_postfix(loss=f"{history['loss'][-1]:.3f}")
    return history
