"""dlcourse.devices: every framework reports a device, falling back to the CPU."""

from dlcourse import devices


def test_torch_device_is_usable():
    import torch

    device = devices.torch_device()
    assert torch.ones(2, device=device).sum().item() == 2.0
    if not torch.cuda.is_available():
        assert device.type in ("cpu", "mps")


def test_report_names_a_chosen_device_among_those_seen():
    for report in devices.report(("torch", "jax")):
        assert report.available and report.chosen
    torch_report = devices.report(("torch",))[0]
    assert torch_report.chosen.split(":")[0] in {d.split(":")[0] for d in torch_report.available}
