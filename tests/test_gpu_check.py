"""benchmarks/gpu_check.py: a row per framework, and the right exit status.

On a machine without a GPU (CI's, and this test asks for no other) the check prints its
table with every framework on the CPU, then "no GPU", and exits 0. What it would decide
where a GPU is present is checked on the same rows, through its verdict function.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from .conftest import REPO

SCRIPT = REPO / "benchmarks" / "gpu_check.py"
_spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
gpu_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_check)

TITLES = ("PyTorch", "TensorFlow/Keras", "JAX", "ONNX Runtime")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    if gpu_check.nvidia_gpus():
        pytest.skip("a GPU is here: this test checks the path without one")
    out = tmp_path_factory.mktemp("gpu_check") / "rows.json"
    env = {k: v for k, v in os.environ.items() if k != "CUDA_VISIBLE_DEVICES"}
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    return done, json.loads(out.read_text()) if out.exists() else None


def test_no_gpu_prints_the_table_and_exits_0(run):
    done, result = run
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[-1] == "no GPU"
    header = lines[0].split()
    for column in ("framework", "version", "build", "tensor", "step", "CPU", "verdict"):
        assert column in header
    rows = [line for line in lines[2:-1] if line.strip()]
    assert [next(t for t in TITLES if row.startswith(t)) for row in rows] == list(TITLES)
    assert result["gpu_present"] is False


@pytest.mark.parametrize("framework", gpu_check.FRAMEWORKS)
def test_each_framework_ran_a_tensor_and_a_step_on_the_cpu(run, framework):
    _, result = run
    row = next(r for r in result["rows"] if r["framework"] == framework)
    assert "error" not in row, row
    assert row["verdict"] == "cpu"
    assert "cpu" in row["tensor"].lower() and "cpu" in row["step"].lower(), row
    assert row["cpu_s"] > 0 and row["accel_s"] is None
    assert row["version"] and row["seen"]


def test_where_a_gpu_is_present_a_framework_on_the_cpu_fails(run):
    """The same rows, judged as if nvidia-smi had listed a GPU: PyTorch's CUDA build, JAX and
    ONNX Runtime on the CPU fail; TensorFlow without its CUDA 12 runtime is excused, in
    words, unless --strict."""
    _, result = run
    verdicts = {row["framework"]: gpu_check.verdict(row, gpu_present=True)
                for row in result["rows"]}
    assert verdicts["torch"].startswith("FAIL")
    assert verdicts["jax"].startswith("FAIL") and "cuda extra" in verdicts["jax"]
    assert verdicts["onnxruntime"].startswith("FAIL")
    tf_row = next(r for r in result["rows"] if r["framework"] == "tensorflow")
    if tf_row.get("excused"):
        assert verdicts["tensorflow"] == "cpu, excused" and "CUDA 12" in tf_row["note"]
        assert gpu_check.verdict(tf_row, gpu_present=True, strict=True).startswith("FAIL")
    else:
        assert verdicts["tensorflow"].startswith("FAIL")


def test_a_framework_on_the_gpu_passes_and_a_broken_one_is_an_error():
    on_gpu = {"tensor": "cuda:0", "step": "cuda:0", "gpu_build": True}
    assert gpu_check.verdict(on_gpu, gpu_present=True) == "gpu"
    assert gpu_check.verdict({"tensor": "GPU:0", "step": "GPU:0"}, True) == "gpu"
    assert gpu_check.verdict({"error": "No module named 'jax'"}, False).startswith("ERROR")
