"""The package, tests, benchmarks and website builder pass ruff (rules in pyproject.toml)."""

import subprocess
import sys
from pathlib import Path

from .conftest import REPO


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run([str(ruff), "check", "src", "tests", "benchmarks", "website"], cwd=REPO,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
