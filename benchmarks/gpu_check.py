"""Does each framework take the GPU? One row per framework: PyTorch, TensorFlow/Keras, JAX
and ONNX Runtime.

    .venv/bin/python benchmarks/gpu_check.py            # a few minutes at most
    .venv/bin/python benchmarks/gpu_check.py --quick    # fewer timed steps (the test's)

For each framework, in a process of its own (no framework's GPU memory or threads in
another's way): the devices it sees through its current API (``torch.accelerator``,
``tf.config.list_physical_devices``, ``jax.devices()``, ONNX Runtime's execution providers),
where a tensor it makes lives, where one training step (PyTorch, Keras on TensorFlow, JAX)
or one inference (ONNX Runtime) runs, and that step's median time on the accelerator
against the same step on the CPU.

Exit status: 0 when every framework ran where it should; 1 when an NVIDIA GPU is present
(``nvidia-smi -L`` lists one, or PyTorch sees CUDA) and a framework silently stays on the
CPU; 2 when a framework could not run at all. On a machine with no GPU it prints "no GPU"
and exits 0. TensorFlow is excused, and says so in its row, when its build's CUDA runtime
is not installed: TensorFlow 2.20 and 2.21 are built for CUDA 12, the ``cuda`` extra
brings CUDA 13 (PyTorch's), and the two cannot share one environment (README, "Set-up").
``--strict`` withdraws that excuse.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

FRAMEWORKS = ("torch", "tensorflow", "jax", "onnxruntime")
TITLES = {"torch": "PyTorch", "tensorflow": "TensorFlow/Keras", "jax": "JAX",
          "onnxruntime": "ONNX Runtime"}
#: One step's model: a batch of 256 through 784 -> 1024 -> 1024 -> 10 (a few GFLOP with
#: its backward pass: tens of milliseconds on a laptop's CPU, well under one on a GPU).
BATCH, SIZES = 256, (784, 1024, 1024, 10)
PROBE_TIMEOUT_S = 240
#: Each framework's own process: quiet, no framework taking all of the GPU's memory.
PROBE_ENV = {"KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "2",
             "TF_FORCE_GPU_ALLOW_GROWTH": "true", "XLA_PYTHON_CLIENT_PREALLOCATE": "false"}


# --- timing -------------------------------------------------------------------------------

def median_seconds(step, sync, warmup: int, steps: int) -> float:
    for _ in range(warmup):
        step()
    sync()
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        step()
        sync()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def batch_data(seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype("float32")
    y = rng.integers(0, SIZES[-1], BATCH)
    return x, y


# --- one probe per framework (each runs in its own process) --------------------------------

def probe_torch(warmup: int, steps: int) -> dict:
    import torch

    build = f"CUDA {torch.version.cuda}" if torch.version.cuda else (
        f"ROCm {torch.version.hip}" if getattr(torch.version, "hip", None) else "CPU")
    accelerator = (torch.accelerator.current_accelerator()
                   if torch.accelerator.is_available() else None)
    seen = ["cpu"]
    if accelerator is not None:
        count = torch.accelerator.device_count()
        name = torch.cuda.get_device_name(0) if accelerator.type == "cuda" else ""
        seen.append(f"{accelerator.type} x{count}" + (f" ({name})" if name else ""))
    device = torch.device(accelerator.type, 0) if accelerator is not None else torch.device("cpu")
    x_np, y_np = batch_data()

    def step_on(where: torch.device):
        torch.manual_seed(0)
        layers = []
        for n_in, n_out in zip(SIZES[:-1], SIZES[1:], strict=True):
            layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1]).to(where)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        x, y = torch.from_numpy(x_np).to(where), torch.from_numpy(y_np).to(where)
        out = {}

        def step():
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
            out["device"] = str(loss.device)

        def sync():
            if where.type != "cpu":
                torch.accelerator.synchronize()

        return step, sync, out

    tensor = torch.ones(2, device=device)
    step, sync, out = step_on(device)
    step()
    accel_s = median_seconds(step, sync, warmup, steps) if device.type != "cpu" else None
    step_device = out.get("device", "cpu")
    cpu_step, cpu_sync, _ = step_on(torch.device("cpu"))
    cpu_s = median_seconds(cpu_step, cpu_sync, warmup, steps)
    return {"version": torch.__version__, "build": build, "seen": seen,
            "tensor": str(tensor.device), "step": step_device,
            "accel_s": accel_s, "cpu_s": cpu_s, "gpu_build": torch.version.cuda is not None,
            "note": ""}


def cuda_runtime_found(major: str) -> bool:
    """Whether libcudart.so.<major> can be loaded: from the system's loader path, or from
    the NVIDIA wheels (site-packages/nvidia/...), where TensorFlow also looks."""
    import ctypes

    try:
        ctypes.CDLL(f"libcudart.so.{major}")
        return True
    except OSError:
        pass
    for entry in sys.path:
        if glob.glob(os.path.join(entry, "nvidia", "*", "lib", f"libcudart.so.{major}*")):
            return True
    return False


def probe_tensorflow(warmup: int, steps: int) -> dict:
    import keras
    import tensorflow as tf

    info = dict(tf.sysconfig.get_build_info())
    cuda = info.get("cuda_version") if info.get("is_cuda_build") else None
    build = f"CUDA {cuda}" if cuda else "CPU"
    gpus = tf.config.list_physical_devices("GPU")
    seen = ["CPU"] + ([f"GPU x{len(gpus)}"] if gpus else [])
    device = "/GPU:0" if gpus else "/CPU:0"
    x_np, y_np = batch_data()

    def step_on(where: str):
        with tf.device(where):
            keras.utils.set_random_seed(0)
            model = keras.Sequential([keras.Input((SIZES[0],))]
                                     + [keras.layers.Dense(n, activation="relu")
                                        for n in SIZES[1:-1]]
                                     + [keras.layers.Dense(SIZES[-1])])
            optimizer = keras.optimizers.SGD(0.01)
            loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
            x, y = tf.constant(x_np), tf.constant(y_np)
        out = {}

        @tf.function
        def train(x, y):
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        def step():
            with tf.device(where):
                loss = train(x, y)
            out["device"] = loss.device

        def sync():
            _ = float(model.trainable_variables[0][0, 0])  # waits for the step

        return step, sync, out

    with tf.device(device):
        tensor = tf.ones(2)
    step, sync, out = step_on(device)
    step()
    accel_s = median_seconds(step, sync, warmup, steps) if gpus else None
    cpu_step, cpu_sync, _ = step_on("/CPU:0")
    cpu_s = median_seconds(cpu_step, cpu_sync, warmup, steps)
    note, excused = "", False
    if cuda and not gpus and not cuda_runtime_found(cuda.split(".")[0]):
        excused = True
        note = (f"built for CUDA {cuda}: no libcudart.so.{cuda.split('.')[0]} here "
                "(the cuda extra brings CUDA 13)")
    return {"version": f"{tf.__version__} (Keras {keras.__version__})", "build": build,
            "seen": seen, "tensor": short_tf_device(tensor.device),
            "step": short_tf_device(out.get("device", "")), "accel_s": accel_s, "cpu_s": cpu_s,
            "gpu_build": bool(cuda), "excused": excused, "note": note}


def short_tf_device(name: str) -> str:
    """'/job:localhost/replica:0/task:0/device:GPU:0' -> 'GPU:0'."""
    return name.rsplit("device:", 1)[-1] if name else "?"


def probe_jax(warmup: int, steps: int) -> dict:
    import jax
    import jax.numpy as jnp

    devices = jax.devices()
    backend = jax.default_backend()
    seen = ["cpu"] if backend == "cpu" else ["cpu", f"{backend} x{len(devices)} "
                                                    f"({devices[0].device_kind})"]
    plugins = jax_cuda_plugins()
    build = ", ".join(plugins) if plugins else "CPU (no CUDA plugin)"
    x_np, y_np = batch_data()

    def init(key):
        params = []
        for n_in, n_out in zip(SIZES[:-1], SIZES[1:], strict=True):
            key, sub = jax.random.split(key)
            params.append((jax.random.normal(sub, (n_in, n_out)) * (2 / n_in) ** 0.5,
                           jnp.zeros(n_out)))
        return params

    def loss_fn(params, x, y):
        for w, b in params[:-1]:
            x = jax.nn.relu(x @ w + b)
        w, b = params[-1]
        logits = x @ w + b
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], 1))

    @jax.jit
    def train(params, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        return [(w - 0.01 * gw, b - 0.01 * gb)
                for (w, b), (gw, gb) in zip(params, grads, strict=True)], loss

    def step_on(device):
        state = {"params": jax.device_put(init(jax.random.key(0)), device)}
        x, y = jax.device_put(x_np, device), jax.device_put(y_np, device)
        out = {}

        def step():
            state["params"], loss = train(state["params"], x, y)
            out["device"] = jax_name(next(iter(loss.devices())))

        def sync():
            jax.block_until_ready(state["params"])

        return step, sync, out

    tensor = jnp.ones(2)
    step, sync, out = step_on(devices[0])
    step()
    accel_s = median_seconds(step, sync, warmup, steps) if backend != "cpu" else None
    cpu_step, cpu_sync, _ = step_on(jax.devices("cpu")[0])
    cpu_s = median_seconds(cpu_step, cpu_sync, warmup, steps)
    return {"version": jax.__version__, "build": build, "seen": seen,
            "tensor": jax_name(next(iter(tensor.devices()))), "step": out.get("device", "?"),
            "accel_s": accel_s, "cpu_s": cpu_s, "gpu_build": bool(plugins), "note": ""}


def jax_name(device) -> str:
    """'gpu:0', 'cpu:0', 'tpu:0' (str() of a device differs between JAX versions)."""
    return f"{device.platform}:{device.id}"


def jax_cuda_plugins() -> list[str]:
    """JAX's CUDA plugins installed here ('jax-cuda13-plugin 0.10.2'): the cuda extra's."""
    from importlib.metadata import distributions

    found = set()
    for dist in distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if name.startswith("jax-cuda") and name.endswith("plugin"):
            found.add(f"{name} {dist.version}")
    return sorted(found)


def onnx_model() -> bytes:
    """The step's network (inference only) as an ONNX graph, made with onnx.helper."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    nodes, inits, name = [], [], "x"
    for i, (n_in, n_out) in enumerate(zip(SIZES[:-1], SIZES[1:], strict=True)):
        w = (rng.standard_normal((n_in, n_out)) * (2 / n_in) ** 0.5).astype("float32")
        inits += [numpy_helper.from_array(w, f"w{i}"),
                  numpy_helper.from_array(np.zeros(n_out, "float32"), f"b{i}")]
        nodes += [helper.make_node("MatMul", [name, f"w{i}"], [f"m{i}"]),
                  helper.make_node("Add", [f"m{i}", f"b{i}"], [f"a{i}"])]
        name = f"a{i}"
        if i < len(SIZES) - 2:
            nodes.append(helper.make_node("Relu", [name], [f"r{i}"]))
            name = f"r{i}"
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, SIZES[0]])],
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, [None, SIZES[-1]])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what every ONNX Runtime the course allows reads
    onnx.checker.check_model(model)
    return model.SerializeToString()


def probe_onnxruntime(warmup: int, steps: int) -> dict:
    import onnxruntime as ort

    available = ort.get_available_providers()
    gpu_build = "CUDAExecutionProvider" in available
    if gpu_build and hasattr(ort, "preload_dlls"):
        # onnxruntime-gpu finds the CUDA and cuDNN of the NVIDIA wheels (the cuda extra)
        # once they are loaded; importing torch first does the same.
        ort.preload_dlls()
    model = onnx_model()
    x_np, _ = batch_data()
    options = ort.SessionOptions()
    options.log_severity_level = 3

    def session(providers):
        return ort.InferenceSession(model, options, providers=providers)

    accel = session(["CUDAExecutionProvider", "CPUExecutionProvider"]) if gpu_build else None
    used = accel.get_providers()[0] if accel is not None else "CPUExecutionProvider"
    on_gpu = used == "CUDAExecutionProvider"
    tensor = ort.OrtValue.ortvalue_from_numpy(x_np, "cuda" if on_gpu else "cpu", 0)

    def step_with(sess):
        return lambda: sess.run(None, {"x": x_np}), lambda: None

    accel_s = median_seconds(*step_with(accel), warmup, steps) if on_gpu else None
    cpu_s = median_seconds(*step_with(session(["CPUExecutionProvider"])), warmup, steps)
    return {"version": ort.__version__, "build": "GPU (CUDA)" if gpu_build else "CPU",
            "seen": [p.removesuffix("ExecutionProvider") for p in available],
            "tensor": tensor.device_name(), "step": used.removesuffix("ExecutionProvider"),
            "accel_s": accel_s, "cpu_s": cpu_s, "gpu_build": gpu_build, "note": ""}


PROBES = {"torch": probe_torch, "tensorflow": probe_tensorflow, "jax": probe_jax,
          "onnxruntime": probe_onnxruntime}


# --- the check -------------------------------------------------------------------------------

def nvidia_gpus() -> list[str]:
    """The NVIDIA GPUs `nvidia-smi -L` lists (none where it is missing or fails)."""
    if not shutil.which("nvidia-smi"):
        return []
    try:
        done = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line for line in done.stdout.splitlines() if line.startswith("GPU ")] \
        if done.returncode == 0 else []


def run_probe(framework: str, quick: bool) -> dict:
    command = [sys.executable, __file__, "--probe", framework] + (["--quick"] if quick else [])
    started = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S,
                              env={**os.environ, **PROBE_ENV})
    except subprocess.TimeoutExpired:
        return {"framework": framework, "error": f"no answer in {PROBE_TIMEOUT_S} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        tail = (done.stderr.strip().splitlines() or ["exited " + str(done.returncode)])[-1]
        return {"framework": framework, "error": tail[:200]}
    row = json.loads(lines[-1])
    row.update(framework=framework, wall_s=round(time.perf_counter() - started, 1))
    return row


def on_accelerator(row: dict) -> bool:
    return any(mark in f"{row.get('tensor', '')} {row.get('step', '')}".lower()
               for mark in ("cuda", "gpu", "mps", "tpu", "rocm"))


def verdict(row: dict, gpu_present: bool, strict: bool = False) -> str:
    """'gpu', 'cpu' (no GPU here), 'cpu, excused', 'FAIL: ...' or 'ERROR: ...'."""
    if "error" in row:
        return f"ERROR: {row['error']}"
    if on_accelerator(row):
        return "gpu"
    if not gpu_present:
        return "cpu"
    if row.get("excused") and not strict:
        return "cpu, excused"
    if not row.get("gpu_build"):
        return "FAIL: a CPU-only build on a GPU machine (install the cuda extra)"
    return "FAIL: a GPU build that stays on the CPU"


def milliseconds(seconds) -> str:
    return "-" if seconds is None else f"{seconds * 1e3:.1f}"


def table(rows: list[dict], verdicts: list[str]) -> str:
    header = ("framework", "version", "build", "devices seen", "tensor on", "step on",
              "accel ms", "CPU ms", "speed-up", "verdict")
    lines = []
    for row, result in zip(rows, verdicts, strict=True):
        accel, cpu = row.get("accel_s"), row.get("cpu_s")
        speedup = f"{cpu / accel:.1f}x" if accel and cpu else "-"
        lines.append((TITLES[row["framework"]], row.get("version", "?"), row.get("build", "?"),
                      ", ".join(row.get("seen", [])) or "?", row.get("tensor", "?"),
                      row.get("step", "?"), milliseconds(accel), milliseconds(cpu), speedup,
                      result + (f" ({row['note']})" if row.get("note") else "")))
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]

    def fmt(line):
        return "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True))

    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS),
                        help="comma-separated, of: " + ", ".join(FRAMEWORKS))
    parser.add_argument("--quick", action="store_true", help="1 warm-up step and 3 timed")
    parser.add_argument("--strict", action="store_true",
                        help="TensorFlow on the CPU fails even without its CUDA runtime")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    parser.add_argument("--probe", choices=FRAMEWORKS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    warmup, steps = (1, 3) if args.quick else (3, 20)
    if args.probe:
        print(json.dumps(PROBES[args.probe](warmup, steps)))
        return 0

    frameworks = [f for f in args.frameworks.split(",") if f]
    unknown = set(frameworks) - set(FRAMEWORKS)
    if unknown:
        parser.error(f"unknown framework(s): {', '.join(sorted(unknown))}")
    gpus = nvidia_gpus()
    rows = [run_probe(framework, args.quick) for framework in frameworks]
    torch_row = next((r for r in rows if r["framework"] == "torch" and "error" not in r), None)
    gpu_present = bool(gpus) or bool(torch_row and "cuda" in " ".join(torch_row["seen"]))
    verdicts = [verdict(row, gpu_present, args.strict) for row in rows]
    print(table(rows, verdicts))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"gpus": gpus, "gpu_present": gpu_present,
             "rows": [{**row, "verdict": v} for row, v in zip(rows, verdicts, strict=True)]},
            indent=1))
    if any(v.startswith("ERROR") for v in verdicts):
        print("a framework could not run: see its row")
        return 2
    if not gpu_present:
        print("no GPU")
        return 0
    print("GPU: " + "; ".join(gpus or ["seen by PyTorch"]))
    failed = [TITLES[row["framework"]] for row, v in zip(rows, verdicts, strict=True)
              if v.startswith("FAIL")]
    if failed:
        print(f"on the CPU though a GPU is here: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
