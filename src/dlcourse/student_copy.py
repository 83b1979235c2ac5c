"""The student's copy of a lesson: every exercise's solution replaced by a stub.

A lesson in ``notebooks/`` is written with its exercises solved, so that CI proves each
solution passes its check (:mod:`dlcourse.exercises`). Students work in the copy in
``lessons/``, made from it by this module and committed (``tests/test_student_copy.py``
fails when a copy is stale)::

    python -m dlcourse.student_copy          # rewrite lessons/ from notebooks/

In a code cell tagged ``exercise``, the lines between ``### BEGIN SOLUTION`` and
``### END SOLUTION`` (nbgrader's markers, so a student who has seen a quiz knows them)
become, at the markers' indentation::

    # YOUR CODE HERE
    print("not done yet")

so a function keeps its signature and returns ``None``, and the notebook runs on past
an exercise the student has not done. A cell with no markers is replaced whole. Every
other cell is copied as it is.
"""

from __future__ import annotations

import argparse
import copy
import re
from pathlib import Path

import nbformat

from .notebooks import clean, write

EXERCISE_TAG = "exercise"
CHECK_TAG = "exercise-check"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
STUB_LINES = ("# YOUR CODE HERE", 'print("not done yet")')
LESSONS, COPIES = "notebooks", "lessons"  # folders of a course root

_MARKER = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>### (BEGIN|END) SOLUTION)\s*$")


class MarkerError(ValueError):
    """An exercise cell's solution markers do not pair up."""


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def is_exercise(cell) -> bool:
    return cell.cell_type == "code" and EXERCISE_TAG in tags(cell)


def is_check(cell) -> bool:
    return cell.cell_type == "code" and CHECK_TAG in tags(cell)


def stub(source: str) -> str:
    """``source`` with each solution region replaced by the stub (the whole source if it
    has no markers)."""
    lines = source.splitlines()
    if not any(_MARKER.match(line) for line in lines):
        return "\n".join(STUB_LINES)
    kept, inside = [], None
    for number, line in enumerate(lines, start=1):
        marker = _MARKER.match(line)
        if marker and marker["marker"] == BEGIN:
            if inside is not None:
                raise MarkerError(f"line {number}: {BEGIN} inside another solution")
            inside = marker["indent"]
            kept.extend(inside + stub_line for stub_line in STUB_LINES)
        elif marker:
            if inside is None:
                raise MarkerError(f"line {number}: {END} without {BEGIN}")
            inside = None
        elif inside is None:
            kept.append(line)
    if inside is not None:
        raise MarkerError(f"{BEGIN} is never closed by {END}")
    return "\n".join(kept)


def student_copy(lesson: nbformat.NotebookNode, name: str = "lesson") -> nbformat.NotebookNode:
    """A clean copy of ``lesson`` with every exercise cell stubbed (``name`` for errors)."""
    notebook = copy.deepcopy(lesson)
    for index, cell in enumerate(notebook.cells):
        if is_exercise(cell):
            try:
                cell.source = stub(cell.source)
            except MarkerError as error:
                raise MarkerError(f"{name}, cell {index}: {error}") from None
    return clean(notebook)


def write_copies(root: Path) -> list[Path]:
    """Write the student's copy of every lesson of the course at ``root`` into its
    lessons/ folder; return the paths written."""
    written = []
    for lesson in sorted((root / LESSONS).glob("[0-9][0-9]_*.ipynb")):
        path = root / COPIES / lesson.name
        path.parent.mkdir(exist_ok=True)
        write(student_copy(nbformat.read(lesson, as_version=4), lesson.name), path)
        written.append(path)
    for stale in set((root / COPIES).glob("*.ipynb")) - set(written):
        stale.unlink()  # a lesson renamed or removed
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.student_copy",
                                     description="Rewrite lessons/ from notebooks/.")
    parser.add_argument("--root", type=Path, default=Path.cwd(),
                        help="the course root (default: the current folder)")
    arguments = parser.parse_args(argv)
    for path in write_copies(arguments.root):
        print(path.relative_to(arguments.root))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
