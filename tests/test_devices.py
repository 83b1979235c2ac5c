"""dlcourse.devices: every framework reports a device, falling back to the CPU."""

import pytest

from dlcourse import devices


def test_torch_device_is_usable():
    import torch

    device = devices.torch_device()
    assert torch.ones(2, device=device).sum().item() == 2.0
    if not torch.accelerator.is_available():
        assert device.type == "cpu"
    else:
        assert device.type == torch.accelerator.current_accelerator().type


def test_torch_device_is_the_cpu_when_no_accelerator_is_usable(monkeypatch):
    import torch

    # a build for an accelerator (current_accelerator names it) on a machine without one
    monkeypatch.setattr(torch.accelerator, "is_available", lambda: False)
    assert devices.torch_device() == torch.device("cpu")
    assert devices.report(("torch",))[0].available == ("cpu",)


def test_torch_device_is_the_accelerator_when_one_is_usable(monkeypatch):
    import torch

    monkeypatch.setattr(torch.accelerator, "is_available", lambda: True)
    monkeypatch.setattr(torch.accelerator, "current_accelerator",
                        lambda check_available=False: torch.device("mps"))
    monkeypatch.setattr(torch.accelerator, "device_count", lambda: 1)
    assert devices.torch_device() == torch.device("mps")
    assert devices.report(("torch",))[0].available == ("cpu", "mps:0")


def test_report_names_a_chosen_device_among_those_seen():
    for report in devices.report(("torch", "jax")):
        assert report.available and report.chosen
    torch_report = devices.report(("torch",))[0]
    assert torch_report.chosen.split(":")[0] in {d.split(":")[0] for d in torch_report.available}


def test_tensorflow_names_take_the_form_tf_device_accepts():
    assert devices._tf_name("/physical_device:GPU:0") == "/GPU:0"
    assert devices._tf_name("/physical_device:CPU:0") == "/CPU:0"


def test_an_unknown_framework_is_refused():
    with pytest.raises(ValueError, match="unknown framework"):
        devices.report(("mxnet",))
