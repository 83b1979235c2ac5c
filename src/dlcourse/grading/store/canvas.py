"""Grades out to an LMS: Canvas's gradebook CSV, as an nbgrader export plugin.

Canvas imports a gradebook CSV whose first columns identify the student
(``Student``, ``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``), one column
per assignment, and a second row ``Points Possible``. Canvas matches a row to a
student by ``ID`` (Canvas's own user id) when it is given, else by
``SIS User ID``, else by ``SIS Login ID``; a column whose header names no
existing assignment becomes a new assignment on import.

What goes in each column:

- ``ID``: the student's ``lms_user_id`` in nbgrader's gradebook (set by LTI
  or ``nbgrader db student add --lms-user-id``), empty when unknown;
- ``SIS User ID`` and ``SIS Login ID``: nbgrader's student id, so a course
  whose student ids are the university's ids matches without the LMS id;
- each assignment's cell: the final score as stock nbgrader's CSV export
  computes it, the total (autograded and manual scores) minus the late
  penalty (:func:`.gradebook.final_score`, which ``dlcourse scores`` shows too);
  empty when the student did not submit (Canvas leaves an empty cell ungraded,
  where a 0 would be a grade).

Use it from nbgrader (``nbgrader export --exporter
dlcourse.grading.store.canvas.CanvasExportPlugin --to canvas.csv``) or from
``dlcourse scores --canvas canvas.csv``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import ExportPlugin

from .gradebook import final_score

#: The student columns Canvas expects before the assignments, in its order.
STUDENT_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def _display_name(student) -> str:
    if student.last_name and student.first_name:
        return f"{student.last_name}, {student.first_name}"
    return student.last_name or student.first_name or student.id


def _final_score(gradebook: Gradebook, assignment: str, student: str) -> float | None:
    try:
        submission = gradebook.find_submission(assignment, student)
    except MissingEntry:
        return None
    return final_score(submission)


def canvas_rows(gradebook: Gradebook, *, assignments: list[str] | None = None,
                students: list[str] | None = None) -> list[list[str]]:
    """The CSV's rows, header and ``Points Possible`` first, from an open gradebook."""
    chosen = sorted((a for a in gradebook.assignments
                     if not assignments or a.name in assignments), key=lambda a: a.name)
    rows = [[*STUDENT_COLUMNS, *(a.name for a in chosen)],
            ["Points Possible", "", "", "", "", *(f"{a.max_score:g}" for a in chosen)]]
    for student in sorted(gradebook.students, key=lambda s: s.id):
        if students and student.id not in students:
            continue
        cells = []
        for assignment in chosen:
            score = _final_score(gradebook, assignment.name, student.id)
            cells.append("" if score is None else f"{score:g}")
        rows.append([_display_name(student), student.lms_user_id or "", student.id, student.id,
                     "", *cells])
    return rows


def write_canvas_csv(gradebook: Gradebook, path: str | Path, **chosen) -> Path:
    """Write Canvas's gradebook CSV for ``gradebook`` to ``path``; returns the path."""
    path = Path(path)
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(canvas_rows(gradebook, **chosen))
    return path


class CanvasExportPlugin(ExportPlugin):
    """nbgrader export plugin writing Canvas's gradebook CSV (``--to``, default canvas.csv)."""

    def export(self, gradebook: Gradebook) -> None:
        destination = self.to or "canvas.csv"
        self.log.info("Exporting Canvas grades to %s", destination)
        write_canvas_csv(gradebook, destination,
                         assignments=[str(a) for a in self.assignment] or None,
                         students=[str(s) for s in self.student] or None)
