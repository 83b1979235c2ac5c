"""Open in Colab: every lesson and quiz carries the badge and the install cell, and the
install cell's logic, run where Colab's packages are, makes every lesson's imports work.

The install test needs Python 3.13 (Colab's) and uv: ``make test`` runs it in its second
environment (``.venv-oldest``), where both are. It builds a fresh virtual environment
holding Colab's versions of what the course shares with Colab (``constraints/colab.txt``),
then runs each lesson's install cell there with ``DLCOURSE_COURSE`` pointing at this
checkout (no GitHub here), and imports everything the lesson imports.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from dlcourse import colab

from .conftest import REPO

NOTEBOOKS = colab.notebooks(REPO)


def cell_tagged(notebook, tag: str):
    return next((cell for cell in notebook.cells if tag in cell.metadata.get("tags", [])), None)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_lesson_and_quiz_carries_the_current_badge_and_install_cell(path, tmp_path):
    relative = path.relative_to(REPO)
    course = tmp_path / "course"
    for folder in ("src", "constraints"):
        shutil.copytree(REPO / folder, course / folder)
    shutil.copy(REPO / "pyproject.toml", course)
    copy = course / relative
    copy.parent.mkdir(parents=True)
    shutil.copy(path, copy)
    changed = colab.stamp(course, copy)
    assert not changed, f"{relative} is stale: run `.venv/bin/python -m dlcourse.colab`"
    notebook = nbformat.read(path, as_version=4)
    badge, install = (cell_tagged(notebook, tag) for tag in (colab.BADGE_TAG, colab.INSTALL_TAG))
    assert notebook.cells[1] is badge and notebook.cells[2] is install
    target = colab.colab_url(colab.repository(REPO), colab.student_path(REPO, path))
    assert target in badge.source and (REPO / colab.student_path(REPO, path)).is_file()


def test_the_student_copies_carry_them_too():
    for path in NOTEBOOKS:
        student = nbformat.read(REPO / colab.student_path(REPO, path), as_version=4)
        assert cell_tagged(student, colab.INSTALL_TAG) is not None, colab.student_path(REPO, path)


def test_the_install_cell_does_nothing_off_colab():
    install = cell_tagged(nbformat.read(NOTEBOOKS[0], as_version=4), colab.INSTALL_TAG)
    env = {key: value for key, value in os.environ.items() if key != colab.LOCAL_COURSE}
    done = subprocess.run([sys.executable, "-c", install.source], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "", done.stderr


def colab_like_environment(folder: Path) -> Path:
    """A fresh environment with Colab's versions of what the course shares with Colab."""
    uv = shutil.which("uv") or str(Path(sys.executable).with_name("uv"))
    subprocess.run([uv, "venv", "--quiet", "--seed", "--python", sys._base_executable,
                    str(folder)], check=True, timeout=300)
    python = folder / "bin" / "python"
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), "-r",
                    str(REPO / "constraints" / "colab.txt")], check=True, timeout=1200)
    return python


@pytest.mark.skipif(sys.version_info[:2] != (3, 13),
                    reason="Colab's Python is 3.13: make test runs this in .venv-oldest")
def test_the_install_cell_brings_what_each_lesson_imports_beside_colabs_packages(tmp_path):
    python = colab_like_environment(tmp_path / "colab")
    frameworks = subprocess.run(
        [str(python), "-c", "import torch, tensorflow, jax; print(torch.__version__, "
         "tensorflow.__version__, jax.__version__)"], capture_output=True, text=True,
        check=True, timeout=300).stdout
    env = {**os.environ, colab.LOCAL_COURSE: str(REPO), "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    for lesson in sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(lesson, as_version=4)
        install = cell_tagged(notebook, colab.INSTALL_TAG)
        done = subprocess.run([str(python), "-c", install.source], env=env,
                              capture_output=True, text=True, timeout=1200)
        assert done.returncode == 0, f"{lesson.name}: {done.stderr[-3000:]}"
        modules = sorted(colab.imported_modules(REPO, notebook))
        importing = subprocess.run([str(python), "-c", "import " + ", ".join(modules)],
                                   capture_output=True, text=True, timeout=600)
        assert importing.returncode == 0, f"{lesson.name}: {importing.stderr[-3000:]}"
    # never a second copy of a framework: Colab's versions are still the ones installed
    assert subprocess.run([str(python), "-c", "import torch, tensorflow, jax; print("
                           "torch.__version__, tensorflow.__version__, jax.__version__)"],
                          capture_output=True, text=True, check=True).stdout == frameworks


def test_the_readme_opens_every_lesson_and_quiz_in_colab_from_the_one_address():
    readme = (REPO / "README.md").read_text()
    repository = colab.repository(REPO)
    for path in NOTEBOOKS:
        assert f"]({colab.colab_url(repository, colab.student_path(REPO, path))})" in readme, (
            f"README.md has no Colab link to {colab.student_path(REPO, path)}")
