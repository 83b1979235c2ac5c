"""dlcourse.training: the shared loop learns, keeps the model's mode, and refuses the
import order that would crash the process."""

import subprocess
import sys

import torch

from dlcourse import data, training


def test_fit_learns_the_digits_and_evaluate_keeps_the_mode():
    torch.manual_seed(0)
    digits = data.load_digits()
    model = torch.nn.Sequential(torch.nn.Linear(64, 32), torch.nn.ReLU(), torch.nn.Linear(32, 10))
    history = training.fit(model, data.torch_loader(digits.train, shuffle=True), epochs=5,
                           optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
                           loss_fn=torch.nn.CrossEntropyLoss(),
                           val_loader=data.torch_loader(digits.validation), progress=False)
    assert history["loss"][-1] < history["loss"][0]
    assert history["val_accuracy"][-1] > 0.9
    model.train()
    training.evaluate(model, data.torch_loader(digits.test))
    assert model.training


def run_python(script: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin"})


def test_importing_training_after_tensorflow_without_triton_is_refused_not_a_crash():
    done = run_python("import tensorflow\n"
                      "try:\n"
                      "    from dlcourse import training\n"
                      "except RuntimeError as error:\n"
                      "    print('refused:', error)\n")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "refused: TensorFlow was imported before Triton" in done.stdout


def test_the_safe_import_order_trains():
    done = run_python("import torch, triton, tensorflow\n"
                      "from dlcourse import data, training\n"
                      "model = torch.nn.Linear(64, 10)\n"
                      "split = data.load_digits().validation\n"
                      "history = training.fit(model, data.torch_loader(split), epochs=1,\n"
                      "    optimizer=torch.optim.SGD(model.parameters(), lr=0.1),\n"
                      "    loss_fn=torch.nn.CrossEntropyLoss(), progress=False)\n"
                      "print('trained', len(history['loss']))\n")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "trained 1" in done.stdout
