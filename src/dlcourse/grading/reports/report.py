"""``dlcourse report``: how each item of a graded quiz went (item analysis).

Built from the stored results (``autograded/<student>/<quiz>/dlcourse-result.json``,
read by key, unknown keys ignored) and the manual scores in the gradebook
(whatever database it uses). Per item:

- how many submissions **passed**, **failed**, **errored**, **timed out** or
  left it **missing** (for an item graded by hand: how many a person has
  graded and how many are still **pending**);
- the **mean** score and its **spread** (standard deviation over the
  students, ``ddof=0``);
- its **discrimination**: the Pearson correlation of the item's score with
  the rest of the quiz (the student's total without this item), over the
  students with a score for it. Good items correlate positively: students who
  do well elsewhere do well on them. One near zero or negative
  (below ``flag_below``) is flagged, the classic sign of a broken or ambiguous
  question. An item every student scored the same on has none (it tells
  nothing apart);
- its most frequent **failure messages**, reduced to the check's name and
  the kind of difference (never a value of the key);

and for the quiz: the distribution of totals (autograded plus manual
points; a pending manual score counts 0) and the grading time per submission
(the ``seconds`` that ``dlcourse autograde`` stores with each result). For a quiz whose
numbers differ by student, the pass rate of each item by the range each parameter fell
in, where a parameter made an item easier or harder (:mod:`.variant_difficulty`).
Printed as tables, and written as one HTML page with its plots embedded
(PNG, base64): no network, no external file.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ...config import find_course_root, validate_identifier
from ...files import write_atomically

# .result is light: the CLI can build its parser without importing the grader
from ..judge.messages import YOURS
from ..result import ERROR, FAILED, MANUAL, MISSING, PASSED, RESULT_FILE, TIMEOUT
from .variant_difficulty import ParameterDifficulty, difficulty
from .variant_difficulty import plot as plot_difficulty

GRADED, PENDING = "graded", "pending"  # an item graded by hand, by a person or not yet
STATUSES = (PASSED, FAILED, ERROR, TIMEOUT, MISSING, GRADED, PENDING)
WHOLE = "the whole submission could not be graded"


class NothingGraded(ValueError):
    """No stored result for the quiz (``dlcourse report`` says so and exits 1)."""


@dataclass
class ItemStats:
    grade_id: str
    max_score: float
    manual: bool
    counts: dict[str, int]
    scores: dict[str, float]  # by student, only where the item has a score
    mean: float | None
    spread: float | None
    discrimination: float | None
    flagged: bool
    failures: list[tuple[str, int]] = field(default_factory=list)
    title: str = ""  # the question's heading, where the grader stores it


@dataclass
class QuizReport:
    quiz: str
    students: list[str]
    items: list[ItemStats]
    totals: dict[str, float]
    max_score: float
    seconds: dict[str, float]  # grading time, where stored
    not_graded: list[str]  # submissions that could not be graded at all
    flag_below: float
    html: Path | None = None  # the page, once written
    #: for a quiz whose numbers differ by student: the parameters whose ranges made an
    #: item easier or harder (:mod:`.variant_difficulty`)
    by_parameter: list[ParameterDifficulty] = field(default_factory=list)

    @property
    def flagged(self) -> list[ItemStats]:
        return [item for item in self.items if item.flagged]


# ---------------------------------------------------------------- the numbers


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _spread(values: list[float]) -> float | None:
    mean = _mean(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)) if values else None


def correlation(xs: list[float], ys: list[float]) -> float | None:
    """Pearson's r, or None where either side does not vary (or fewer than 3 pairs)."""
    if len(xs) < 3:
        return None
    mx, my = _mean(xs), _mean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx <= 1e-12 or syy <= 1e-12:
        return None
    return sxy / math.sqrt(sxx * syy)


_CODE = re.compile(r"`[^`]*`")
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
_KINDS = [  # (pattern in the grader's message, the kind of difference), first match wins
    (re.compile(r"values differ"), "values differ"),
    (re.compile(r"keys differ"), "other keys"),
    (re.compile(r"expected shape"), "wrong shape"),
    (re.compile(r"expected \d+ items"), "wrong length"),
    (re.compile(r"expected (a |an )?(number|list|dict|array|str|bool|int|float|NoneType)"),
     "wrong type"),
    (re.compile(r"not recorded"), "not recorded"),
    (re.compile(r"malformed"), "malformed"),
    (re.compile(r"\bdiffers?\b"), "a different value"),
]


def _plain(text: str) -> str:
    """Text with code, quoted strings and numbers blanked, so that like messages group."""
    text = _QUOTED.sub("'…'", _CODE.sub("`…`", text))
    return re.sub(r"\d+(\.\d+)?", "#", text).strip()[:120] or "(no message)"


def failure_kind(message: str) -> str:
    """A grader's message reduced to the check's name and the kind of difference.

    ``check 'softmax_torch_large': values differ from the expected ones``
    becomes ``check 'softmax_torch_large': values differ``; shapes, lengths,
    entries and other details go. An instructor's hint (a message naming a
    check but no kind of difference) is kept, as the student sees it. Other
    messages keep their words, with code, quoted text and numbers blanked.
    """
    message = re.split(r"(?<=[.?!]) " + YOURS, message.strip())[0].rstrip(".")  # theirs: no kind
    check = re.match(r"check ('[A-Za-z0-9_-]*')(?:,[^:]*)?:?\s*(.*)", message, re.S)
    if check:
        rest = check.group(2)
        kind = next((kind for pattern, kind in _KINDS if pattern.search(rest)), None)
        return f"check {check.group(1)}: {kind or rest.strip()[:120]}"
    return _plain(message)


def analyse(quiz: str, documents: dict[str, dict], manual: dict[str, dict[str, float | None]],
            *, flag_below: float = 0.15, top_failures: int = 3) -> QuizReport:
    """Item analysis of stored results (pure: documents and manual scores in, numbers out).

    ``documents`` maps each student to a stored result file's content
    (``{"result": <grade --json document>, "seconds": ...}``); ``manual`` maps
    each student to the scores a person gave, by grade id (None: not yet).
    """
    students = sorted(documents)
    order: dict[str, tuple[float, bool]] = {}
    titles: dict[str, str] = {}
    for student in students:
        for item in documents[student].get("result", {}).get("items", []):
            if isinstance(item, dict) and "grade_id" in item:
                order.setdefault(item["grade_id"], (float(item.get("max_score") or 0.0),
                                                    item.get("status") == MANUAL))
                if isinstance(item.get("title"), str) and item["title"]:
                    titles.setdefault(item["grade_id"], item["title"])
    # an item is graded by hand when any submission has it as such (the others missed it)
    for student in students:
        for item in documents[student].get("result", {}).get("items", []):
            if isinstance(item, dict) and item.get("status") == MANUAL:
                order[item["grade_id"]] = (order[item["grade_id"]][0], True)

    per_item: dict[str, dict[str, float]] = {g: {} for g in order}
    counts = {g: Counter() for g in order}
    failures = {g: Counter() for g in order}
    totals = dict.fromkeys(students, 0.0)
    seconds, not_graded = {}, []
    for student in students:
        stored = documents[student]
        result = stored.get("result", {})
        if result.get("error"):
            not_graded.append(student)
        took = stored.get("seconds", result.get("seconds"))
        if isinstance(took, (int, float)):
            seconds[student] = float(took)
        items = {i["grade_id"]: i for i in result.get("items", [])
                 if isinstance(i, dict) and "grade_id" in i}
        for grade_id, (_, by_hand) in order.items():
            item = items.get(grade_id, {"status": MISSING, "score": None})
            status = item.get("status", MISSING)
            if by_hand and status != MISSING:
                score = manual.get(student, {}).get(grade_id)
                counts[grade_id][PENDING if score is None else GRADED] += 1
                if score is not None:
                    per_item[grade_id][student] = float(score)
            else:
                counts[grade_id][status] += 1
                per_item[grade_id][student] = float(item.get("score") or 0.0)
                if status not in (PASSED, MANUAL):
                    failures[grade_id][WHOLE if result.get("error") else
                                       failure_kind(str(item.get("message", "")))] += 1
            totals[student] += per_item[grade_id].get(student, 0.0)

    stats = []
    for grade_id, (max_score, by_hand) in order.items():
        scores = per_item[grade_id]
        xs = [scores[s] for s in students if s in scores]
        rest = [totals[s] - scores[s] for s in students if s in scores]
        r = correlation(xs, rest)
        stats.append(ItemStats(grade_id, max_score, by_hand,
                               {status: counts[grade_id][status] for status in STATUSES},
                               scores, _mean(xs), _spread(xs), r,
                               r is not None and r < flag_below,
                               failures[grade_id].most_common(top_failures),
                               titles.get(grade_id, "")))
    return QuizReport(quiz, students, stats, totals, sum(m for m, _ in order.values()),
                      seconds, not_graded, flag_below)


# ---------------------------------------------------------------- reading a course


def stored_results(root: Path, quiz: str) -> dict[str, dict]:
    """Each student's stored result of ``quiz`` (unreadable files are left out)."""
    documents = {}
    for path in sorted((root / "autograded").glob(f"*/{quiz}/{RESULT_FILE}")):
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(document, dict) and isinstance(document.get("result"), dict):
            documents[path.parents[1].name] = document
    return documents


def report(quiz: str, *, root: str | Path | None = None, html: str | Path | None = None,
           flag_below: float = 0.15, top_failures: int = 3) -> QuizReport:
    """Analyse the graded submissions of ``quiz`` and write the HTML page.

    ``html`` is the page (default ``autograded/report-<quiz>.html``, with the
    instructor's files); an item whose discrimination is below ``flag_below``
    is flagged; ``top_failures`` failure messages are kept per item. Raises
    :class:`NothingGraded` when no submission of the quiz has been graded.
    """
    root = Path(root) if root else find_course_root()
    validate_identifier(quiz, "quiz id")
    documents = stored_results(root, quiz)
    if not documents and not (root / "source" / quiz).is_dir():
        raise NothingGraded(f"no quiz {quiz!r}: there is no source/{quiz}/ in {root}")
    if not documents:
        raise NothingGraded(f"nothing of {quiz} has been graded yet (no {RESULT_FILE} under "
                            f"{root / 'autograded'}); run `dlcourse autograde {quiz}` first")
    from ..store.gradebook import manual_scores_of_quiz  # nbgrader and SQLAlchemy: only when needed

    result = analyse(quiz, documents, manual_scores_of_quiz(root, quiz), flag_below=flag_below,
                     top_failures=top_failures)
    result.by_parameter = _by_parameter(root, quiz, documents)
    target = Path(html) if html else root / "autograded" / f"report-{quiz}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, page(result))
    result.html = target
    return result


def _by_parameter(root: Path, quiz: str, documents: dict[str, dict]
                  ) -> list[ParameterDifficulty]:
    """Each varied parameter worth showing, for a quiz whose numbers differ by student."""
    from ..prepare.source import QuizError, load_source
    from ..prepare.variant import declared

    try:
        spec = declared(load_source(root, quiz))
    except QuizError:
        return []
    if spec is None:
        return []
    statuses = {student: {item["grade_id"]: item.get("status", MISSING)
                          for item in document["result"].get("items", [])
                          if isinstance(item, dict) and "grade_id" in item}
                for student, document in documents.items()
                if not document["result"].get("error")}
    return difficulty(quiz, spec, statuses)


# ---------------------------------------------------------------- output


def _number(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _counts(item: ItemStats) -> str:
    return " ".join(f"{item.counts[s]:>4}" for s in STATUSES)


def table(result: QuizReport) -> str:
    """The report as terminal tables."""
    width = max(4, *(len(item.grade_id) for item in result.items))
    heads = " ".join(f"{s[:4]:>4}" for s in STATUSES)
    lines = [f"{result.quiz}: {len(result.students)} graded submission(s)"
             + (f", {len(result.not_graded)} could not be graded" if result.not_graded else ""),
             "",
             f"{'item':<{width}}  {'pts':>4}  {heads}  {'mean':>5}  {'sd':>5}  {'disc':>5}"]
    for item in result.items:
        flag = "  <- check this item" if item.flagged else ""
        lines.append(f"{item.grade_id:<{width}}  {item.max_score:>4g}  {_counts(item)}  "
                     f"{_number(item.mean):>5}  {_number(item.spread):>5}  "
                     f"{_number(item.discrimination):>5}{flag}")
    lines.append("")
    lines.append(f"disc: correlation of the item with the rest of the quiz; below "
                 f"{result.flag_below:g} is flagged (a broken or ambiguous question?)")
    common = [(item.grade_id, message, count) for item in result.items
              for message, count in item.failures]
    if common:
        lines += ["", "most frequent failures:"]
        lines += [f"  {grade_id:<{width}}  {count:>4} x  {message}"
                  for grade_id, message, count in common]
    totals = sorted(result.totals.values())
    lines += ["", f"total score (of {result.max_score:g}): mean {_number(_mean(totals))}, "
                  f"sd {_number(_spread(totals))}, median {_number(_median(totals))}, "
                  f"min {totals[0]:g}, max {totals[-1]:g}"]
    if result.seconds:
        times = sorted(result.seconds.values())
        lines.append(f"grading time per submission: mean {_mean(times):.1f} s, median "
                     f"{_median(times):.1f} s, max {times[-1]:.1f} s "
                     f"({len(times)} of {len(result.students)} timed)")
    else:
        lines.append("grading time per submission: not stored (graded before dlcourse "
                     "autograde recorded it)")
    for found in result.by_parameter:
        lines += ["", f"pass rate by the student's {found.parameter} (groups: "
                      + ", ".join(f"{g} ({n})" for g, n in zip(found.groups, found.sizes,
                                                                strict=True)) + "):"]
        lines += [f"  {grade_id:<{width}}  " + "  ".join(_number(r) for r in rates)
                  for grade_id, rates in found.pass_rates.items()
                  if len({r for r in rates if r is not None}) > 1]
    return "\n".join(lines)


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def _png(figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return ('<img alt="" src="data:image/png;base64,'
            + base64.b64encode(buffer.getvalue()).decode() + '">')


COLOURS = {PASSED: "#1a7f37", FAILED: "#d1242f", ERROR: "#8250df", TIMEOUT: "#bf8700",
           MISSING: "#8c959f", GRADED: "#0969da", PENDING: "#d0d7de"}


def plots(result: QuizReport) -> dict[str, str]:
    """The page's figures as ``<img>`` tags with embedded PNGs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    names = [item.grade_id for item in result.items]
    figure, axis = plt.subplots(figsize=(7, 0.28 * len(names) + 1.2))
    left = [0.0] * len(names)
    for status in STATUSES:
        values = [item.counts[status] for item in result.items]
        if any(values):
            axis.barh(names, values, left=left, color=COLOURS[status], label=status)
            left = [a + b for a, b in zip(left, values, strict=True)]
    axis.invert_yaxis()
    axis.set_xlabel("submissions")
    axis.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axis.set_title("Outcome of each item")
    out["statuses"] = _png(figure)

    figure, axis = plt.subplots(figsize=(7, 0.28 * len(names) + 1.2))
    values = [item.discrimination if item.discrimination is not None else 0.0
              for item in result.items]
    axis.barh(names, values, color=["#d1242f" if item.flagged else "#0969da"
                                    if item.discrimination is not None else "#d0d7de"
                                    for item in result.items])
    axis.axvline(result.flag_below, color="#d1242f", linestyle="--", linewidth=1)
    axis.invert_yaxis()
    axis.set_xlim(min(-0.3, *values) - 0.05, 1.0)
    axis.set_xlabel("correlation with the rest of the quiz (red: flagged, grey: none)")
    axis.set_title("Discrimination")
    out["discrimination"] = _png(figure)

    figure, axis = plt.subplots(figsize=(7, 3))
    axis.hist(list(result.totals.values()), bins=min(20, max(5, int(result.max_score) + 1)),
              range=(0, max(result.max_score, 1)), color="#0969da", edgecolor="white")
    axis.set_xlabel(f"total score (of {result.max_score:g})")
    axis.set_ylabel("students")
    axis.set_title("Score distribution")
    out["distribution"] = _png(figure)

    if result.seconds:
        figure, axis = plt.subplots(figsize=(7, 3))
        axis.hist(list(result.seconds.values()), bins=20, color="#8250df", edgecolor="white")
        axis.set_xlabel("seconds to grade one submission")
        axis.set_ylabel("submissions")
        axis.set_title("Grading time")
        out["seconds"] = _png(figure)
    for found in result.by_parameter:
        out[f"parameter {found.parameter}"] = _png(plot_difficulty(found))
    return out


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 84rem; margin: 1.5rem auto;
       padding: 0 1rem; }}
table {{ border-collapse: collapse; font-size: 85%; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .25rem .45rem; text-align: right;
          vertical-align: top; }}
th:first-child, td:first-child, .text {{ text-align: left; }}
td.text {{ font-size: 90%; overflow-wrap: anywhere; max-width: 30rem; color: #444; }}
tr.flagged td {{ background: #fff1f0; }}
.flag {{ color: #b42318; font-weight: bold; }}
.plots {{ display: flex; flex-wrap: wrap; gap: 1rem; }}
.plots img {{ width: calc(50% - .5rem); height: auto; }}
</style></head><body>
<h1>{title}</h1>
<p>{summary}</p>
<div class="plots">{status_plot}{discrimination_plot}</div>
<p><i>Discrimination</i> is the correlation of an item's score with the rest of the quiz.
Items below {flag_below:g} are flagged: students who did well elsewhere did no better on
them, the classic sign of a broken or ambiguous question (or one nobody was taught).
Failure messages name the check and the kind of difference, never the key.</p>
<h2>Scores and grading time</h2>
<p>{scores}</p>
<div class="plots">{distribution_plot}{seconds_plot}</div>
{variants}<h2>Items</h2>
<table><thead><tr><th>item</th><th>points</th>{status_heads}<th>mean</th><th>sd</th>
<th>discrimination</th><th class="text">most frequent failures</th></tr></thead>
<tbody>
{rows}
</tbody></table>
</body></html>
"""


def page(result: QuizReport) -> str:
    """The report as one self-contained HTML page."""
    figures = plots(result)
    rows = []
    for item in result.items:
        failures = "<br>".join(f"{count} × {html.escape(message)}"
                               for message, count in item.failures)
        flag = ' <span class="flag">flagged</span>' if item.flagged else ""
        cells = "".join(f"<td>{item.counts[s] or ''}</td>" for s in STATUSES)
        rows.append(f'<tr class="{"flagged" if item.flagged else ""}">'
                    f"<td>{html.escape(item.grade_id)}{' (by hand)' if item.manual else ''}"
                    + (f'<br><small class="text">{html.escape(item.title)}</small>'
                       if item.title else "") + "</td>"
                    f"<td>{item.max_score:g}</td>{cells}<td>{_number(item.mean)}</td>"
                    f"<td>{_number(item.spread)}</td><td>{_number(item.discrimination)}{flag}"
                    f'</td><td class="text">{failures}</td></tr>')
    totals = sorted(result.totals.values())
    scores = (f"Total (autograded and manual points; a manual score still pending counts 0): "
              f"mean {_number(_mean(totals))} of {result.max_score:g}, sd "
              f"{_number(_spread(totals))}, median {_number(_median(totals))}, range "
              f"{totals[0]:g}–{totals[-1]:g}. ")
    if result.seconds:
        times = list(result.seconds.values())
        scores += (f"Grading took {_mean(times):.1f} s per submission on average (median "
                   f"{_median(times):.1f} s, slowest {max(times):.1f} s).")
    else:
        scores += "No grading time is stored with these results."
    flagged = ", ".join(html.escape(item.grade_id) for item in result.flagged)
    summary = (f"{len(result.students)} graded submission(s), {len(result.items)} items"
               + (f"; {len(result.not_graded)} submission(s) could not be graded at all"
                  if result.not_graded else "")
               + (f". Flagged: <b>{flagged}</b>." if flagged else ". No item is flagged."))
    variants = ""
    if result.by_parameter:
        variants = ("<h2>Items by the student's own numbers</h2><p>Each student's numbers "
                    "in this quiz are their own. These parameters made some item easier or "
                    "harder: its pass rate differs between groups of students whose values "
                    "fell in different ranges. A fair quiz keeps that small; a wide gap "
                    "calls for narrower ranges.</p><div class=\"plots\">"
                    + "".join(figures[f"parameter {found.parameter}"]
                              for found in result.by_parameter) + "</div>")
    return PAGE.format(
        title=html.escape(f"Item analysis of {result.quiz}"), summary=summary,
        variants=variants,
        status_heads="".join(f"<th>{s}</th>" for s in STATUSES), rows="\n".join(rows),
        flag_below=result.flag_below, status_plot=figures["statuses"],
        discrimination_plot=figures["discrimination"], scores=scores,
        distribution_plot=figures["distribution"], seconds_plot=figures.get("seconds", ""))
