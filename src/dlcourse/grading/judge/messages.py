"""What a student reads about an item that did not pass, in the terms of their own work.

The rules (README, "Grading safely"): a message says why the item lost points, in
the student's terms, then where. It may name the check, the instructor's hint, the
kind of difference and what the student's own value shows (their value at the first
place it is off, their multiple-choice answer), the exception's type and its own
message (first line, shortened, long runs of numbers elided so that no array is
quoted whole), the line of the student's own answer cell (their code is theirs to
see) and the line of a visible test. It never holds key values, hidden test code, or
the message of an assertion in the hidden test (which the instructor wrote and may
quote hidden inputs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ...protocol.key import KeyCheck
from ...protocol.values import Difference
from ..run import execute

HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
HIDDEN_END = "### END HIDDEN TESTS"
_CHECK_CALL = re.compile(r"""\bcheck(?:_file)?\(\s*(['"])([A-Za-z0-9_-]+)\1""")
MAX_CODE_CHARACTERS = 80
MAX_REASON_CHARACTERS = 200
#: Four or more numbers in a row (an array printed in an exception's message).
_NUMBER_RUN = re.compile(r"(?:[-+]?\d[\d.eE+-]*[,;\s]+){3,}[-+]?\d[\d.eE+-]*")
#: How the student's own value is introduced after the hint (report.py strips it to group).
YOURS = "In your answer: "


def with_yours(text: str, yours: str) -> str:
    """``text``, then what the student's own value shows, as one more sentence."""
    if not yours:
        return text
    return f"{text}{' ' if text.endswith(('.', '?', '!')) else '. '}{YOURS}{yours}"


_KERNEL_FILE = re.compile(r" \(\d+\.py, line \d+\)$")


def exception_text(ename: str, evalue: str = "") -> str:
    """An exception as a reason: its type and the first line of its message, shortened."""
    lines = (evalue or "").strip().splitlines()
    if lines:  # a SyntaxError names the kernel's temporary file: "(810304699.py, line 3)"
        lines[0] = _KERNEL_FILE.sub("", lines[0])
    text = _NUMBER_RUN.sub("…", lines[0].strip()) if lines else ""
    if len(text) > MAX_REASON_CHARACTERS:
        text = text[:MAX_REASON_CHARACTERS - 1] + "…"
    if text:
        return f"{ename or 'an error'}: {text}"
    if ename == "NotImplementedError":
        return "NotImplementedError: the answer is not written yet (the starter code raises it)"
    return f"{ename or 'an error'} (with no message)"


def check_failed(expected: KeyCheck, found: Difference) -> str:
    """The message for a check whose value differs from the key's."""
    name = f"check {expected.name!r}"
    hint = expected.hint
    entries = [part for part in found.where if isinstance(part, str)]
    if isinstance(hint, dict):  # the hint of the deepest entry on the way that has one
        hint = next((hint[e] for e in reversed(entries) if e in hint), hint.get("*"))
    if hint:
        return with_yours(f"{name}: {hint}", found.yours)
    if entries:
        return with_yours(f"{name}, entry {' / '.join(repr(e) for e in entries)}: {found.what}",
                          found.yours)
    return with_yours(f"{name}: {found.what}", found.yours)


def variant_mismatch(student: str) -> str:
    """Said on a failed item whose numbers are the student's own (:mod:`dlcourse.variants`)."""
    return (f"this item's numbers are your own: it was checked against the variant of "
            f"student {student!r}, and an answer worked out for another student's numbers "
            "does not match")


def _code(line: str) -> str:
    text = line.strip()
    return text if len(text) <= MAX_CODE_CHARACTERS else text[:MAX_CODE_CHARACTERS - 1] + "…"


@dataclass
class Context:
    """What the messages of one executed, assembled notebook may point at."""

    #: execution count -> cell source, for the student's answer cells
    answer_sources: dict[int, tuple[str, str]] = field(default_factory=dict)
    #: execution count -> test cell source
    test_sources: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, notebook, outcomes: list[execute.CellOutcome], index_of: dict[str, int],
           source) -> Context:
        context = cls()
        if notebook is None:
            return context
        grade_id_of = {index: grade_id for grade_id, index in index_of.items()}
        answers = set(source.answer_ids)
        tests = {item.grade_id for item in source.autograded}
        for outcome in outcomes:
            if outcome.execution_count is None or outcome.index not in grade_id_of:
                continue
            grade_id = grade_id_of[outcome.index]
            text = notebook.cells[outcome.index].source
            if grade_id in answers:
                context.answer_sources[outcome.execution_count] = (grade_id, text)
            elif grade_id in tests:
                context.test_sources[outcome.execution_count] = text
        return context

    def answer_line(self, frames: tuple[tuple[int, int], ...]) -> str:
        """``answer cell 'x', line 3: `code``` for the innermost frame in an answer cell."""
        for count, line in reversed(frames):
            if count in self.answer_sources:
                grade_id, text = self.answer_sources[count]
                lines = text.splitlines()
                code = f": `{_code(lines[line - 1])}`" if 0 < line <= len(lines) else ""
                return f"your answer cell {grade_id!r}, line {line}{code}"
        return ""

    def visible_assertion(self, outcome: execute.CellOutcome) -> str:
        """The line of the visible test that raised ``outcome``, or ``""`` (not visible)."""
        frame = next(((c, n) for c, n in outcome.frames if c == outcome.execution_count), None)
        text = self.test_sources.get(outcome.execution_count or -1)
        if frame is None or text is None:
            return ""
        lines = text.splitlines()
        begin = next((i + 1 for i, t in enumerate(lines) if HIDDEN_BEGIN in t), len(lines) + 1)
        return _code(lines[frame[1] - 1]) if 0 < frame[1] < begin else ""

    def test_position(self, outcome: execute.CellOutcome) -> str:
        """Which part of the test cell was running: a visible test's line, or a check."""
        frame = next(((c, n) for c, n in outcome.frames if c == outcome.execution_count), None)
        text = self.test_sources.get(outcome.execution_count or -1)
        if frame is None or text is None:
            return ""
        lines = text.splitlines()
        line = frame[1]
        begin = next((i + 1 for i, t in enumerate(lines) if HIDDEN_BEGIN in t), len(lines) + 1)
        end = next((i + 1 for i, t in enumerate(lines) if HIDDEN_END in t), len(lines) + 1)
        if line < begin or line > end:
            code = f": `{_code(lines[line - 1])}`" if 0 < line <= len(lines) else ""
            return f"in the visible test, line {line}{code}"
        for later in lines[line - 1:end]:
            match = _CHECK_CALL.search(later)
            if match:
                return f"while the hidden test computed check {match.group(2)!r}"
        return "in the hidden test"

    def test_cell_error(self, outcome: execute.CellOutcome, broken: list[str],
                        answer_outcomes: dict[str, execute.CellOutcome]) -> tuple[str, str]:
        """The message for a test cell that raised ``outcome.ename``, and its reason (the
        exception that is the cause, in the student's terms)."""
        parts, reasons = [], []
        for grade_id in broken:  # the student's own error first: it is the cause
            failed = answer_outcomes[grade_id]
            where = self.answer_line(failed.frames) or f"your answer cell {grade_id!r}"
            reason = exception_text(failed.ename, failed.evalue)
            reasons.append(reason)
            parts.append(f"{where} raised {reason}")
        position = self.test_position(outcome)
        inner = self.answer_line(outcome.frames)
        hidden_assertion = (outcome.ename == "AssertionError" and not inner
                            and "hidden test" in position)
        visible = self.visible_assertion(outcome) if not inner else ""
        if hidden_assertion:  # the instructor's message may quote hidden inputs
            reason = "a hidden test's assertion about your answer did not hold"
        elif outcome.ename == "AssertionError" and visible and not outcome.evalue.strip():
            position = position.replace("in the visible test", "the visible test", 1)
            reason = f"your answer does not pass {position}"
            position = ""
        else:
            reason = exception_text(outcome.ename, outcome.evalue)
        if broken:
            parts.append(f"then the test raised {reason} {position}".strip())
        else:
            parts.append(f"{reason} {position}".strip())
            reasons.append(reason)
        if inner:
            parts.append(f"raised in {inner}")
        return "; ".join(parts), reasons[0]
