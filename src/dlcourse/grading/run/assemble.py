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

Notebooks broken the ways nbgrader's tracker reports (a copied answer cell: #1083,
#1753, #1933; deleted cells and cells whose type changed: #1941; metadata lost by
another tool: #424, #1398; a byte-order mark or mangled cell ids from another editor)
are graded by those rules, never refused for it, and each departure from the release
is named, with its cell, in :attr:`Assembled.problems` (the result's ``problems``, in
feedback and in Validate).
"""

from __future__ import annotations

import copy
import json
import re
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
    #: how the submission departs from the release, each naming its cell (in the
    #: submission's numbering, from 1, as JupyterLab shows no numbers: "cell 5")
    problems: list[str] = field(default_factory=list)


def read_submission(path: Path) -> nbformat.NotebookNode:
    """Read a submitted notebook, or raise :class:`SubmissionError` naming the file and why.

    What another tool did to an otherwise valid notebook is repaired and recorded in
    the notebook's ``metadata["dlcourse_repairs"]`` (read by :func:`assemble`): a
    byte-order mark before the JSON, cell ids that are invalid or repeated.
    """
    repairs = []
    try:
        raw = Path(path).read_bytes()
        if raw.startswith(b"\xef\xbb\xbf"):
            repairs.append("the file starts with a byte-order mark (saved by another editor?)")
            raw = raw[3:]
        text = raw.decode("utf-8")
        document = json.loads(text)
    except FileNotFoundError:
        raise SubmissionError(f"{path}: no such notebook") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise SubmissionError(f"{path}: not a valid notebook ({error})") from None
    if not isinstance(document, dict) or not isinstance(document.get("cells"), list):
        raise SubmissionError(f"{path}: not a valid notebook (no list of cells)")
    repairs += _repair_cell_ids(document)
    try:
        notebook = nbformat.reads(json.dumps(document), as_version=4)
    except Exception as error:  # nbformat raises several types for bad documents
        raise SubmissionError(f"{path}: not a valid notebook ({error})") from None
    for index, cell in enumerate(notebook.cells):
        if not isinstance(cell.get("source"), str) or cell.get("cell_type") not in (
            "code", "markdown", "raw"
        ):
            raise SubmissionError(f"{path}: cell {index} is not a valid cell")
    notebook.metadata["dlcourse_repairs"] = repairs
    return notebook


_CELL_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


def _repair_cell_ids(document: dict) -> list[str]:
    """Drop cell ids that are invalid or repeated (nbformat makes fresh ones); say where."""
    seen, bad = set(), []
    for number, cell in enumerate(document["cells"], start=1):
        if not isinstance(cell, dict) or "id" not in cell:
            continue
        if not isinstance(cell["id"], str) or not _CELL_ID.match(cell["id"]) \
                or cell["id"] in seen:
            bad.append(number)
            del cell["id"]
        else:
            seen.add(cell["id"])
    if not bad:
        return []
    return [f"cells {', '.join(map(str, bad))} have invalid or repeated cell ids (another "
            "tool's doing?): they were given new ones"]


def assemble(source: SourceQuiz, submission: nbformat.NotebookNode) -> Assembled:
    """Merge ``submission``'s answers into a copy of the source notebook."""
    answer_ids = set(source.answer_ids)
    known_ids = {nbgrader_meta(cell).get("grade_id") for cell in source.notebook.cells} - {None}
    answers: dict[str, str] = {}
    answered_in: dict[str, int] = {}  # grade id -> the submission's cell number (from 1)
    added_after: dict[str | None, list] = {}  # grade id of the preceding known cell -> cells
    anchor: str | None = None
    problems = list(submission.metadata.get("dlcourse_repairs", []))
    source_type = {nbgrader_meta(c).get("grade_id"): c.cell_type for c in source.notebook.cells}
    source_ids = {c.get("id") for c in source.notebook.cells} - {None}
    used_ids: set[str] = set()
    for number, cell in enumerate(submission.cells, start=1):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answer_ids and grade_id in answers:
            problems.append(f"cell {number} repeats the answer cell {grade_id!r} (cell "
                            f"{answered_in[grade_id]}): a copied cell? Cell "
                            f"{answered_in[grade_id]} is graded"
                            + ("; this one runs after it as code you added"
                               if cell.cell_type == "code" else ""))
        if grade_id in answer_ids and cell.cell_type != source_type[grade_id]:
            problems.append(f"cell {number}, the answer {grade_id!r}, is a {cell.cell_type} "
                            f"cell, not {source_type[grade_id]}: graded as "
                            f"{source_type[grade_id]}")
        if grade_id in answer_ids and grade_id not in answers:
            answers[grade_id] = cell.source
            answered_in[grade_id] = number
            anchor = grade_id
        elif grade_id in known_ids and grade_id not in answer_ids:
            anchor = grade_id  # the source's copy of this cell runs
        elif cell.cell_type == "code":
            added = nbformat.v4.new_code_cell(cell.source)
            # the student's own cell keeps its id, else one from its place, never a random
            # one: two runs of one submission give the same executed notebook
            kept = cell.get("id")
            if not kept or kept in source_ids or kept in used_ids:
                kept = next(f"added-{number}-{n}" for n in range(len(submission.cells) + 1)
                            if f"added-{number}-{n}" not in source_ids | used_ids)
            added["id"] = kept
            used_ids.add(kept)
            added_after.setdefault(anchor, []).append(added)

    for grade_id in source.answer_ids:
        if grade_id not in answers:
            problems.append(f"the answer cell {grade_id!r} is not in the submission (deleted, "
                            "or its nbgrader metadata lost)")
    graded_ids = [nbgrader_meta(c).get("grade_id") for c in submission.cells]
    if submission.cells and not any(graded_ids):
        problems.append("no cell carries nbgrader's metadata (saved by a tool that drops "
                        "cell metadata?): your code ran as cells you added")
    result = Assembled(notebook=copy.deepcopy(source.notebook), answered=set(answers),
                       problems=problems)
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
