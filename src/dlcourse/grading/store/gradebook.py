"""nbgrader's gradebook, written by the grading process only.

Results go where nbgrader's formgrader reads them: each item's ``Grade`` row
gets the autograder's score, and free-text items are left needing a manual
grade, so a person grades them in the formgrader. A manual score someone
already gave is never overwritten. The gradebook is SQLite by default or any
SQLAlchemy URL nbgrader accepts (``c.CourseDirectory.db_url``).

Read back: each submission's final score (:func:`final_score`: the total less the
late penalty, what ``dlcourse scores`` and the Canvas export both show), the
comments a person wrote in the formgrader (:func:`comments`, shown in feedback) and
a quiz's due date.
"""

from __future__ import annotations

import os
import sys
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.exc import SAWarning

from ...config import load_config
from ..prepare.generate import student_version
from ..result import MANUAL, GradeResult
from .lateness import assign_late_penalties


def database_url(root: Path) -> str:
    """The course's gradebook URL, a relative SQLite path resolved against the course root."""
    from nbgrader.coursedir import CourseDirectory

    url = CourseDirectory(config=load_config(root), root=str(root)).db_url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url[len(prefix):].startswith("/"):
        url = prefix + str((root / url[len(prefix):]).resolve())
    return url


def course_id(root: Path) -> str:
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=load_config(root), root=str(root)).course_id or "default_course"


def _with_alembic_on_path() -> None:
    """nbgrader migrates a gradebook by running the ``alembic`` command of our environment."""
    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def register(root: Path, quiz: str) -> None:
    """Make sure the gradebook knows the quiz, its notebooks and their graded cells.

    As ``nbgrader generate_assignment`` does, with nbgrader's own converter.
    """
    _with_alembic_on_path()
    student_version(root, quiz, db_url=database_url(root))


def store(root: Path, quiz: str, student: str, result: GradeResult,
          timestamp: datetime | str | None = None) -> None:
    """Write one submission's result into the gradebook, keeping manual scores.

    Each item goes to its notebook's grade (``item.notebook``; the quiz's
    own name for a result that names none).
    """
    from nbgrader.api import Gradebook

    # nbgrader's own submission code trips SQLAlchemy's autoflush warnings; they are noise
    with Gradebook(database_url(root), course_id(root)) as gradebook, warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        gradebook.update_or_create_student(student)
        extra = {"timestamp": timestamp} if timestamp else {}
        gradebook.update_or_create_submission(quiz, student, **extra)
        for item in result.items:
            grade = gradebook.find_grade(item.grade_id, item.notebook or quiz, quiz, student)
            if item.status == MANUAL or item.score is None:
                grade.auto_score = None
                grade.needs_manual_grade = grade.manual_score is None
            else:
                grade.auto_score = item.score
                # a person's earlier manual score still stands, and wants a look
                grade.needs_manual_grade = grade.manual_score is not None
        gradebook.db.commit()
        notebooks = sorted({item.notebook or quiz for item in result.items})
    # nbgrader autograde's last step, with nbgrader's own code and the course's config
    config, url = load_config(root), database_url(root)
    for notebook in notebooks:
        assign_late_penalties(config, url, quiz, notebook, student)


def final_score(submission) -> float:
    """A submission's score as every export shows it: its total (autograded and manual
    scores) less the late penalty the gradebook holds (nbgrader's CSV export's rule)."""
    penalty = float(submission.late_submission_penalty or 0.0)
    return round(float(submission.score) - penalty, 6)


@dataclass(frozen=True)
class ScoreRow:
    student: str
    quiz: str
    #: the final score: the total less the late penalty (:func:`final_score`)
    score: float
    max_score: float
    needs_manual_grade: bool
    #: the late penalty taken off, in points (0 when on time)
    late_penalty: float = 0.0


def scores(root: Path) -> list[ScoreRow]:
    """Every submission's final score in the gradebook, by quiz then student."""
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(database_url(root), course_id(root)) as gradebook:
        for assignment in sorted(gradebook.assignments, key=lambda a: a.name):
            for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
                rows.append(ScoreRow(submission.student.id, assignment.name,
                                     final_score(submission), float(submission.max_score),
                                     bool(submission.needs_manual_grade),
                                     float(submission.late_submission_penalty or 0.0)))
    return rows


def late_penalty(root: Path, quiz: str, student: str) -> float:
    """The late penalty, in points, the gradebook holds for one submission (0 when none)."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(database_url(root), course_id(root)) as gradebook:
        try:
            return float(gradebook.find_submission(quiz, student).late_submission_penalty or 0.0)
        except MissingEntry:
            return 0.0


def manual_scores(root: Path, quiz: str, student: str) -> dict[str, float | None]:
    """The scores a person gave to each item of one submission (None where not yet graded),
    every notebook of it."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(database_url(root), course_id(root)) as gradebook:
        try:
            submission = gradebook.find_submission(quiz, student)
        except MissingEntry:
            return {}
        return {grade.name: grade.manual_score for notebook in submission.notebooks
                for grade in notebook.grades}


def manual_scores_of_quiz(root: Path, quiz: str) -> dict[str, dict[str, float | None]]:
    """Every submission's manual scores of ``quiz`` in the gradebook, in one session."""
    from nbgrader.api import Gradebook, MissingEntry

    scores: dict[str, dict[str, float | None]] = {}
    with Gradebook(database_url(root), course_id(root)) as gradebook:
        try:
            assignment = gradebook.find_assignment(quiz)
        except MissingEntry:
            return scores
        for submission in assignment.submissions:
            student = scores.setdefault(submission.student.id, {})
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    student[grade.name] = (None if grade.manual_score is None
                                           else float(grade.manual_score))
    return scores


def comments(root: Path, quiz: str, student: str) -> dict[tuple[str, str], str]:
    """The comments on one submission, by (notebook, cell's grade id): what a person wrote
    in the formgrader (else an autograder's comment), where there is one."""
    from nbgrader.api import Gradebook, MissingEntry

    found: dict[tuple[str, str], str] = {}
    with Gradebook(database_url(root), course_id(root)) as gradebook:
        try:
            submission = gradebook.find_submission(quiz, student)
        except MissingEntry:
            return found
        for notebook in submission.notebooks:
            for comment in notebook.comments:
                if comment.comment and comment.comment.strip():
                    found[notebook.name, comment.name] = comment.comment.strip()
    return found


def due_date(root: Path, quiz: str) -> datetime | None:
    """The quiz's due date in the gradebook (UTC, naive as nbgrader keeps it), if set."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(database_url(root), course_id(root)) as gradebook:
        try:
            return gradebook.find_assignment(quiz).duedate
        except MissingEntry:
            return None
