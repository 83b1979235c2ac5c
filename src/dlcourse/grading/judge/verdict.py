"""The verdict on each item of an executed notebook: pure functions of what the run left.

Nothing here runs code or reads files: the inputs are the source's items, the
cell outcomes of the run, the check records, the executed test cells'
outputs and the key, so that every rule is tested on in-memory values
(``tests/test_verdict.py``).

An autograded item (a test cell) is

- ``passed`` when its cell ran without an error and, for a **keyed** item,
  every check the key holds for it was recorded in that cell, well formed and
  matching; for an **in-kernel** item (a test cell of plain asserts), when it
  raised nothing, with stock nbgrader's partial credit (:func:`partial_credit`);
- ``failed`` when the cell raised ``AssertionError`` (a visible test) or a
  check is missing, malformed, of the wrong type or differs from the key, or
  an in-kernel test cell gave partial credit;
- ``error`` when the cell raised anything else, or never ran because the
  kernel died;
- ``timeout`` when the cell, or the notebook, ran out of time;
- ``missing`` when it would be an error and the submission lacks the answer
  cell(s) the item grades, or when a file the item grades was not written.

Manual items (free text, code a person reads, nbgrader tasks) are ``manual``
with score ``None``, except an answer left as released: ``missing``, 0 points,
"No response.", as nbgrader's ``determine_grade`` scores an unchanged answer cell (a
person need not grade it). A notebook of the assignment that was not handed in
scores 0 on every item, manual ones too (:func:`not_submitted`), as ``nbgrader
autograde`` scores it. Unlike stock nbgrader, output on stderr never changes a
verdict: TensorFlow's warnings are not a wrong answer.
"""

from __future__ import annotations

from ...protocol import values
from ...protocol.key import Key
from ..prepare.source import Item, SourceQuiz
from ..result import (
    BY_PERSON,
    ERROR,
    FAILED,
    IN_KERNEL,
    MANUAL,
    MISSING,
    PASSED,
    TIMEOUT,
    GradeResult,
    ItemResult,
)
from ..run import execute
from ..run.records import Record
from . import messages


def partial_credit(outputs: list, points: float) -> tuple[float | None, str]:
    """Stock nbgrader's score of a test cell that raised nothing, from its outputs.

    As ``nbgrader.utils.determine_grade`` and ``get_partial_grade``: the first
    ``execute_result`` whose text is a single number gives that number (a
    negative one, or text that is not a number, gives full points); with no
    such output the cell gets full points. Where nbgrader raises (a number
    above the cell's points) the item scores ``None`` with the reason. Unlike
    nbgrader, stderr output counts for nothing.
    """
    for output in outputs:
        if output.get("output_type") != "execute_result":
            continue
        text = output.get("data", {}).get("text/plain", "")
        if isinstance(text, list):
            if len(text) > 1:
                return points, ""
            text = text[0] if text else ""
        try:
            grade = float(text)
        except (TypeError, ValueError):
            return points, ""
        if grade < 0.0 or grade != grade:  # nbgrader: "strange", full points (nan too)
            return points, ""
        if grade > points:
            return None, f"the test cell's output {grade:g} is above its {points:g} points"
        return grade, ""
    return points, ""


def _result(item: Item, status: str, message: str = "", score: float | None = None,
            reason: str | None = None) -> ItemResult:
    """An item's result; ``reason`` is why it lost points (default: the whole message)."""
    if score is None:
        score = item.points if status == PASSED else 0.0
    return ItemResult(item.grade_id, score, item.points, status, message, item.title,
                      item.verdict, reason=message if reason is None else reason)


def _not_finished(item: Item, outcome: execute.CellOutcome | None, answered: set[str],
                  answer_outcomes: dict[str, execute.CellOutcome],
                  context: messages.Context) -> ItemResult | None:
    """The verdict on a test cell that did not run to its end, or ``None`` if it did."""
    unanswered = [a for a in item.answers if a not in answered]
    if outcome is None or outcome.status in (execute.DEAD, execute.NOT_RUN):
        reason = outcome.evalue if outcome else "the test cell did not run"
        return _result(item, MISSING if unanswered else ERROR, reason)
    if outcome.status == execute.TIMEOUT:
        return _result(item, TIMEOUT, outcome.evalue)
    slow = [a for a in item.answers
            if a in answer_outcomes and answer_outcomes[a].status == execute.TIMEOUT]
    if slow and outcome.status == execute.ERROR:
        return _result(item, TIMEOUT, f"answer cell {', '.join(slow)} ran out of time")
    if outcome.status == execute.ERROR:
        if unanswered:
            return _result(item, MISSING,
                           f"no answer cell {', '.join(unanswered)} in the submission")
        status = FAILED if outcome.ename in ("AssertionError", "CheckFailed") else ERROR
        broken = [a for a in item.answers
                  if a in answer_outcomes and answer_outcomes[a].status == execute.ERROR]
        message, reason = context.test_cell_error(outcome, broken, answer_outcomes)
        return _result(item, status, message, reason=reason)
    return None


def judge(item: Item, records: list[Record], outcome: execute.CellOutcome | None, key: Key,
          answered: set[str], answer_outcomes: dict[str, execute.CellOutcome],
          context: messages.Context | None = None, unkeyed: str = "") -> ItemResult:
    """The verdict on one keyed item, from its executed test cell and the key.

    ``unkeyed`` says why the key has no checks for it (the solution's own test failed at
    release), where that is so: the item then scores 0, saying so, for every submission.
    """
    context = context or messages.Context()
    expected_checks = key.items.get(item.grade_id)
    if not expected_checks and unkeyed:
        return _result(item, ERROR, f"not graded: the instructor's solution failed this test "
                                    f"at release ({unkeyed}), so there is no key for it",
                       reason="not graded: no key for this item")
    unfinished = _not_finished(item, outcome, answered, answer_outcomes, context)
    if unfinished is not None:
        return unfinished
    recorded: dict[str, list] = {}
    for record in records:
        recorded.setdefault(record.name, []).append(record)
    if not expected_checks:
        return _result(item, ERROR, "the key has no checks for this item: run `dlcourse release`")
    for expected in expected_checks:
        got = recorded.get(expected.name)
        if not got:
            return _result(item, FAILED, f"check {expected.name!r} was not recorded")
        for record in got:
            if record.missing:
                return _result(item, MISSING, f"check {expected.name!r}: {record.problem}")
            if record.problem:
                return _result(item, FAILED, f"check {expected.name!r}: {record.problem}")
            try:
                found = values.difference(expected.value, record.value,
                                          rtol=expected.rtol, atol=expected.atol)
            except values.ValueFormatError as error:
                return _result(item, FAILED, f"check {expected.name!r}: {error}")
            if found:
                return _result(item, FAILED, messages.check_failed(expected, found))
    return _result(item, PASSED)


def judge_in_kernel(item: Item, outputs: list, outcome: execute.CellOutcome | None,
                    answered: set[str], answer_outcomes: dict[str, execute.CellOutcome],
                    context: messages.Context | None = None) -> ItemResult:
    """The verdict on one in-kernel item (a test cell of plain asserts), by nbgrader's rule.

    It passes when its cell raised nothing; an output number gives partial
    credit (:func:`partial_credit`). Stderr never fails it.
    """
    context = context or messages.Context()
    unfinished = _not_finished(item, outcome, answered, answer_outcomes, context)
    if unfinished is not None:
        return unfinished
    credit, problem = partial_credit(outputs, item.points)
    if credit is None:
        return _result(item, ERROR, problem)
    if credit < item.points:
        return _result(item, FAILED, f"the test cell gave {credit:g} of {item.points:g} points",
                       score=credit)
    return _result(item, PASSED)


#: nbgrader's comment on an answer left as released (its ``SaveAutoGrades``).
NO_RESPONSE = "No response."


def unanswered(source: SourceQuiz, answered: set[str], index_of: dict[str, int],
               notebook) -> list[str]:
    """The answer cells handed in still holding what the student version gave them."""
    if notebook is None:
        return []
    return [grade_id for grade_id in source.answer_ids
            if grade_id in answered and grade_id in index_of and grade_id in source.blank_answers
            and notebook.cells[index_of[grade_id]].source == source.blank_answers[grade_id]]


def score(source: SourceQuiz, records: dict[str, list[Record]],
          outcomes: list[execute.CellOutcome], key: Key, answered: set[str],
          index_of: dict[str, int], notebook=None,
          unkeyed: dict[str, str] | None = None) -> GradeResult:
    """Turn the records and outcomes of an executed, assembled notebook into a result.

    ``notebook`` is the executed notebook: its test cells' outputs decide
    in-kernel items, messages point at its cells, and answers left as released are
    "No response.". ``unkeyed``: why some keyed items have no key (:func:`judge`).
    """
    unkeyed = unkeyed or {}
    by_index = {outcome.index: outcome for outcome in outcomes}
    answer_outcomes = {a: by_index[index_of[a]] for a in source.answer_ids
                       if a in index_of and index_of[a] in by_index}
    context = messages.Context.of(notebook, outcomes, index_of, source)
    blank = unanswered(source, answered, index_of, notebook)
    items = []
    for item in source.items:
        if item.manual and item.answers and set(item.answers) <= set(blank):
            items.append(ItemResult(item.grade_id, 0.0, item.points, MISSING, NO_RESPONSE,
                                    item.title, item.verdict, reason=NO_RESPONSE))
        elif item.manual:
            status = MANUAL if set(item.answers) <= answered else MISSING
            reason = "" if status == MANUAL else "the submission has no answer cell for it"
            items.append(ItemResult(item.grade_id, None, item.points, status,
                                    "graded by a person", item.title, item.verdict,
                                    reason=reason))
        elif item.verdict == IN_KERNEL:
            index = index_of[item.grade_id]
            outputs = notebook.cells[index].get("outputs", []) if notebook is not None else []
            items.append(judge_in_kernel(item, outputs, by_index.get(index), answered,
                                         answer_outcomes, context))
        else:
            index = index_of[item.grade_id]
            items.append(judge(item, records.get(item.grade_id, []), by_index.get(index), key,
                               answered, answer_outcomes, context,
                               unkeyed.get(item.grade_id, "")))
    for item in items:
        item.notebook = source.name
    # autograded points only: an item graded by a person adds nothing until a person does
    total = sum(i.score for i in items if i.score is not None and i.verdict != BY_PERSON)
    return GradeResult(source.quiz, total, source.max_score, source.manual_max_score, items,
                       unanswered=blank)


def not_submitted(source: SourceQuiz, path: str) -> GradeResult:
    """The result of a notebook of the assignment that was not handed in: every item 0,
    manual ones too (nbgrader autograde: "No submitted file", 0 points, nothing to grade
    by hand). Not an error: the rest of the submission is graded."""
    message = f"not handed in: no {path}"
    items = [ItemResult(i.grade_id, 0.0, i.points, MISSING, message, i.title, i.verdict,
                        source.name, reason=message) for i in source.items]
    return GradeResult(source.quiz, 0.0, source.max_score, source.manual_max_score, items)


def failed_whole(source: SourceQuiz, message: str) -> GradeResult:
    """The result of a notebook that could not be run at all: every item scores zero."""
    items = [ItemResult(i.grade_id, None if i.manual else 0.0, i.points,
                        MISSING if i.manual else ERROR, message, i.title, i.verdict, source.name,
                        reason=message)
             for i in source.items]
    return GradeResult(source.quiz, 0.0, source.max_score, source.manual_max_score, items,
                       error=message)
