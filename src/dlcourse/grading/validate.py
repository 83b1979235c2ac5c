"""nbgrader's Validate, decided as ``dlcourse autograde`` decides.

Stock nbgrader's Validate (the button in JupyterLab's notebook toolbar, and
``nbgrader validate``) runs the student's notebook with its visible tests only, and
fails a test cell that wrote to stderr: it can pass a notebook whose hidden tests
fail, and fail a right answer because TensorFlow printed a warning (nbgrader issues
#1844, #1846, #1908). In this course, Validate grades the notebook as ``dlcourse
grade`` does (:func:`.grade.grade_notebook`, the function autograde runs for each
notebook): the hidden tests and the key, outside the student's kernel, sandboxed where
a sandbox can be made (said once where not). So the button predicts the grade, item
by item.

The course's ``nbgrader_config.py`` calls :func:`grade_on_validate`, which replaces
``nbgrader.validator.Validator.validate`` in the process that read the config (the
Jupyter server behind the button, or ``nbgrader validate``). A notebook this course
cannot grade (no ``source/<quiz>/`` or no key beside it: a student's copy on
JupyterHub, say) is validated as stock nbgrader does, except that stderr no longer
fails a cell.

The result keeps nbgrader's format (``failed``: one entry per item that lost points,
its ``source`` naming the question and its ``error`` the student's message), so the
button shows it as it shows any validation; ``dlcourse`` holds the whole result
(``dlcourse grade --json``'s document).
"""

from __future__ import annotations

import html
from pathlib import Path

from ..config import CourseNotFound, find_course_root
from ..protocol.key import key_path
from .grade import WHERE_AVAILABLE, grade_notebook
from .result import GradeResult

#: Where the quiz a notebook answers is found: its folder is named after the quiz
#: (release/<quiz>/, submitted/<student>/<quiz>/, an exchange's fetched <quiz>/).
NOT_OURS = None


def course_quiz(notebook: Path) -> tuple[Path, str] | None:
    """The course root and quiz that ``notebook`` answers, where this course can grade
    it (source and key at hand), else ``None``."""
    quiz = notebook.resolve().parent.name
    try:
        root = find_course_root(notebook.resolve().parent)
    except CourseNotFound:
        return NOT_OURS
    if not (root / "source" / quiz).is_dir() or not key_path(quiz, root=root).is_file():
        return NOT_OURS
    return root, quiz


def as_validation(result: GradeResult) -> dict:
    """A result in the form nbgrader's Validate shows: ``failed`` lists what lost points."""
    lost = [item for item in result.items
            if item.score is not None and item.score < item.max_score]
    validation: dict = {"dlcourse": result.to_json()}
    notes = [f"Checked without a sandbox ({result.unsandboxed})."] if result.unsandboxed else []
    notes += [f"Your notebook: {problem}." for problem in result.problems]
    if result.variant:
        notes.append(f"Checked against the variant of student {result.variant!r}.")
    if result.error:
        notes.append(result.error)
    if lost or result.error or result.problems:
        validation["failed"] = [
            {"source": f"{item.title}\n{item.grade_id}: {item.status}, {item.score:g} of "
                       f"{item.max_score:g} points",
             "error": html.escape(item.message), "raw_error": item.message}
            for item in lost]
        if notes:
            validation["failed"].insert(0, {"source": result.quiz, "error": html.escape(
                " ".join(notes)), "raw_error": " ".join(notes)})
    return validation


def validate(notebook: str | Path) -> dict | None:
    """Validate ``notebook`` as this course grades it; ``None`` where it cannot (not a
    quiz of a course with its source and key at hand)."""
    path = Path(notebook)
    found = course_quiz(path)
    if found is NOT_OURS:
        return None
    root, quiz = found
    return as_validation(grade_notebook(path, quiz=quiz, root=root, sandbox=WHERE_AVAILABLE,
                                        execution="validate"))


def _without_stderr(notebook):
    """The executed notebook with stderr outputs dropped (they decide no verdict)."""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [output for output in cell.get("outputs", [])
                            if not (output.get("output_type") == "stream"
                                    and output.get("name") == "stderr")]
    return notebook


def grade_on_validate() -> None:
    """Make nbgrader's Validate in this process decide as this course grades."""
    from nbgrader.validator import Validator

    if getattr(Validator, "dlcourse_grades", False):
        return
    stock_validate, stock_preprocess = Validator.validate, Validator._preprocess

    def course_validate(self, filename):
        graded = validate(filename)
        return stock_validate(self, filename) if graded is None else graded

    def preprocess_without_stderr(self, notebook):
        return _without_stderr(stock_preprocess(self, notebook))

    Validator.validate = course_validate
    Validator._preprocess = preprocess_without_stderr
    Validator.dlcourse_grades = True
