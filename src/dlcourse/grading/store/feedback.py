"""``dlcourse feedback``: one HTML page per student with each item's status and points.

Built from the stored results (``autograded/<student>/<quiz>/dlcourse-result.json``),
the gradebook (manual scores, the comments a person wrote in the formgrader, the late
penalty, the due date) and the student's own submission, never from the executed
notebook: per question (its title, the heading above it in the quiz, with its inline
code shown as code) the page shows the student's own answer cells as they submitted
them with the grader's comment on each, then each item's status, points and the
grader's short message (:mod:`..judge.messages`). It holds no hidden test, no hidden
input and no key value: only the student's answer cells are shown (never a test
cell), and an answer cell that holds a line of the quiz's hidden tests, or
nbgrader's markers of them, is left out (whoever wrote it), so that a page never
carries hidden-test text.

Written to ``feedback/<student>/<quiz>/<notebook>.html``, nbgrader's feedback layout,
readable by all (0644: it is inside the course folder, which only its owner enters, and
``nbgrader release_feedback`` copies it with its mode to the exchange, where the
student fetches it), with the submission's ``timestamp.txt`` and
``submission_secret.txt`` beside it, so that ``nbgrader release_feedback`` releases it
and the student's Assignments tab fetches it. For an assignment of several notebooks
the page covers all of them, each question under its notebook's name, and is written
once per notebook (a student fetches feedback notebook by notebook). A late penalty
that the gradebook holds (:mod:`.lateness`) is shown and taken off the total.
"""

from __future__ import annotations

import html
import json
import re
import shutil
from datetime import datetime
from pathlib import Path

import nbformat

from ...config import find_course_root, validate_identifier
from ..prepare.source import QuizError, is_answer, load_assignment, nbgrader_meta
from ..result import MANUAL, RESULT_FILE
from . import gradebook
from .lateness import TIMESTAMP_FILE, TimestampError, read_timestamp

#: What nbgrader's release_feedback reads beside each page (``nbgrader submit`` wrote them).
SUBMISSION_FILES = (TIMESTAMP_FILE, "submission_secret.txt")
#: The mode of a feedback page: the student reads the copy release_feedback makes of it.
PAGE_MODE = 0o644
#: An answer longer than this is shown shortened (a page stays a page).
MAX_ANSWER_CHARACTERS = 20_000
#: nbgrader's markers of hidden tests: an answer holding them is never shown.
HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
#: A line of the hidden tests shorter than this is too common to mean anything.
MIN_HIDDEN_LINE = 8

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .4rem .6rem; text-align: left; }}
.passed {{ color: #1a7f37; }} .failed, .error, .timeout, .missing {{ color: #b42318; }}
.manual {{ color: #6e6e6e; }}
section.question {{ margin: 1.5rem 0 2rem; }}
section.question h2 {{ font-size: 1.1rem; }}
pre.answer {{ background: #f6f8fa; padding: .6rem; overflow-x: auto; white-space: pre-wrap; }}
.comment {{ border-left: 3px solid #0969da; padding: .2rem .6rem; background: #f0f6ff; }}
</style></head><body>
<h1>{title}</h1>
<p>Student <b>{student}</b>: <b>{score}</b> of {max_score} points{pending}.</p>
{when}{problems}{questions}
</body></html>
"""
TABLE_HEAD = ("<table><thead><tr><th>item</th><th>status</th><th>points</th><th>note</th>"
              "</tr></thead>\n<tbody>\n")
ROW = ('<tr><td>{grade_id}</td><td class="{status}">{status}</td>'
       "<td>{score} / {max_score}</td><td>{message}</td></tr>")
CODE_SPAN = re.compile(r"`([^`\n]+)`")


def _points(value) -> str:
    return "–" if value is None else f"{value:g}"


def inline(text: str) -> str:
    """``text`` as HTML, its Markdown code spans (```x```) shown as code; a backtick left
    unpaired (a title shortened inside a code span) is dropped."""
    opening, closing = "\ue000", "\ue001"  # private-use characters hold the spans' places
    text = html.escape(text.replace(opening, "").replace(closing, ""))
    spans = CODE_SPAN.sub(lambda match: f"{opening}{match.group(1)}{closing}", text)
    return spans.replace("`", "").replace(opening, "<code>").replace(closing, "</code>")


def _time(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def hidden_lines(root: Path, quiz: str) -> set[str]:
    """Every line (stripped, not too short) of the quiz's hidden tests, every notebook."""
    lines: set[str] = set()
    try:
        sources = load_assignment(root, quiz)
    except (QuizError, OSError, ValueError):
        return lines
    for source in sources:
        for cell in source.notebook.cells:
            inside = False
            for line in cell.source.splitlines():
                if HIDDEN_MARKERS[0] in line:
                    inside = True
                elif HIDDEN_MARKERS[1] in line:
                    inside = False
                elif inside and len(line.strip()) >= MIN_HIDDEN_LINE:
                    lines.add(line.strip())
    return lines


def shows_hidden_tests(text: str, hidden: set[str]) -> bool:
    """Whether ``text`` holds a line of the hidden tests or nbgrader's markers of them."""
    if any(marker in text for marker in HIDDEN_MARKERS):
        return True
    return any(line.strip() in hidden for line in text.splitlines())


def submitted_answers(root: Path, quiz: str, student: str) -> dict[tuple[str, str], dict]:
    """The student's answer cells as submitted, by (notebook, grade id): their text and
    cell type (the first cell of a grade id, where a broken notebook holds several)."""
    answers: dict[tuple[str, str], dict] = {}
    folder = root / "submitted" / student / quiz
    if not folder.is_dir():
        return answers
    for path in sorted(folder.glob("*.ipynb")):
        if path.is_symlink() or not path.is_file():
            continue
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 - a notebook broken past reading shows no answers
            continue
        for cell in notebook.cells:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if is_answer(cell) and isinstance(grade_id, str):
                answers.setdefault((path.stem, grade_id),
                                   {"text": str(cell.get("source", "")),
                                    "type": cell.get("cell_type", "code")})
    return answers


def item_answers(root: Path, quiz: str) -> dict[tuple[str, str], tuple[str, ...]]:
    """The answer cells each item grades, by (notebook, item's grade id), from the source."""
    try:
        sources = load_assignment(root, quiz)
    except (QuizError, OSError, ValueError):
        return {}
    return {(source.name, item.grade_id): item.answers or ((item.grade_id,) if item.manual
                                                             else ())
            for source in sources for item in source.items}


def _answer_block(grade_id: str, answer: dict | None, comment: str | None,
                  hidden: set[str]) -> str:
    parts = [f'<div class="answer-cell"><p>Your answer (<code>{html.escape(grade_id)}</code>):'
             "</p>"]
    if answer is None:
        parts.append("<p><i>no answer cell of this name in your notebook</i></p>")
    elif shows_hidden_tests(answer["text"], hidden):
        parts.append("<p><i>not shown here: it holds text of the quiz's hidden tests</i></p>")
    else:
        text = answer["text"]
        if len(text) > MAX_ANSWER_CHARACTERS:
            text = text[:MAX_ANSWER_CHARACTERS] + "\n… (shortened)"
        parts.append(f'<pre class="answer">{html.escape(text) or "<i>(empty)</i>"}</pre>')
    if comment:
        parts.append(f'<p class="comment"><b>Comment:</b> {html.escape(comment)}</p>')
    parts.append("</div>")
    return "\n".join(parts)


def page(quiz: str, student: str, result: dict, manual: dict[str, float | None],
         penalty: float = 0.0, *, answers: dict[tuple[str, str], dict] | None = None,
         comments: dict[tuple[str, str], str] | None = None,
         graded_answers: dict[tuple[str, str], tuple[str, ...]] | None = None,
         hidden: set[str] | None = None, submitted: datetime | None = None,
         due: datetime | None = None) -> str:
    """The feedback page of one submission; ``penalty`` is its late penalty, in points.

    ``answers`` (the student's answer cells), ``comments`` (a person's, by notebook and
    grade id) and ``graded_answers`` (the answer cells each item grades) are keyed by
    (notebook, grade id); ``hidden`` holds the hidden tests' lines, which no shown
    answer may hold."""
    answers, comments = answers or {}, comments or {}
    graded_answers, hidden = graded_answers or {}, hidden or set()
    several = len({item.get("notebook", "") for item in result["items"]}) > 1
    groups: list[tuple[str, str, list[dict]]] = []
    for item in result["items"]:
        notebook, title = item.get("notebook") or quiz, item.get("title", "")
        if groups and groups[-1][:2] == (notebook, title):
            groups[-1][2].append(item)
        else:
            groups.append((notebook, title, [item]))
    total, pending, sections, shown_comments = 0.0, 0, [], set()
    for notebook, title, items in groups:
        heading = f"{notebook}: {title}" if several else title
        shown = []
        for item in items:
            for answer_id in graded_answers.get((notebook, item["grade_id"]), ()):
                if answer_id not in shown:
                    shown.append(answer_id)
        blocks = [_answer_block(answer_id, answers.get((notebook, answer_id)),
                                comments.get((notebook, answer_id)), hidden)
                  for answer_id in shown]
        shown_comments.update((notebook, answer_id) for answer_id in shown)
        rows = []
        for item in items:
            score, status, message = item["score"], item["status"], item.get("message", "")
            if status == MANUAL:
                score = manual.get(item["grade_id"])
                pending += score is None
                message = "graded by a person" if score is not None else "awaiting a person"
            total += score or 0.0
            note = inline(message)
            comment = comments.get((notebook, item["grade_id"]))
            if comment and (notebook, item["grade_id"]) not in shown_comments:
                note += f'<div class="comment"><b>Comment:</b> {html.escape(comment)}</div>'
            rows.append(ROW.format(grade_id=html.escape(item["grade_id"]),
                                   status=html.escape(status), score=_points(score),
                                   max_score=_points(item["max_score"]), message=note))
        sections.append(f'<section class="question"><h2>{inline(heading)}</h2>\n'
                        + "".join(f"{block}\n" for block in blocks)
                        + TABLE_HEAD + "\n".join(rows) + "\n</tbody></table></section>")
    max_score = result["max_score"] + result.get("manual_max_score", 0.0)
    score = _points(total)
    if penalty:
        score = f"{_points(total - penalty)}</b> (<b>{_points(total)}</b> less a late penalty of " \
                f"<b>{_points(penalty)}</b>)<b>"
    when = ""
    if submitted or due:
        parts = []
        if submitted:
            parts.append(f"Submitted {_time(submitted)}")
        if due:
            parts.append(f"due {_time(due)}")
        late = " (late)" if submitted and due and submitted > due else ""
        when = f"<p>{'; '.join(parts)}{late}.</p>\n"
    problems = ""
    if result.get("problems"):
        problems = ("<p>Your notebook departs from the one you were given; it was graded "
                    "as follows:</p>\n<ul>\n" + "\n".join(
                        f"<li>{inline(problem)}</li>" for problem in result["problems"])
                    + "\n</ul>\n")
    return PAGE.format(title=html.escape(f"Feedback on {quiz}"), student=html.escape(student),
                       when=when, problems=problems, score=score,
                       max_score=_points(max_score),
                       pending=f" ({pending} item(s) still to be graded by a person)"
                       if pending else "", questions="\n".join(sections))


def feedback(quiz: str, *, root: str | Path | None = None) -> list[Path]:
    """Write the feedback page of every autograded submission of ``quiz``; return their paths."""
    root = Path(root) if root else find_course_root()
    validate_identifier(quiz, "quiz id")
    written = []
    graded_answers, hidden = item_answers(root, quiz), hidden_lines(root, quiz)
    due = gradebook.due_date(root, quiz)
    for stored in sorted((root / "autograded").glob(f"*/{quiz}/{RESULT_FILE}")):
        student = stored.parents[1].name
        result = json.loads(stored.read_text())["result"]
        folder = root / "feedback" / student / quiz
        folder.mkdir(parents=True, exist_ok=True)
        try:
            submitted = read_timestamp(root / "submitted" / student / quiz)
        except TimestampError:
            submitted = None
        text = page(quiz, student, result, gradebook.manual_scores(root, quiz, student),
                    gradebook.late_penalty(root, quiz, student),
                    answers=submitted_answers(root, quiz, student),
                    comments=gradebook.comments(root, quiz, student),
                    graded_answers=graded_answers, hidden=hidden,
                    submitted=submitted.replace(tzinfo=None) if submitted else None, due=due)
        notebooks = sorted({*result.get("notebooks", {}),
                            *(item.get("notebook") or quiz for item in result["items"])})
        for notebook in notebooks or [quiz]:
            path = folder / f"{notebook}.html"
            path.write_text(text, encoding="utf-8")
            path.chmod(PAGE_MODE)
            written.append(path)
        for name in SUBMISSION_FILES:
            submitted_file = root / "submitted" / student / quiz / name
            if submitted_file.is_file() and not submitted_file.is_symlink():
                shutil.copyfile(submitted_file, folder / name)
    return written
