"""``dlcourse feedback``: one HTML page per student with each item's status and points.

Built from the stored results (``autograded/<student>/<quiz>/dlcourse-result.json``)
and the manual scores in the gradebook, never from the executed notebook: the
page holds no code, no hidden test, no hidden input and no key value, only
each question's title (the heading above it in the quiz), item ids, statuses,
points and the grader's short messages (:mod:`.messages`). Written to
``feedback/<student>/<quiz>/<notebook>.html``, nbgrader's feedback layout, with
the submission's ``timestamp.txt`` and ``submission_secret.txt`` beside it, so that
``nbgrader release_feedback`` releases it to the exchange and the student's
Assignments tab fetches it. For an assignment of several notebooks the page covers
all of them, each question under its notebook's name, and is written once per
notebook (a student fetches feedback notebook by notebook). A late penalty that
the gradebook holds (:mod:`.lateness`) is shown and taken off the total.
"""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

from ...config import find_course_root, validate_identifier
from ..result import MANUAL, RESULT_FILE
from . import gradebook
from .lateness import TIMESTAMP_FILE

#: What nbgrader's release_feedback reads beside each page (``nbgrader submit`` wrote them).
SUBMISSION_FILES = (TIMESTAMP_FILE, "submission_secret.txt")

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; }}
.passed {{ color: #1a7f37; }} .failed, .error, .timeout, .missing {{ color: #b42318; }}
.manual {{ color: #6e6e6e; }}
</style></head><body>
<h1>{title}</h1>
<p>Student <b>{student}</b>: <b>{score}</b> of {max_score} points{pending}.</p>
{problems}<table><thead><tr><th>question</th><th>item</th><th>status</th><th>points</th><th>note</th>
</tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""
ROW = ('<tr><td>{title}</td><td>{grade_id}</td><td class="{status}">{status}</td>'
       "<td>{score} / {max_score}</td><td>{message}</td></tr>")


def _points(value) -> str:
    return "–" if value is None else f"{value:g}"


def page(quiz: str, student: str, result: dict, manual: dict[str, float | None],
         penalty: float = 0.0) -> str:
    """The feedback page of one submission; ``penalty`` is its late penalty, in points."""
    rows, total, pending = [], 0.0, 0
    several = len({item.get("notebook", "") for item in result["items"]}) > 1
    for item in result["items"]:
        score, status, message = item["score"], item["status"], item.get("message", "")
        title = item.get("title", "")
        if several:  # an assignment of several notebooks: say which one the question is in
            title = f"{item.get('notebook', '')}: {title}"
        if status == MANUAL:
            score = manual.get(item["grade_id"])
            pending += score is None
            message = "graded by a person" if score is not None else "awaiting a person"
        total += score or 0.0
        rows.append(ROW.format(title=html.escape(title),
                               grade_id=html.escape(item["grade_id"]), status=html.escape(status),
                               score=_points(score), max_score=_points(item["max_score"]),
                               message=html.escape(message)))
    max_score = result["max_score"] + result.get("manual_max_score", 0.0)
    score = _points(total)
    if penalty:
        score = f"{_points(total - penalty)}</b> (<b>{_points(total)}</b> less a late penalty of " \
                f"<b>{_points(penalty)}</b>)<b>"
    problems = ""
    if result.get("problems"):
        problems = ("<p>Your notebook departs from the one you were given; it was graded "
                    "as follows:</p>\n<ul>\n" + "\n".join(
                        f"<li>{html.escape(problem)}</li>" for problem in result["problems"])
                    + "\n</ul>\n")
    return PAGE.format(title=html.escape(f"Feedback on {quiz}"), student=html.escape(student),
                       problems=problems,
                       score=score, max_score=_points(max_score),
                       pending=f" ({pending} item(s) still to be graded by a person)"
                       if pending else "", rows="\n".join(rows))


def feedback(quiz: str, *, root: str | Path | None = None) -> list[Path]:
    """Write the feedback page of every autograded submission of ``quiz``; return their paths."""
    root = Path(root) if root else find_course_root()
    validate_identifier(quiz, "quiz id")
    written = []
    for stored in sorted((root / "autograded").glob(f"*/{quiz}/{RESULT_FILE}")):
        student = stored.parents[1].name
        result = json.loads(stored.read_text())["result"]
        folder = root / "feedback" / student / quiz
        folder.mkdir(parents=True, exist_ok=True)
        text = page(quiz, student, result, gradebook.manual_scores(root, quiz, student),
                    gradebook.late_penalty(root, quiz, student))
        notebooks = sorted({*result.get("notebooks", {}),
                            *(item.get("notebook") or quiz for item in result["items"])})
        for notebook in notebooks or [quiz]:
            (folder / f"{notebook}.html").write_text(text, encoding="utf-8")
            written.append(folder / f"{notebook}.html")
        for name in SUBMISSION_FILES:
            submitted = root / "submitted" / student / quiz / name
            if submitted.is_file() and not submitted.is_symlink():
                shutil.copyfile(submitted, folder / name)
    return written
