"""Pick the best available device for PyTorch, TensorFlow and JAX.

Taught in lesson 01 (``notebooks/01_frameworks.ipynb``, "Devices"), where the
same selection is written out in the open for each framework. Every function
falls back to the CPU, so a lesson that calls them runs anywhere.

- PyTorch: :mod:`torch.accelerator` (PyTorch 2.6 and later) asks one question for
  every kind of accelerator PyTorch was built for: CUDA (NVIDIA, and AMD through
  ROCm), Apple's MPS, Intel's XPU, ... ``current_accelerator()`` alone names the
  accelerator of the *build*, which may have no device on this machine, so
  ``is_available()`` is asked first.
- TensorFlow: :func:`tf.config.list_physical_devices` lists the hardware it found.
- JAX: :func:`jax.devices` lists the devices of the backend JAX chose at start-up.

Each framework is imported only when its function is called: asking for the
PyTorch device must not pay for importing TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceReport:
    """What one framework found: its chosen device and everything it saw."""

    framework: str
    chosen: str
    available: tuple[str, ...]


def torch_device():
    """Return the best ``torch.device``: the current accelerator if one is usable, else CPU.

    ``torch.accelerator.is_available()`` says whether this build of PyTorch has an
    accelerator *and* a device of it here; ``current_accelerator()`` then names it
    (``cuda`` for NVIDIA and AMD GPUs, ``mps`` for Apple's GPU, ``xpu`` for Intel's, ...).
    """
    import torch

    if torch.accelerator.is_available():
        return torch.accelerator.current_accelerator()
    return torch.device("cpu")


def _tf_name(physical_name: str) -> str:
    # "/physical_device:GPU:0" -> "/GPU:0", the name tf.device() takes
    return "/" + physical_name.split("/physical_device:", 1)[-1].lstrip("/")


def tf_device() -> str:
    """Return the TensorFlow device name to use in ``tf.device(...)``: TPU, GPU or CPU.

    TensorFlow places operations on a GPU by itself when it sees one; the
    name is still useful to place work explicitly, and to report it.
    """
    import tensorflow as tf

    for kind in ("TPU", "GPU"):
        if tf.config.list_physical_devices(kind):
            return f"/{kind}:0"
    return "/CPU:0"


def jax_device():
    """Return the first JAX device of the default backend (TPU, GPU or CPU).

    JAX chooses its backend at start-up, preferring TPU, then GPU, then CPU;
    ``jax.devices()`` lists that backend's devices.
    """
    import jax

    return jax.devices()[0]


def report(frameworks=("torch", "tensorflow", "jax")) -> list[DeviceReport]:
    """Say, for each framework asked for, which devices it found and which it uses."""
    reports = []
    for name in frameworks:
        if name == "torch":
            import torch

            seen = ["cpu"]
            if torch.accelerator.is_available():
                kind = torch.accelerator.current_accelerator().type
                seen += [f"{kind}:{i}" for i in range(torch.accelerator.device_count())]
            reports.append(DeviceReport("torch", str(torch_device()), tuple(seen)))
        elif name == "tensorflow":
            import tensorflow as tf

            seen = [_tf_name(d.name) for d in tf.config.list_physical_devices()]
            reports.append(DeviceReport("tensorflow", tf_device(), tuple(seen)))
        elif name == "jax":
            import jax

            seen = [str(d) for d in jax.devices()]
            reports.append(DeviceReport("jax", str(jax_device()), tuple(seen)))
        else:
            raise ValueError(f"unknown framework {name!r}: use torch, tensorflow or jax")
    return reports
