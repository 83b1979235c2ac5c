"""Every lesson follows the course's conventions for a lesson a student works through.

The rules (DESIGN.md, "Conventions"; notebooks/03_training.ipynb is the model):

- no code cell is longer than 60 lines;
- every main section ends with an exercise where the student writes code: a code cell
  tagged ``exercise`` (the solution, between ``### BEGIN SOLUTION`` and ``### END
  SOLUTION``; the student's copy has a stub, :mod:`dlcourse.student_copy`) and, as the
  very next cell, a code cell tagged ``exercise-check`` (:class:`dlcourse.exercises.Check`);
  no other code cell follows the section's last check (thought questions and folded
  answers may, as markdown). Main sections are the ``## `` headings of the markdown cells
  (outside fenced code), except the first (the set-up), the summary and the appendices,
  which come last. Whether each solution passes its check and each stub does not is
  tested by running the lesson (tests/exercise_probes.py);
- the opening cell is for the student: its title is ``# Lesson NN``, it states goals
  ("By the end ..."), prerequisites (a ``**Prerequisites`` or ``**Before you start``
  label) and the time it takes (a ``**Time`` label followed, in the same paragraph, by a
  duration in minutes or hours).

Each lesson has one test per rule, so a failure names the lesson, and its message names
the cells or sections at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import nbformat
import pytest

from dlcourse.student_copy import BEGIN, END, is_check, is_exercise

from .conftest import REPO

LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_CODE_LINES = 60

FENCE = re.compile(r"^\s*(```|~~~)")
MAIN_HEADING = re.compile(r"^## (?!#)\s*(.*)$")
SECTION_NUMBER = re.compile(r"^(\d+)\.?\s+")
NOT_MAIN = re.compile(r"^(set-?up\b|set up\b|summary\b|appendix\b)", re.IGNORECASE)
GOALS = re.compile(r"\bby the end\b", re.IGNORECASE)
PREREQUISITES = re.compile(r"\*\*(prerequisites?|before you start)\b", re.IGNORECASE)
TIME_LABEL = re.compile(r"\*\*time\b", re.IGNORECASE)
DURATION = re.compile(
    r"\b(\d+([.,]\d+)?|an?|one|two|three|four|five|six|half an?)\s*"
    r"(to|-|–)?\s*(\d+\s*)?(minutes?|mins?|hours?|h)\b", re.IGNORECASE)


def read(lesson):
    return nbformat.read(lesson, as_version=4)


def markdown_lines(source: str):
    """The lines of a markdown cell that are prose, not fenced code."""
    fenced = False
    for line in source.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            yield line


@dataclass
class Section:
    title: str
    cell: int
    first: bool = False
    #: the section's code cells: (cell index, "exercise" | "check" | "code")
    code: list[tuple[int, str]] = field(default_factory=list)

    @property
    def is_main(self) -> bool:
        return not self.first and not NOT_MAIN.match(SECTION_NUMBER.sub("", self.title))

    @property
    def is_appendix(self) -> bool:
        return SECTION_NUMBER.sub("", self.title).lower().startswith("appendix")

    def problems(self) -> list[str]:
        """What keeps this section from ending with an exercise and its check."""
        where = f"section '{self.title}' (cell {self.cell})"
        kinds = [kind for _, kind in self.code]
        if "exercise" not in kinds:
            return [f"{where} has no code cell tagged 'exercise'"]
        last_check = max((i for i, kind in enumerate(kinds) if kind == "check"), default=-1)
        after = [index for index, kind in self.code[last_check + 1:] if kind == "code"]
        if last_check < 0:
            return [f"{where} has no code cell tagged 'exercise-check'"]
        if after:
            return [f"{where} goes on with code after its last exercise check: cells {after}"]
        return []


def kind(cell) -> str:
    return "exercise" if is_exercise(cell) else "check" if is_check(cell) else "code"


def sections(notebook) -> list[Section]:
    """The ``## `` sections of a lesson, with their code cells."""
    found: list[Section] = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            if found:
                found[-1].code.append((index, kind(cell)))
            continue
        if cell.cell_type != "markdown":
            continue
        for line in markdown_lines(cell.source):
            heading = MAIN_HEADING.match(line)
            if heading:
                found.append(Section(heading.group(1).strip(), index, first=not found))
    return found


def pairing_problems(notebook) -> list[str]:
    """Every exercise cell is followed at once by its check, and every check follows one;
    every exercise marks its solution."""
    cells, found = notebook.cells, []
    for index, cell in enumerate(cells):
        following = cells[index + 1] if index + 1 < len(cells) else None
        previous = cells[index - 1] if index > 0 else None
        if is_exercise(cell) and (following is None or not is_check(following)):
            found.append(f"cell {index} (exercise) is not followed at once by an "
                         "'exercise-check' cell")
        if is_exercise(cell) and (BEGIN not in cell.source or END not in cell.source):
            found.append(f"cell {index} (exercise) does not mark its solution with "
                         f"'{BEGIN}' ... '{END}'")
        if is_check(cell) and (previous is None or not is_exercise(previous)):
            found.append(f"cell {index} (exercise-check) does not come right after an "
                         "'exercise' cell")
    return found


def test_the_section_reader_finds_exercises_and_checks():
    def exercise():
        return nbformat.v4.new_code_cell("### BEGIN SOLUTION\nx = 2\n### END SOLUTION",
                                         metadata={"tags": ["exercise"]})

    def check():
        return nbformat.v4.new_code_cell("with Check('Exercise 1') as c: c.equal(x, 2, 'x')",
                                         metadata={"tags": ["exercise-check"]})

    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Lesson 99 — x"),
        nbformat.v4.new_markdown_cell("## Set-up"),
        nbformat.v4.new_code_cell("import numpy"),
        nbformat.v4.new_markdown_cell("## 1. One\n```bash\n## not a heading\n```"),
        nbformat.v4.new_code_cell("1 + 1"), exercise(), check(),
        nbformat.v4.new_markdown_cell("<details>thought question</details>\n\n## 2. Two"),
        exercise(), check(), nbformat.v4.new_code_cell("y = 3"),
        nbformat.v4.new_markdown_cell("## 3. Three"), nbformat.v4.new_code_cell("z = 1"),
        check(),
        nbformat.v4.new_markdown_cell("## Summary"),
        nbformat.v4.new_markdown_cell("## Appendix A: more"),
    ])
    found = sections(notebook)
    assert [(s.title, s.is_main, s.problems()) for s in found] == [
        ("Set-up", False, ["section 'Set-up' (cell 1) has no code cell tagged 'exercise'"]),
        ("1. One", True, []),
        ("2. Two", True, ["section '2. Two' (cell 7) goes on with code after its last "
                          "exercise check: cells [10]"]),
        ("3. Three", True, ["section '3. Three' (cell 11) has no code cell tagged 'exercise'"]),
        ("Summary", False, ["section 'Summary' (cell 14) has no code cell tagged 'exercise'"]),
        ("Appendix A: more", False,
         ["section 'Appendix A: more' (cell 15) has no code cell tagged 'exercise'"])]
    assert pairing_problems(notebook) == [
        "cell 13 (exercise-check) does not come right after an 'exercise' cell"]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_no_code_cell_is_longer_than_60_lines(lesson):
    long_cells = [f"cell {index} ({len(cell.source.splitlines())} lines)"
                  for index, cell in enumerate(read(lesson).cells)
                  if cell.cell_type == "code" and len(cell.source.splitlines()) > MAX_CODE_LINES]
    assert not long_cells, (f"{lesson.name}: code cells longer than {MAX_CODE_LINES} lines: "
                            + ", ".join(long_cells))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_main_section_ends_with_an_exercise_and_its_check(lesson):
    notebook = read(lesson)
    found = sections(notebook)
    main = [s for s in found if s.is_main]
    assert main, f"{lesson.name} has no main section (## headings)"
    problems = [problem for section in main for problem in section.problems()]
    problems += pairing_problems(notebook)
    titles = [s.title for s in found]
    appendices = [i for i, s in enumerate(found) if s.is_appendix]
    if appendices and any(s.is_main for s in found[appendices[0]:]):
        problems.append(f"an appendix comes before a main section: {titles}")
    assert not problems, f"{lesson.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_the_opening_states_goals_prerequisites_and_time(lesson):
    opening = read(lesson).cells[0]
    number = lesson.name[:2]
    problems = []
    if opening.cell_type != "markdown" or not opening.source.startswith(f"# Lesson {number}"):
        problems.append(f"the first cell is not a markdown cell titled '# Lesson {number} ...'")
    text = opening.source
    if not GOALS.search(text):
        problems.append("no goals ('By the end of this lesson you can ...')")
    if not PREREQUISITES.search(text):
        problems.append("no prerequisites ('**Prerequisites.**' or '**Before you start:**')")
    paragraphs = re.split(r"\n\s*\n", text)
    if not any(TIME_LABEL.search(p) and DURATION.search(p) for p in paragraphs):
        problems.append("no time it takes ('**Time:** about 2 hours ...', in minutes or hours)")
    assert not problems, f"{lesson.name}, cell 0: " + "; ".join(problems)
