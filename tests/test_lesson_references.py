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


#: A reference to a lesson's section, as quiz hints and lessons write it:
#: ``lesson 02 (autograd), section "Pitfalls, and how to fix them"``.
SECTION_REFERENCE = re.compile(
    r"""[Ll]esson (0\d)(?: \([^)]*\))?, section \\?["“]([^"”\\]+)\\?["”]""")
SECTION_NUMBER = re.compile(r"^\d+(\.\d+)*\.?\s+")


def section_titles(lesson) -> set[str]:
    """The lesson's ``##`` and ``###`` headings, without their numbers or markdown."""
    titles = set()
    for cell in nbformat.read(lesson, as_version=4).cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            heading = re.match(r"^#{2,3} (.*)$", line)
            if heading:
                titles.add(SECTION_NUMBER.sub("", heading.group(1)).strip())
    return titles


def section_references(notebook) -> list[tuple[str, str]]:
    """Every (lesson, section) that a notebook's cells (hidden tests' hints included) name."""
    text = "\n".join(cell.source for cell in nbformat.read(notebook, as_version=4).cells)
    return SECTION_REFERENCE.findall(text)


def test_the_pattern_reads_a_section_reference():
    for text in ('hint=\'see lesson 02 (autograd), section "Pitfalls, and how to fix them"\'',
                 'hint="see lesson 02, section \\"Pitfalls, and how to fix them\\""'):
        assert SECTION_REFERENCE.findall(text) == [("02", "Pitfalls, and how to fix them")]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_section_referred_to_exists(notebook):
    missing = [f"lesson {number}, section {title!r}"
               for number, title in section_references(notebook)
               if number not in LESSONS or title not in section_titles(LESSONS[number])]
    assert not missing, f"{notebook.name} refers to sections that do not exist: {missing}"
