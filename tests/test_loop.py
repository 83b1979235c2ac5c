"""dlcourse.loop: callbacks are called, EarlyStopping stops and restores the best weights,
ModelCheckpoint saves the best epoch, ReduceLROnPlateau and LRScheduler change the rate."""

import pytest
import torch

from dlcourse import data, loop


def setup(seed=0, lr=1e-2):
    torch.manual_seed(seed)
    digits = data.load_digits()
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    return (model, torch.optim.Adam(model.parameters(), lr=lr),
            data.torch_loader(digits.train, shuffle=True), data.torch_loader(digits.validation))


class Recorder(loop.Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, state):
        self.calls.append("train_begin")

    def on_epoch_begin(self, state, epoch):
        self.calls.append(f"epoch_begin {epoch}")

    def on_batch_end(self, state, step, loss):
        self.calls.append("batch")

    def on_epoch_end(self, state, epoch, logs):
        self.calls.append(f"epoch_end {epoch} {sorted(logs)}")

    def on_train_end(self, state):
        self.calls.append("train_end")


def test_hooks_are_called_in_order_and_history_has_every_metric():
    model, optimizer, train, val = setup()
    recorder = Recorder()
    history = loop.fit(model, train, epochs=2, optimizer=optimizer,
                       loss_fn=torch.nn.CrossEntropyLoss(), val_loader=val,
                       callbacks=[recorder], progress=False)
    batches = len(train)
    metrics = ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert recorder.calls == (["train_begin", "epoch_begin 0"] + ["batch"] * batches
                              + [f"epoch_end 0 {metrics}", "epoch_begin 1"] + ["batch"] * batches
                              + [f"epoch_end 1 {metrics}", "train_end"])
    assert sorted(history) == sorted([*metrics, "lr"]) and len(history["loss"]) == 2
    assert history["val_accuracy"][-1] > 0.85


def test_early_stopping_stops_and_restores_the_best_weights(tmp_path):
    model, optimizer, train, val = setup(lr=0.05)  # too high: val_loss soon stops improving
    stop = loop.EarlyStopping("val_loss", patience=2)
    checkpoint = loop.ModelCheckpoint(tmp_path / "best.pt", "val_loss")
    history = loop.fit(model, train, epochs=60, optimizer=optimizer,
                       loss_fn=torch.nn.CrossEntropyLoss(), val_loader=val,
                       callbacks=[stop, checkpoint], progress=False)
    assert stop.stopped_epoch is not None and len(history["loss"]) == stop.stopped_epoch + 1
    assert stop.best_epoch == stop.stopped_epoch - 2
    assert checkpoint.saved_epochs[-1] == stop.best_epoch
    saved = torch.load(tmp_path / "best.pt", weights_only=True)
    for name, value in model.state_dict().items():  # restored = the checkpointed best
        assert torch.equal(value, saved[name]), name
    best_val = min(history["val_loss"])
    assert history["val_loss"][stop.best_epoch] == best_val


def test_reduce_lr_on_plateau_and_scheduler_change_the_rate():
    model, optimizer, train, val = setup(lr=0.05)
    plateau = loop.ReduceLROnPlateau("val_loss", factor=0.5, patience=1)
    history = loop.fit(model, train, epochs=12, optimizer=optimizer,
                       loss_fn=torch.nn.CrossEntropyLoss(), val_loader=val,
                       callbacks=[plateau], progress=False)
    assert history["lr"][0] == 0.05 and history["lr"][-1] < 0.05
    model, optimizer, train, _ = setup(lr=1.0)
    step = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    history = loop.fit(model, train, epochs=3, optimizer=optimizer,
                       loss_fn=torch.nn.CrossEntropyLoss(),
                       callbacks=[loop.LRScheduler(step)], progress=False)
    assert history["lr"] == [0.5, 0.25, 0.125]


def test_monitoring_a_metric_that_is_not_logged_says_so():
    model, optimizer, train, _ = setup()
    with pytest.raises(KeyError, match="val_loss"):
        loop.fit(model, train, epochs=1, optimizer=optimizer,
                 loss_fn=torch.nn.CrossEntropyLoss(), callbacks=[loop.EarlyStopping()],
                 progress=False)
