"""dlcourse.precision: the processor's 16-bit float flags, read portably, and matmul speeds."""

from __future__ import annotations

import platform

import pytest

from dlcourse import precision


def test_cpu_features_reports_what_it_can_read():
    features = precision.cpu_features()
    assert features["system"] == platform.system()
    assert set(features["flags"]) <= set(precision.FLAGS)
    if platform.system() in ("Linux", "Darwin"):
        assert features["source"] is not None
        assert features["bf16_matmul"] == bool(set(features["flags"]) & precision.BF16_MATMUL)
    else:
        assert features["source"] is None and features["bf16_matmul"] is None
    assert features["processor"] in precision.describe(features)


@pytest.mark.skipif(platform.system() != "Linux", reason="reads /proc/cpuinfo")
def test_linux_flags_are_those_of_proc_cpuinfo():
    with open("/proc/cpuinfo") as info:
        words = set(info.read().split())
    features = precision.cpu_features()
    assert set(features["flags"]) == {flag for flag in precision.FLAGS if flag in words}


def test_describe_says_when_nothing_can_be_read():
    unknown = {"system": "Windows", "machine": "AMD64", "processor": "x", "source": None,
               "flags": [], "bf16_matmul": None, "torch_capability": "AVX2"}
    assert "measurement" in precision.describe(unknown)
    linux = {**unknown, "system": "Linux", "source": "/proc/cpuinfo"}
    assert "none of the 16-bit float flags" in precision.describe(linux)


def test_matmul_speeds_are_positive_for_each_dtype():
    speeds = precision.matmul_speeds(("float32", "bfloat16"), n=64, rounds=1, min_time=0.01)
    assert list(speeds) == ["float32", "bfloat16"]
    assert all(value > 0 for value in speeds.values())
