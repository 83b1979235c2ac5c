"""Every lesson follows the course's conventions for a lesson a student works through.

The rules (DESIGN.md, "Conventions"; notebooks/03_training.ipynb is the model):

- no code cell is longer than 60 lines;
- every main section ends with an exercise and its folded answer: after the section's
  heading, a markdown line that starts ``### Exercise`` (or ``**Exercise``, the bold form
  lessons 06 and 07 use), and later in the same section a markdown cell holding
  ``<details>``. Main sections are the ``## `` headings of the markdown cells (outside
  fenced code), except the set-up section (``## 0.`` or a title starting "Set-up" or
  "Setup"), the summary and the appendices, which come last;
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

from .conftest import REPO

LESSONS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MAX_CODE_LINES = 60

FENCE = re.compile(r"^\s*(```|~~~)")
MAIN_HEADING = re.compile(r"^## (?!#)\s*(.*)$")
SECTION_NUMBER = re.compile(r"^(\d+)\.?\s+")
EXERCISE = re.compile(r"^(### Exercise|\*\*Exercise)\b")
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
    exercise_cell: int | None = None
    answer_cell: int | None = None
    answers: list[int] = field(default_factory=list)

    @property
    def is_main(self) -> bool:
        number = SECTION_NUMBER.match(self.title)
        if number and int(number.group(1)) == 0:
            return False
        return not NOT_MAIN.match(SECTION_NUMBER.sub("", self.title))

    @property
    def is_appendix(self) -> bool:
        return SECTION_NUMBER.sub("", self.title).lower().startswith("appendix")


def sections(notebook) -> list[Section]:
    """The ``## `` sections of a lesson, with where each one's exercise and answer are."""
    found: list[Section] = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        for line in markdown_lines(cell.source):
            heading = MAIN_HEADING.match(line)
            if heading:
                found.append(Section(heading.group(1).strip(), index))
            elif found and EXERCISE.match(line) and found[-1].exercise_cell is None:
                found[-1].exercise_cell = index
            elif (found and "<details>" in line and found[-1].exercise_cell is not None
                  and found[-1].answer_cell is None):
                found[-1].answer_cell = index
    return found


def test_the_section_reader_finds_exercises_and_answers():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Lesson 99 — x"),
        nbformat.v4.new_markdown_cell("## 0. Set-up"),
        nbformat.v4.new_markdown_cell("## 1. One\n```bash\n## not a heading\n```"),
        nbformat.v4.new_markdown_cell("### Exercise 1\nPredict."),
        nbformat.v4.new_code_cell("1 + 1"),
        nbformat.v4.new_markdown_cell("<details><summary>Answer</summary>2</details>\n\n## 2. Two"),
        nbformat.v4.new_markdown_cell("<details>an answer with no exercise</details>"),
        nbformat.v4.new_markdown_cell("## Summary"),
        nbformat.v4.new_markdown_cell("## Appendix A: more"),
    ])
    found = sections(notebook)
    assert [(s.title, s.exercise_cell, s.answer_cell, s.is_main) for s in found] == [
        ("0. Set-up", None, None, False), ("1. One", 3, 5, True), ("2. Two", None, None, True),
        ("Summary", None, None, False), ("Appendix A: more", None, None, False)]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_no_code_cell_is_longer_than_60_lines(lesson):
    long_cells = [f"cell {index} ({len(cell.source.splitlines())} lines)"
                  for index, cell in enumerate(read(lesson).cells)
                  if cell.cell_type == "code" and len(cell.source.splitlines()) > MAX_CODE_LINES]
    assert not long_cells, (f"{lesson.name}: code cells longer than {MAX_CODE_LINES} lines: "
                            + ", ".join(long_cells))


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda p: p.stem)
def test_every_main_section_ends_with_an_exercise_and_its_answer(lesson):
    found = sections(read(lesson))
    main = [s for s in found if s.is_main]
    assert main, f"{lesson.name} has no main section (## headings)"
    problems = []
    for section in main:
        where = f"section '{section.title}' (cell {section.cell})"
        if section.exercise_cell is None:
            problems.append(f"{where} has no '### Exercise' cell")
        elif section.answer_cell is None:
            problems.append(f"{where}: the exercise in cell {section.exercise_cell} has no "
                            "<details> answer after it")
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
