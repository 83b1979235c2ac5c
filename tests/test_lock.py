"""The lock: fresh against pyproject.toml, exported unchanged to requirements.txt, installable
from wheels on every platform and Python students use, and the second environment at the
lower bounds, which are Colab's versions.

uv comes with the dev extra (``make env``). The checks of freshness and of the lower bounds
run offline; resolving for each platform asks the package index (with uv's cache, a few
seconds each), as does remaking constraints/oldest.txt at its recorded date.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement

from .conftest import REPO

_spec = importlib.util.spec_from_file_location("dlcourse_lock", REPO / "constraints" / "lock.py")
lock = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lock)

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]

#: The machines students and CI use: uv's target, and the markers pip evaluates there.
PLATFORMS = {
    "linux-x86_64": ("x86_64-manylinux_2_28",
                     {"sys_platform": "linux", "platform_machine": "x86_64",
                      "platform_system": "Linux", "os_name": "posix"}),
    "linux-aarch64": ("aarch64-manylinux_2_28",
                      {"sys_platform": "linux", "platform_machine": "aarch64",
                       "platform_system": "Linux", "os_name": "posix"}),
    "macos-arm64": ("aarch64-apple-darwin",
                    {"sys_platform": "darwin", "platform_machine": "arm64",
                     "platform_system": "Darwin", "os_name": "posix"}),
    "windows-x86_64": ("x86_64-pc-windows-msvc",
                       {"sys_platform": "win32", "platform_machine": "AMD64",
                        "platform_system": "Windows", "os_name": "nt"}),
}
#: The GPU builds ask more of Linux on Arm: ONNX Runtime's aarch64 GPU wheel needs glibc 2.34
#: (Ubuntu 22.04 or later), where its x86_64 one needs 2.28 like everything else.
CUDA_TARGETS = {"linux-x86_64": "x86_64-manylinux_2_28", "linux-aarch64": "aarch64-manylinux_2_34"}
#: The oldest patch release each minor version must install on (3.11.5: soupsieve 4).
PYTHONS = ("3.11.5", "3.12.0", "3.13.0")
#: Colab's packages the course installs, whose lower bounds Colab must satisfy.
ON_COLAB = ("dependencies", "lessons", "notebooks")


def uv_env() -> dict[str, str]:
    # macOS 14 is the oldest the course supports (PyTorch's wheels need it); uv assumes 13.
    return {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_NO_PROGRESS": "1",
            "MACOSX_DEPLOYMENT_TARGET": "14.0"}


def run_uv(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([lock.uv(), *args], cwd=REPO, env=uv_env(), capture_output=True,
                          text=True, timeout=600)


def norm(name: str) -> str:
    return lock.norm(name)


def requirements(group: str) -> list[Requirement]:
    listed = PROJECT["dependencies"] if group == "dependencies" \
        else PROJECT["optional-dependencies"][group]
    return [Requirement(text) for text in listed]


def lower_bound(requirement: Requirement) -> str | None:
    bounds = [spec.version for spec in requirement.specifier if spec.operator == ">="]
    return bounds[0] if bounds else None


def marker_env(platform: str, python: str) -> dict[str, str]:
    return {**PLATFORMS[platform][1], "python_version": python.rsplit(".", 1)[0],
            "python_full_version": python, "implementation_name": "cpython",
            "platform_python_implementation": "CPython"}


def applicable(text: str, env: dict[str, str]) -> dict[str, str]:
    """name -> version of a requirements file's pins whose markers hold in `env`."""
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)\s*(?:;\s*([^\\]+?))?\s*\\?$", line)
        if match and (match[3] is None or Marker(match[3]).evaluate(env)):
            pins[norm(match[1])] = match[2]
    return pins


# --- the lock and what is exported from it ------------------------------------------------

def test_lock_is_fresh_against_pyproject():
    done = run_uv("lock", "--check", "--offline")
    if done.returncode:
        online = run_uv("lock", "--check")  # says why in words (offline it can only fail)
        assert online.returncode == 0, (
            "uv.lock is stale against pyproject.toml: run `make lock`\n" + online.stderr)


def test_requirements_txt_is_the_lock_exported():
    assert (REPO / "requirements.txt").read_text() == lock.requirements_text(), \
        "requirements.txt differs from uv.lock's export: run `make lock`, never edit it"


def test_environment_yml_installs_requirements_txt():
    text = (REPO / "environment.yml").read_text()
    assert "- -r requirements.txt" in text
    python = re.search(r"^\s*- python\s*([^\s#]+)", text, re.M)[1]
    assert python == PROJECT["requires-python"].replace(" ", "")


def test_every_platform_is_required_in_the_lock():
    """A package without a wheel for one of these machines fails `uv lock` (never a silent
    build from source), for every Python the project supports."""
    uv_settings = PYPROJECT["tool"]["uv"]
    required = uv_settings["required-environments"]
    assert required == uv_settings["environments"]
    for platform, (_, env) in PLATFORMS.items():
        assert sum(Marker(m).evaluate({**marker_env(platform, "3.13.0"), **env})
                   for m in required) == 1, platform
    assert PROJECT["requires-python"] == ">=3.11.5,<3.14"


def resolve(platform: str, python: str, requirements_file: Path) -> tuple[int, str, str]:
    target = (CUDA_TARGETS if "cuda" in requirements_file.name else dict(
        (name, target) for name, (target, _) in PLATFORMS.items()))[platform]
    done = run_uv("pip", "compile", str(requirements_file), "--python-platform", target,
                  "--python-version", python, "--only-binary", ":all:", "--no-header",
                  "--no-annotate", "--quiet")
    return done.returncode, done.stdout, done.stderr


@pytest.fixture(scope="module")
def cuda_requirements(tmp_path_factory) -> Path:
    """The GPU set (cuda instead of lessons), exported from the lock like requirements.txt."""
    extras = [arg for extra in ("cuda", *[e for e in lock.EXTRAS if e != "lessons"])
              for arg in ("--extra", extra)]
    done = run_uv("export", "--frozen", "--no-emit-project", "--no-header", *extras,
                  "--offline")
    assert done.returncode == 0, done.stderr
    path = tmp_path_factory.mktemp("cuda") / "requirements-cuda.txt"
    path.write_text(done.stdout)
    return path


CASES = [(platform, python) for platform in PLATFORMS for python in PYTHONS]


@pytest.fixture(scope="module")
def resolutions(cuda_requirements) -> dict:
    """Every platform x Python, resolved from wheels only, in parallel (the index answers)."""
    jobs = [(p, v, REPO / "requirements.txt") for p, v in CASES] + \
           [(p, v, cuda_requirements) for p, v in CASES if p.startswith("linux")]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = pool.map(lambda job: (job, resolve(*job)), jobs)
        return {(p, v, f.name): result for (p, v, f), result in results}


@pytest.mark.parametrize("platform,python", CASES, ids=[f"{p}-py{v}" for p, v in CASES])
def test_requirements_install_from_wheels_on(resolutions, platform, python):
    """pip install -r requirements.txt on this machine: every pin that applies there has a
    wheel for it, and nothing else is needed."""
    code, out, err = resolutions[(platform, python, "requirements.txt")]
    assert code == 0, err
    expected = applicable((REPO / "requirements.txt").read_text(), marker_env(platform, python))
    assert applicable(out, {}) == expected


@pytest.mark.parametrize("platform,python", [c for c in CASES if c[0].startswith("linux")],
                         ids=[f"{p}-py{v}" for p, v in CASES if p.startswith("linux")])
def test_cuda_extra_installs_from_wheels_on(resolutions, cuda_requirements, platform, python):
    code, out, err = resolutions[(platform, python, cuda_requirements.name)]
    assert code == 0, err
    resolved = applicable(out, {})
    assert "onnxruntime-gpu" in resolved and "onnxruntime" not in resolved
    assert any(name.startswith("jax-cuda13-plugin") for name in resolved)
    cuda_libraries = {name for name in resolved if name.startswith("nvidia-")}
    assert not {name for name in cuda_libraries if name.endswith("-cu12")}, \
        "CUDA 12 libraries beside PyTorch's CUDA 13 ones"


def test_the_lock_keeps_the_cuda_and_cpu_onnx_runtimes_apart():
    assert {"extra": "lessons"} in PYPROJECT["tool"]["uv"]["conflicts"][0]
    assert {"extra": "cuda"} in PYPROJECT["tool"]["uv"]["conflicts"][0]
    text = (REPO / "requirements.txt").read_text()
    assert re.search(r"^onnxruntime==", text, re.M)
    assert not re.search(r"^onnxruntime-gpu==", text, re.M)


# --- the lower bounds: Colab's versions, and the second environment -------------------------

def test_lower_bounds_are_not_above_colab():
    from packaging.version import Version

    colab = lock.colab_versions()
    for group in ON_COLAB:
        for requirement in requirements(group):
            name = norm(requirement.name)
            if name == "dlcourse" or name not in colab:
                continue
            bound = lower_bound(requirement)
            assert bound is not None, f"{name} has no lower bound"
            assert Version(bound) <= Version(colab[name]), (name, bound, colab[name])


def test_colab_constraints_are_colabs_versions():
    colab = lock.colab_versions()
    pins = lock.pinned((REPO / "constraints" / "colab.txt").read_text())
    for name, version in pins.items():
        assert colab.get(name) == version, name
        assert not lock.excluded(name), name
    shared = {name for name in lock.locked_names() & set(colab) if not lock.excluded(name)}
    assert shared <= set(pins), sorted(shared - set(pins))


def test_oldest_environment_is_the_lower_bounds_and_colabs_versions():
    from packaging.version import Version

    oldest = lock.pinned(lock.OLDEST.read_text())
    env = marker_env("linux-x86_64", "3.13.0")
    bounds: dict[str, str] = {}  # the highest lower bound any of those groups sets
    for group in ("dependencies", *lock.OLDEST_EXTRAS, "notebooks"):
        for requirement in requirements(group):
            name = norm(requirement.name)
            if name == "dlcourse" or (requirement.marker and not requirement.marker.evaluate(
                    {**env, "extra": group})):
                continue
            bound = lower_bound(requirement)
            assert bound is not None, (group, name)
            if name not in bounds or Version(bound) > Version(bounds[name]):
                bounds[name] = bound
    assert {name: oldest.get(name) for name in bounds} == bounds
    colab = lock.pinned((REPO / "constraints" / "colab.txt").read_text())
    differ = {name: (version, colab[name]) for name, version in oldest.items()
              if name in colab and colab[name] != version}
    assert not differ, differ
    shared = {"torch": "2.11.0", "torchvision": "0.26.0", "tensorflow": "2.20.0",
              "jax": "0.7.2", "keras": "3.13.2", "numpy": "2.1.3", "scikit-learn": "1.6.1",
              "matplotlib": "3.10.0"}
    assert {name: oldest[name] for name in shared} == shared


def test_derived_files_are_remade_the_same():
    """constraints/oldest.txt (resolved again at its recorded date), colab.txt and
    requirements.txt are what `make lock` writes."""
    done = subprocess.run([sys.executable, str(REPO / "constraints" / "lock.py"), "--check"],
                          cwd=REPO, env=uv_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


# --- the set-up that CI and the README share ---------------------------------------------

def test_ci_runs_the_readmes_set_up_line_then_make_test():
    readme = (REPO / "README.md").read_text()
    line = re.search(r"^(apt-get update && apt-get install -y .+)$", readme, re.M)[1]
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert line in ci, "the README's Debian line, as root"
    assert ci[-1] == "make test"


def test_the_oldest_run_keeps_the_websites_lesson_copies():
    """make test-oldest blocks the plugin that writes build/executed/ by the name
    tests/conftest.py registers it under."""
    blocked = re.search(r"-p no:(\S+)", (REPO / "Makefile").read_text())[1]
    assert f'"{blocked}"' in (REPO / "tests" / "conftest.py").read_text()
