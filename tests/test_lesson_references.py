"""Every reference from a lesson or a quiz to a lesson names a lesson that exists."""

from __future__ import annotations

import re

import nbformat
import pytest

from .conftest import REPO

LESSONS = {path.name[:2]: path for path in (REPO / "notebooks").glob("[0-9][0-9]_*.ipynb")}
REFERENCE = re.compile(r"\b[Ll]essons? ((?:0\d)(?:(?:, | and | or |-|–)0\d)*)")
NOTEBOOKS = [*sorted((REPO / "notebooks").glob("*.ipynb")),
             *sorted((REPO / "source").glob("*/*.ipynb"))]


def referenced(text: str) -> set[str]:
    found = set()
    for match in REFERENCE.finditer(text):
        found |= set(re.findall(r"0\d", match.group(1)))
    return found


def test_the_pattern_reads_lists_of_lessons():
    assert referenced("see lesson 03, and lessons 05 and 07; Lesson 06") == {"03", "05", "06",
                                                                              "07"}


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_lesson_referred_to_exists(notebook):
    text = "\n".join(cell.source for cell in nbformat.read(notebook, as_version=4).cells)
    missing = sorted(referenced(text) - set(LESSONS))
    assert not missing, f"{notebook.name} refers to lesson(s) {missing}, which do not exist"


def test_the_readme_lists_every_lesson():
    readme = (REPO / "README.md").read_text()
    for number, path in LESSONS.items():
        assert f"(notebooks/{path.name})" in readme, f"README.md does not list lesson {number}"
