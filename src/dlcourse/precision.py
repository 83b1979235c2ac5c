"""What this computer's processor offers for 16-bit floats, and how fast its matmuls run.

Taught in lesson 06 (``notebooks/06_scaling.ipynb``, "Mixed precision"): whether
bfloat16 makes a CPU faster depends on instructions the processor may or may not
have, so the lesson reads them (:func:`cpu_features`) and measures matrix products
in each dtype (:func:`matmul_speeds`) instead of asserting either way.

Where the flags come from:

- **Linux**: ``/proc/cpuinfo`` (``flags`` on x86, ``Features`` on ARM);
- **macOS**: ``sysctl`` (``hw.optional.arm.FEAT_BF16`` and ``FEAT_FP16`` on Apple
  silicon: M2 and later have BF16);
- **Windows**: the standard library can name the processor
  (``platform.processor()``) but not list its instruction sets, so no flags are
  reported there; the measurement still tells.

PyTorch's own view is added on every system: the vector instruction set its CPU
kernels were chosen for (``torch.backends.cpu.get_cpu_capability()``).
"""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

#: Processor flags that matter for 16-bit floats, and what each one is.
FLAGS = {
    "avx512_bf16": "AVX-512 BF16: bfloat16 dot products in vector registers",
    "amx_bf16": "AMX: bfloat16 matrix tiles (Intel Xeon since Sapphire Rapids)",
    "amx_tile": "AMX tile registers",
    "avx512_fp16": "AVX-512 FP16: float16 arithmetic in vector registers",
    "avx512_vnni": "AVX-512 VNNI: int8 dot products",
    "bf16": "ARM BF16: bfloat16 dot products",
    "asimdhp": "ARM half-precision (float16) vector arithmetic",
    "FEAT_BF16": "ARM BF16: bfloat16 dot products (Apple M2 and later)",
    "FEAT_FP16": "ARM half-precision (float16) arithmetic",
}

#: Flags whose presence means the CPU multiplies bfloat16 natively.
BF16_MATMUL = {"avx512_bf16", "amx_bf16", "bf16", "FEAT_BF16"}


def _linux() -> tuple[str, set[str]]:
    name, flags = "", set()
    text = Path("/proc/cpuinfo").read_text(errors="replace")
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key in ("model name", "hardware", "cpu model") and not name:
            name = value.strip()
        elif key in ("flags", "features"):
            flags |= set(value.split())
    return name, flags


def _sysctl(key: str) -> str:
    done = subprocess.run(["sysctl", "-n", key], capture_output=True, text=True, timeout=5)
    return done.stdout.strip() if done.returncode == 0 else ""


def _macos() -> tuple[str, set[str]]:
    flags = {feature for feature in ("FEAT_BF16", "FEAT_FP16")
             if _sysctl(f"hw.optional.arm.{feature}") == "1"}
    intel = (_sysctl("machdep.cpu.leaf7_features") + " " + _sysctl("machdep.cpu.features"))
    flags |= {f.lower() for f in intel.split() if f.lower() in FLAGS}
    return _sysctl("machdep.cpu.brand_string"), flags


def cpu_features() -> dict:
    """This CPU's name and the 16-bit float flags found, with where they were read.

    Keys: ``system``, ``machine``, ``processor``, ``source`` (where the flags come
    from, or ``None`` where they cannot be read), ``flags`` (the :data:`FLAGS`
    found, sorted), ``bf16_matmul`` (whether one of :data:`BF16_MATMUL` is there;
    ``None`` when unknown) and ``torch_capability``.
    """
    system = platform.system()
    name, flags, source = platform.processor(), set(), None
    try:
        if system == "Linux":
            name, flags = _linux()
            source = "/proc/cpuinfo"
        elif system == "Darwin":
            name, flags = _macos()
            source = "sysctl"
    except (OSError, subprocess.SubprocessError):
        source = None
    found = sorted(flag for flag in flags if flag in FLAGS)
    try:
        import torch

        capability = torch.backends.cpu.get_cpu_capability()
    except (ImportError, AttributeError):
        capability = None
    return {"system": system, "machine": platform.machine(), "processor": name or "unknown",
            "source": source, "flags": found,
            "bf16_matmul": bool(set(found) & BF16_MATMUL) if source else None,
            "torch_capability": capability}


def describe(features: dict) -> str:
    """:func:`cpu_features` as sentences."""
    lines = [f"{features['processor']} ({features['system']}, {features['machine']}); "
             f"PyTorch's CPU kernels use {features['torch_capability']}"]
    if features["source"] is None:
        lines.append("this system does not let Python's standard library list the "
                     "processor's instruction sets: the measurement below has to tell")
    elif features["flags"]:
        lines += [f"{flag}: {FLAGS[flag]}" for flag in features["flags"]]
    else:
        lines.append(f"none of the 16-bit float flags appear in {features['source']}")
    return "\n".join(lines)


def matmul_speeds(dtypes=("float32", "bfloat16", "float16"), n: int = 384, rounds: int = 3,
                  min_time: float = 0.02, seed: int = 0) -> dict[str, float]:
    """GFLOP/s of an ``n x n`` PyTorch matrix product on the CPU, per dtype.

    Each product is timed in CPU seconds (:func:`dlcourse.cputime.cpu_seconds`: the
    time the process computed, not the time it waited for a core), the dtypes taking
    turns ``rounds`` times; each dtype keeps its fastest product. Run it with
    PyTorch on one thread (``torch.set_num_threads(1)``): with several, CPU seconds
    add up the threads' times.
    """
    import torch

    from .cputime import cpu_seconds

    generator = torch.Generator().manual_seed(seed)
    a32 = torch.randn(n, n, generator=generator)
    b32 = torch.randn(n, n, generator=generator)
    pairs = {name: (a32.to(getattr(torch, name)), b32.to(getattr(torch, name)))
             for name in dtypes}
    best = dict.fromkeys(dtypes, float("inf"))
    for _ in range(rounds):
        for name, (a, b) in pairs.items():
            seconds = cpu_seconds(lambda a=a, b=b: a @ b, min_calls=1, min_time=min_time)
            best[name] = min(best[name], seconds)
    return {name: 2 * n**3 / seconds / 1e9 for name, seconds in best.items()}
