"""Shared fixtures: a released copy of the tiny test course and of the real course.

Releasing writes keys and ``release/``; tests do it in copies under pytest's
temporary folder so that the working tree is never changed by a test run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from dlcourse.grading.release import all_quizzes, release

from .lesson_outputs import LessonOutputs

REPO = Path(__file__).resolve().parents[1]
FILES = Path(__file__).resolve().parent / "files"
#: The quizzes the tests release and grade: all of them, or those named in
#: DLCOURSE_TEST_QUIZZES (comma-separated), to try one quiz while writing it.
QUIZZES = [q for q in os.environ.get("DLCOURSE_TEST_QUIZZES", "").split(",") if q] or \
    all_quizzes(REPO)


def copy_course(source_root: Path, target: Path) -> Path:
    """Copy what grading needs of a course: its config, source/, release/ and quizzes/."""
    target.mkdir(parents=True)
    shutil.copy(source_root / "nbgrader_config.py", target)
    for folder in ("source", "release", "quizzes"):
        if (source_root / folder).is_dir():
            shutil.copytree(source_root / folder, target / folder)
    return target


@pytest.fixture(scope="session")
def tiny_course(tmp_path_factory) -> Path:
    """The tiny NumPy-only quiz of tests/files/course, released once for the session."""
    root = copy_course(FILES / "course", tmp_path_factory.mktemp("tiny") / "course")
    release(root=root)
    return root


@pytest.fixture(scope="session")
def released_course(tmp_path_factory) -> Path:
    """A copy of the real course, with every quiz released afresh (keys included)."""
    root = copy_course(REPO, tmp_path_factory.mktemp("course") / "course")
    shutil.rmtree(root / "release", ignore_errors=True)
    release(QUIZZES, root=root)
    return root


def pytest_configure(config):
    # nbval's lesson outputs, kept for the website (tests/lesson_outputs.py).
    config.pluginmanager.register(LessonOutputs(), "dlcourse-lesson-outputs")


def pytest_collection_modifyitems(config, items):
    # The website is built from the lessons nbval executes in this session: its test
    # goes after them (testpaths puts tests/ before notebooks/).
    site = [item for item in items if item.path.name == "test_site.py"]
    items[:] = [item for item in items if item.path.name != "test_site.py"] + site
