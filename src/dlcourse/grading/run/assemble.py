"""Build the notebook that grading executes, from the source and a submission.

Only the student's answers come from the submission; everything that decides
a verdict comes from the source. The rule, cell by cell of the source:

1. an answer cell takes its text from the submission's cell with the same
   grade id (the first one); its type stays the source's, so a free-text
   cell cannot be turned into code;
2. every other cell (test cells with their hidden tests, locked set-up, the
   instructions) is the source's cell, metadata and all;
3. code cells the student added (no grade id the source knows, or a second
   copy of an answer cell) run too, after the source cell that precedes them
   in the submission, as they did when the student ran the notebook. Added
   markdown cells are dropped: they run nothing.

A submission cell that claims a test or locked cell's grade id is ignored:
the source's version runs instead. A code cell of the source without nbgrader
metadata (only an in-kernel notebook has them, :mod:`.source`) is the
student's, as nbgrader treats it: the submission's copy runs, by rule 3.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..prepare.source import SourceQuiz, is_answer, nbgrader_meta


class SubmissionError(ValueError):
    """A submission that cannot be read as a notebook."""


@dataclass
class Assembled:
    notebook: nbformat.NotebookNode
    #: answer grade ids found in the submission
    answered: set[str] = field(default_factory=set)
    #: indices in ``notebook`` of the cells the student added
    added: list[int] = field(default_factory=list)


def read_submission(path: Path) -> nbformat.NotebookNode:
    """Read a submitted notebook, or raise :class:`SubmissionError` naming the file and why."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        document = json.loads(text)
    except FileNotFoundError:
        raise SubmissionError(f"{path}: no such notebook") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SubmissionError(f"{path}: not a valid notebook ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        raise SubmissionError(f"{path}: not a valid notebook (no list of cells)")
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several types for bad documents
        raise SubmissionError(f"{path}: not a valid notebook ({error})") from None
    for index, cell in enumerate(notebook.cells):
        if not isinstance(cell.get("source"), str) or cell.get("cell_type") not in (
            "code", "markdown", "raw"
        ):
            raise SubmissionError(f"{path}: cell {index} is not a valid cell")
    return notebook


def assemble(source: SourceQuiz, submission: nbformat.NotebookNode) -> Assembled:
    """Merge ``submission``'s answers into a copy of the source notebook."""
    answer_ids = set(source.answer_ids)
    known_ids = {nbgrader_meta(cell).get("grade_id") for cell in source.notebook.cells} - {None}
    answers: dict[str, str] = {}
    added_after: dict[str | None, list] = {}  # grade id of the preceding known cell -> cells
    anchor: str | None = None
    for cell in submission.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answer_ids and grade_id not in answers:
            answers[grade_id] = cell.source
            anchor = grade_id
        elif grade_id in known_ids and grade_id not in answer_ids:
            anchor = grade_id  # the source's copy of this cell runs
        elif cell.cell_type == "code":
            added_after.setdefault(anchor, []).append(
                nbformat.v4.new_code_cell(cell.source)
            )

    result = Assembled(notebook=copy.deepcopy(source.notebook), answered=set(answers))
    cells = []

    def add_student_cells(after: str | None) -> None:
        for extra in added_after.get(after, []):
            result.added.append(len(cells))
            cells.append(extra)

    add_student_cells(None)
    for cell in result.notebook.cells:
        if cell.cell_type == "code" and not nbgrader_meta(cell):
            continue
        grade_id = nbgrader_meta(cell).get("grade_id")
        if is_answer(cell):
            cell.source = answers.get(grade_id, "")
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
        if grade_id is not None:
            add_student_cells(grade_id)
    result.notebook.cells = cells
    return result
