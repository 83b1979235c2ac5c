"""The structure of a quiz's source notebook: its cells and its graded items.

nbgrader marks each cell in ``cell.metadata["nbgrader"]``. dlcourse reads:

- **answer cells** (``solution: true``): the student writes here; code cells
  hold code, markdown cells free text;
- **test cells** (code, ``grade: true, solution: false``): visible asserts and,
  between nbgrader's hidden-test markers, ``check(...)`` calls; each is one
  autograded item worth its ``points``;
- **manual items** (markdown, ``grade: true, solution: true``, or nbgrader
  ``task`` cells): free text graded by a person in the formgrader;
- **locked cells** (everything else): instructions and set-up, always taken
  from the source.

nbgrader's "autograded answer" cells (code, ``grade: true, solution: true``)
pass by the absence of an error, which is exactly what this grader replaces:
they are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..config import validate_identifier


class QuizError(ValueError):
    """A source notebook that dlcourse cannot grade with."""


@dataclass(frozen=True)
class Item:
    """One graded item: an autograded test cell or a manually graded cell."""

    grade_id: str
    points: float
    manual: bool
    cell_index: int
    #: grade ids of the answer cells this item grades: those since the
    #: previous test cell (nbgrader's answer-then-test layout); a test cell
    #: right after another test cell grades the same answers.
    answers: tuple[str, ...] = ()
    #: the question's title, from the markdown above it (:func:`title_above`)
    title: str = ""


@dataclass
class SourceQuiz:
    quiz: str
    path: Path
    notebook: nbformat.NotebookNode
    items: list[Item] = field(default_factory=list)
    answer_ids: list[str] = field(default_factory=list)

    @property
    def autograded(self) -> list[Item]:
        return [item for item in self.items if not item.manual]

    @property
    def max_score(self) -> float:
        return sum(item.points for item in self.autograded)

    @property
    def manual_max_score(self) -> float:
        return sum(item.points for item in self.items if item.manual)


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def is_answer(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


MAX_TITLE_CHARACTERS = 80


def title_above(cells, index: int) -> str:
    """The title of the question whose cells start at ``index``: in the nearest
    markdown cell above that is not an answer, the last paragraph that starts
    with a heading or a bold lead (``**A1. Dtypes.**``), its first line without
    the markup, shortened to :data:`MAX_TITLE_CHARACTERS`."""
    for cell in reversed(cells[:index]):
        if cell.cell_type != "markdown" or is_answer(cell):
            continue
        paragraphs = [p.strip() for p in cell.source.split("\n\n") if p.strip()]
        leads = [p for p in paragraphs if p.startswith(("#", "**"))] or paragraphs[:1]
        if not leads:
            continue
        line = leads[-1].splitlines()[0].lstrip("#").strip().replace("**", "")
        if len(line) > MAX_TITLE_CHARACTERS:
            line = line[:MAX_TITLE_CHARACTERS - 1].rstrip() + "…"
        return line
    return ""


def source_path(root: Path, quiz: str) -> Path:
    """Where nbgrader keeps the instructor's version of ``quiz``."""
    validate_identifier(quiz, "quiz id")
    return root / "source" / quiz / f"{quiz}.ipynb"


def load_source(root: Path, quiz: str) -> SourceQuiz:
    """Read and validate the source notebook of ``quiz``."""
    path = source_path(root, quiz)
    if not path.is_file():
        raise QuizError(f"no source notebook for quiz {quiz!r} at {path}")
    notebook = nbformat.read(path, as_version=4)
    parsed = SourceQuiz(quiz=quiz, path=path, notebook=notebook)
    seen: set[str] = set()
    pending_answers: list[str] = []
    graded_answers: tuple[str, ...] = ()
    first_answer_index: dict[str, int] = {}
    for index, cell in enumerate(notebook.cells):
        meta = nbgrader_meta(cell)
        if not meta:
            if cell.cell_type == "code":
                raise QuizError(f"{path}: code cell {index} has no nbgrader metadata; "
                                "lock it (grade_id, locked: true) so the source version is run")
            continue
        grade_id = validate_identifier(meta.get("grade_id"), f"grade id of cell {index} in {path}")
        if grade_id in seen:
            raise QuizError(f"{path}: grade id {grade_id!r} is used twice")
        seen.add(grade_id)
        points = float(meta.get("points", 0) or 0)
        if cell.cell_type == "code" and meta.get("grade") and meta.get("solution"):
            raise QuizError(f"{path}: cell {grade_id!r} is an autograded answer cell; "
                            "split it into an answer cell and a test cell with checks")
        if is_answer(cell):
            parsed.answer_ids.append(grade_id)
            first_answer_index[grade_id] = index
            if meta.get("grade"):  # free text graded by hand
                parsed.items.append(Item(grade_id, points, True, index, (grade_id,),
                                         title_above(notebook.cells, index)))
            else:
                pending_answers.append(grade_id)
        elif is_test(cell):
            if "### BEGIN HIDDEN TESTS" not in cell.source:
                raise QuizError(f"{path}: test cell {grade_id!r} has no hidden tests with checks")
            if pending_answers:
                graded_answers, pending_answers = tuple(pending_answers), []
            start = first_answer_index[graded_answers[0]] if graded_answers else index
            parsed.items.append(Item(grade_id, points, False, index, graded_answers,
                                     title_above(notebook.cells, start)))
        elif meta.get("task"):
            parsed.items.append(Item(grade_id, points, True, index,
                                     title=title_above(notebook.cells, index + 1)))
    if not parsed.autograded:
        raise QuizError(f"{path}: no autograded test cells")
    return parsed
