"""Pick the best available device for PyTorch, TensorFlow and JAX.

Taught in lesson 01 (``notebooks/01_frameworks.ipynb``, "Devices"), where the
same selection is written out in the open for each framework. Every function
falls back to the CPU, so a lesson that calls them runs anywhere.

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
    """Return the best ``torch.device``: CUDA (or ROCm), then Apple's MPS, then CPU."""
    import torch

    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def tf_device() -> str:
    """Return the TensorFlow device name to use in ``tf.device(...)``.

    TensorFlow places operations on a GPU by itself when it sees one; the
    name is still useful to place work explicitly, and to report it.
    """
    import tensorflow as tf

    for kind in ("TPU", "GPU"):
        if tf.config.list_logical_devices(kind):
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
            seen += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
            mps = getattr(torch.backends, "mps", None)
            if mps is not None and mps.is_available():
                seen.append("mps")
            reports.append(DeviceReport("torch", str(torch_device()), tuple(seen)))
        elif name == "tensorflow":
            import tensorflow as tf

            # logical devices are named "/device:CPU:0"; tf.device() takes "/CPU:0" too
            seen = [d.name.replace("/device:", "/") for d in tf.config.list_logical_devices()]
            reports.append(DeviceReport("tensorflow", tf_device(), tuple(seen)))
        elif name == "jax":
            import jax

            seen = [str(d) for d in jax.devices()]
            reports.append(DeviceReport("jax", str(jax_device()), tuple(seen)))
        else:
            raise ValueError(f"unknown framework {name!r}: use torch, tensorflow or jax")
    return reports
