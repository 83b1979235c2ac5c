"""A small PyTorch training loop that calls callbacks, as Keras's ``fit`` does.

Lesson 03 (``notebooks/03_training.ipynb``, "Training that watches itself")
writes the callback protocol, the loop that calls it (``fit_with_callbacks``)
and ``EarlyStopping`` in the open, after using Keras's callbacks. This module
is that code, kept for the later sections and your own projects, with a
progress bar, gradient clipping, ``mode``/``min_delta`` for the monitors, and
three more callbacks written against the same hooks: ``ModelCheckpoint``,
``ReduceLROnPlateau`` and ``LRScheduler``. The batches run through
:func:`dlcourse.training.train_epoch` (lesson 01's loop).

A callback is an object with any of the methods ``on_train_begin(loop)``,
``on_epoch_begin(loop, epoch)``, ``on_batch_end(loop, step, loss)``,
``on_epoch_end(loop, epoch, logs)`` and ``on_train_end(loop)``; ``loop`` is the
:class:`Loop` (model, optimizer, history, ``stop_training``). Setting
``loop.stop_training = True`` ends training after the current epoch.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .training import evaluate, train_epoch


class Callback:
    """Base class: every hook does nothing. Override the ones you need."""

    def on_train_begin(self, loop: Loop) -> None: ...
    def on_epoch_begin(self, loop: Loop, epoch: int) -> None: ...
    def on_batch_end(self, loop: Loop, step: int, loss: float) -> None: ...
    def on_epoch_end(self, loop: Loop, epoch: int, logs: dict[str, float]) -> None: ...
    def on_train_end(self, loop: Loop) -> None: ...


@dataclass
class Loop:
    """What callbacks see and may change while :func:`fit` runs."""

    model: Any
    optimizer: Any
    history: dict[str, list[float]] = field(default_factory=dict)
    stop_training: bool = False
    epoch: int = 0
    step: int = 0  # optimizer steps taken so far


def _improved(value: float, best: float, mode: str, min_delta: float) -> bool:
    if mode == "min":
        return value < best - min_delta
    if mode == "max":
        return value > best + min_delta
    raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")


class _Monitor(Callback):
    def __init__(self, monitor: str, mode: str, min_delta: float):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', not {mode!r}")
        self.monitor, self.mode, self.min_delta = monitor, mode, min_delta
        self.best = math.inf if mode == "min" else -math.inf

    def _value(self, logs: dict[str, float]) -> float:
        if self.monitor not in logs:
            raise KeyError(f"{type(self).__name__} monitors {self.monitor!r}, which the loop "
                           f"does not log (it logs {sorted(logs)}); pass a val_loader?")
        return logs[self.monitor]


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved for ``patience`` epochs.

    With ``restore_best_weights=True`` the model gets back the weights of its
    best epoch when training ends, whether it stopped early or ran out of
    epochs (as Keras 3 does; Keras 2 restored them only on an early stop).
    ``stopped_epoch`` and
    ``best_epoch`` say what happened (0-based; ``None`` if it never stopped).
    """

    def __init__(self, monitor: str = "val_loss", *, patience: int = 5, mode: str = "min",
                 min_delta: float = 0.0, restore_best_weights: bool = True):
        super().__init__(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = patience, restore_best_weights
        self.wait, self.best_epoch, self.stopped_epoch, self.best_state = 0, None, None, None

    def on_epoch_end(self, loop, epoch, logs):
        value = self._value(logs)
        if _improved(value, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_state = copy.deepcopy(loop.model.state_dict())
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stopped_epoch = epoch
                loop.stop_training = True

    def on_train_end(self, loop):
        if self.restore_best_weights and self.best_state is not None:
            loop.model.load_state_dict(self.best_state)


class ModelCheckpoint(_Monitor):
    """Save the model's ``state_dict`` to ``path`` when ``monitor`` improves.

    With ``save_best_only=False`` it saves after every epoch. ``saved_epochs``
    lists the epochs written.
    """

    def __init__(self, path, monitor: str = "val_loss", *, mode: str = "min",
                 save_best_only: bool = True):
        super().__init__(monitor, mode, 0.0)
        self.path, self.save_best_only = Path(path), save_best_only
        self.saved_epochs: list[int] = []

    def on_epoch_end(self, loop, epoch, logs):
        import torch

        value = self._value(logs)
        improved = _improved(value, self.best, self.mode, 0.0)
        if improved:
            self.best = value
        if improved or not self.save_best_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            torch.save(loop.model.state_dict(), self.path)
            self.saved_epochs.append(epoch)


class ReduceLROnPlateau(_Monitor):
    """Multiply every learning rate by ``factor`` after ``patience`` epochs without improvement."""

    def __init__(self, monitor: str = "val_loss", *, factor: float = 0.1, patience: int = 3,
                 mode: str = "min", min_delta: float = 0.0, min_lr: float = 0.0):
        if not 0 < factor < 1:
            raise ValueError("factor must be between 0 and 1")
        super().__init__(monitor, mode, min_delta)
        self.factor, self.patience, self.min_lr, self.wait = factor, patience, min_lr, 0

    def on_epoch_end(self, loop, epoch, logs):
        if _improved(self._value(logs), self.best, self.mode, self.min_delta):
            self.best, self.wait = self._value(logs), 0
            return
        self.wait += 1
        if self.wait >= self.patience:
            for group in loop.optimizer.param_groups:
                group["lr"] = max(group["lr"] * self.factor, self.min_lr)
            self.wait = 0


class LRScheduler(Callback):
    """Step a ``torch.optim.lr_scheduler`` after every batch (``per="batch"``) or epoch."""

    def __init__(self, scheduler, *, per: str = "epoch"):
        if per not in ("batch", "epoch"):
            raise ValueError(f"per must be 'batch' or 'epoch', not {per!r}")
        self.scheduler, self.per = scheduler, per

    def on_batch_end(self, loop, step, loss):
        if self.per == "batch":
            self.scheduler.step()

    def on_epoch_end(self, loop, epoch, logs):
        if self.per == "epoch":
            self.scheduler.step()


def _call(callbacks, hook: str, *args) -> None:
    for callback in callbacks:
        method = getattr(callback, hook, None)
        if method is not None:
            method(*args)


def fit(model, train_loader, *, epochs: int, optimizer, loss_fn, val_loader=None, callbacks=(),
        device="cpu", max_grad_norm: float | None = None, progress: bool = True,
        desc: str = "epochs") -> dict[str, list[float]]:
    """Train ``model`` for at most ``epochs`` passes, calling ``callbacks`` along the way.

    Logs per epoch: ``loss``, ``accuracy``, ``lr`` (the first parameter
    group's, at the end of the epoch) and, with a ``val_loader``,
    ``val_loss`` and ``val_accuracy``. ``max_grad_norm`` clips the global
    gradient norm (lesson 02). Returns the history, as
    :func:`dlcourse.training.fit` does; both run their batches through
    :func:`dlcourse.training.train_epoch`.
    """
    model.to(device)
    loop = Loop(model, optimizer)
    _call(callbacks, "on_train_begin", loop)
    bar = tqdm(range(epochs), desc=desc, disable=not progress)
    for epoch in bar:
        loop.epoch = epoch
        _call(callbacks, "on_epoch_begin", loop, epoch)
        def after_step(loss: float) -> None:
            loop.step += 1
            _call(callbacks, "on_batch_end", loop, loop.step, loss)

        logs = train_epoch(model, train_loader, optimizer=optimizer, loss_fn=loss_fn,
                           device=device, max_grad_norm=max_grad_norm, on_batch=after_step)
        if val_loader is not None:
            scores = evaluate(model, val_loader, loss_fn=loss_fn, device=device)
            logs.update(val_loss=scores["loss"], val_accuracy=scores["accuracy"])
        _call(callbacks, "on_epoch_end", loop, epoch, logs)
        logs["lr"] = optimizer.param_groups[0]["lr"]
        for name, value in logs.items():
            loop.history.setdefault(name, []).append(value)
        bar.set_postfix({k: f"{v:.3g}" for k, v in logs.items() if k != "lr"})
        if loop.stop_training:
            break
    _call(callbacks, "on_train_end", loop)
    return loop.history
