"""Answers left as released: nbgrader's "No response." comment on them, in the gradebook.

``nbgrader autograde`` (its ``SaveAutoGrades``) comments "No response." on every answer
cell whose text is still the student version's, and clears the comment of every other
answer cell; a free-text item left so scores 0 with nothing to grade by hand (the score
is stored with the item, :mod:`.gradebook`). The formgrader and feedback show the
comment. This writes the same comments for a graded submission; a comment a person
wrote stays (it is ``manual_comment``, shown over the autograder's).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from sqlalchemy.exc import SAWarning

from ..judge.verdict import NO_RESPONSE
from .gradebook import course_id, database_url


def store_responses(root: Path, quiz: str, student: str,
                    notebooks: dict[str, tuple[list[str], list[str]]]) -> None:
    """For each notebook graded (name -> (its answer cells, those left as released)), set
    the autograder's comment of each answer cell: "No response." or none."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(database_url(root), course_id(root)) as gradebook, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore", SAWarning)
        for notebook, (answers, blank) in notebooks.items():
            for grade_id in answers:
                try:
                    comment = gradebook.find_comment(grade_id, notebook, quiz, student)
                except MissingEntry:
                    continue
                comment.auto_comment = NO_RESPONSE if grade_id in blank else None
        gradebook.db.commit()
