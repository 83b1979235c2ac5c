"""Late submissions: the time `nbgrader submit` records, and the penalty the config asks for.

``nbgrader submit`` writes the time of a submission into ``timestamp.txt``
beside it, ``nbgrader collect`` keeps that file in ``submitted/<student>/<quiz>/``,
and the gradebook holds each quiz's due date (``nbgrader db assignment add
QUIZ --duedate ...``, or the formgrader's Manage Assignments page). A resubmission
replaces the earlier one, timestamp included, as in nbgrader.

The penalty is computed by stock nbgrader's own code: its ``AssignLatePenalties``
preprocessor, configured from the course's ``nbgrader_config.py``
(``c.AssignLatePenalties.plugin_class``, ``c.LateSubmissionPlugin.penalty_method``,
or a plugin of the course's own), is run on the stored grades of each notebook
after they are written, which is where ``nbgrader autograde`` runs it. So a course
gets exactly the penalties stock nbgrader would give it; the gradebook stores them
in ``late_submission_penalty`` and every export subtracts them from the score.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from nbformat import v4
from nbgrader.utils import parse_utc

#: The file ``nbgrader submit`` writes and ``nbgrader collect`` keeps.
TIMESTAMP_FILE = "timestamp.txt"


class TimestampError(ValueError):
    """A submission's ``timestamp.txt`` cannot be read as a time."""


def read_timestamp(folder: Path) -> datetime | None:
    """The submission time recorded in ``folder/timestamp.txt`` (UTC), or None without one."""
    path = Path(folder) / TIMESTAMP_FILE
    if not path.is_file():
        return None
    text = path.read_text(errors="replace").strip()
    if not text:
        return None
    try:
        return parse_utc(text)
    except (ValueError, OverflowError) as error:
        raise TimestampError(f"{path}: not a time nbgrader can read ({text[:40]!r})") from error


def assign_late_penalties(config, db_url: str, quiz: str, notebook: str, student: str) -> None:
    """Set the stored late penalty of one graded notebook, as ``nbgrader autograde`` does.

    ``config`` is the course's nbgrader config; the notebook's grades must be
    stored already (the penalty is a function of its score).
    """
    from nbgrader.preprocessors import AssignLatePenalties

    resources = {"nbgrader": {"notebook": notebook, "assignment": quiz, "student": student,
                              "db_url": db_url}}
    AssignLatePenalties(config=config).preprocess(v4.new_notebook(), resources)
