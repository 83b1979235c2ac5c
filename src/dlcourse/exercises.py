"""Lesson exercises: the check cell that tells a student, in plain words, whether their code works.

Every main section of a lesson ends with an exercise (DESIGN.md, "Conventions"): a code
cell tagged ``exercise`` where the student writes code, and right after it a cell tagged
``exercise-check`` that runs :class:`Check` on what they wrote::

    with Check("Exercise 2: a softmax that survives large logits") as check:
        out = stable_softmax(np.array([[1000.0, 0.0], [0.0, -1000.0]]))
        check.close(out, [[1.0, 0.0], [1.0, 0.0]], "softmax of [[1000, 0], [0, -1000]]")
        check.that(np.isfinite(out).all(), "no nan or inf on large logits")

When the block ends it prints one verdict and never stops the notebook:

- ``✓ Exercise 2 ... works: ...`` when every statement held;
- ``Exercise 2 ...: not done yet ...`` when the answer is still the stub of the student's
  copy (:mod:`dlcourse.student_copy`): a name it should define is missing, it returned
  ``None`` where a value was expected, or it raised :class:`NotImplementedError`;
- ``✗ Exercise 2 ... is not right yet: ...`` with the first statement that did not hold
  (what was expected and what the code gave) or the exception the student's code raised,
  with the line it was raised on.

Lessons are not graded: a check may show the expected values, which is what a student
needs to find their mistake.

Two modes serve the course's tests (``tests/exercise_probes.py``), never a student:
with ``DLCOURSE_EXERCISES=strict`` in the kernel's environment, a check that does not
pass raises :class:`ExerciseNotPassed` after printing its verdict (CI runs every lesson
with its solutions, so each must pass); and :func:`expect_not_passing` makes the next
checks raise if they *do* pass (CI runs each exercise's stub first, which must not).
"""

from __future__ import annotations

import os
import traceback
from typing import Any

import numpy as np

MODE_VARIABLE = "DLCOURSE_EXERCISES"
STRICT = "strict"

PASSED, NOT_DONE, WRONG = "passed", "not done", "wrong"

_expecting_not_passing = False
_checks_since_expectation = 0


class ExerciseNotPassed(AssertionError):
    """A check did not pass in strict mode (the course's tests run the solutions)."""


class StubPassed(AssertionError):
    """The stub of the student's copy passed its check: the check cannot tell."""


class NotDone(Exception):
    """Raised inside a check when the answer is still the stub."""


class Wrong(Exception):
    """Raised inside a check when a statement about the answer did not hold."""


def as_array(value: Any) -> np.ndarray:
    """A NumPy array of ``value``: a number, a nested list, or a PyTorch, TensorFlow or
    JAX tensor (moved to the CPU, detached from autograd)."""
    if hasattr(value, "detach"):  # torch
        value = value.detach().cpu().numpy()
    elif hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # tf
        value = value.numpy()
    return np.asarray(value)


def _shown(value: Any, limit: int = 200) -> str:
    with np.printoptions(precision=4, threshold=12, edgeitems=2, linewidth=100):
        text = repr(value) if not isinstance(value, np.ndarray) else np.array2string(value)
    return text if len(text) <= limit else text[:limit] + " ..."


class Check:
    """A context manager whose statements about a student's answer end in one verdict.

    ``title`` names the exercise as the lesson does ("Exercise 2: ..."). Statements
    (:meth:`that`, :meth:`close`, :meth:`equal`, :meth:`shape`) stop the block at the
    first one that does not hold; ``what`` says in the student's terms what was checked.
    """

    def __init__(self, title: str):
        self.title = title
        self.passed: list[str] = []
        self.verdict: str | None = None
        self.reason = ""

    # -- statements ---------------------------------------------------------------------

    def value(self, value: Any, what: str) -> Any:
        """``value``, or *not done yet* if it is ``None`` or ``...`` (a stub's result)."""
        if value is None or value is Ellipsis:
            raise NotDone(f"{what} is {value!r}")
        return value

    def that(self, condition: Any, what: str, *, otherwise: str = "") -> None:
        """``what`` holds when ``condition`` is true; ``otherwise`` says what was seen."""
        if not bool(condition):
            raise Wrong(f"{what}: no" + (f" ({otherwise})" if otherwise else ""))
        self.passed.append(what)

    def equal(self, actual: Any, expected: Any, what: str) -> None:
        """``actual == expected`` exactly (numbers, strings, tuples, arrays, ...)."""
        self.value(actual, what)
        same = (np.array_equal(as_array(actual), as_array(expected))
                if _arraylike(actual) or _arraylike(expected) else actual == expected)
        if not same:
            raise Wrong(f"{what}: expected {_shown(expected)}, got {_shown(actual)}")
        self.passed.append(what)

    def shape(self, actual: Any, expected: tuple, what: str) -> None:
        """The array or tensor ``actual`` has shape ``expected``."""
        self.value(actual, what)
        got = tuple(as_array(actual).shape)
        if got != tuple(expected):
            raise Wrong(f"{what}: expected shape {tuple(expected)}, got {got}")
        self.passed.append(f"{what} has shape {tuple(expected)}")

    def close(self, actual: Any, expected: Any, what: str, *, rtol: float = 1e-5,
              atol: float = 1e-8) -> None:
        """``actual`` matches ``expected`` elementwise within ``atol + rtol * |expected|``."""
        self.value(actual, what)
        got, want = as_array(actual).astype(float), as_array(expected).astype(float)
        if got.shape != want.shape:
            raise Wrong(f"{what}: expected shape {want.shape}, got {got.shape}")
        if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=False):
            largest = float(np.nanmax(np.abs(got - want))) if got.size else 0.0
            raise Wrong(f"{what}: expected {_shown(want)}, got {_shown(got)} "
                        f"(largest difference {largest:.3g})")
        self.passed.append(what)

    # -- the verdict --------------------------------------------------------------------

    def __enter__(self) -> Check:
        return self

    def __exit__(self, kind, error, trace) -> bool:
        if error is None:
            self.verdict = PASSED
        elif isinstance(error, (NotDone, NotImplementedError)):
            self.verdict, self.reason = NOT_DONE, str(error)
        elif isinstance(error, NameError):
            self.verdict = NOT_DONE
            self.reason = f"{error}: write it in the exercise cell above and run that cell"
        elif isinstance(error, Wrong):
            self.verdict, self.reason = WRONG, str(error)
        elif isinstance(error, Exception):
            self.verdict, self.reason = WRONG, _raised(error, trace)
        else:
            return False  # KeyboardInterrupt, SystemExit: not ours to swallow
        print(self.summary())
        _conclude(self)
        return True

    def summary(self) -> str:
        if self.verdict == PASSED:
            detail = "; ".join(self.passed)
            return f"✓ {self.title}: works" + (f" ({detail})." if detail else ".")
        if self.verdict == NOT_DONE:
            return (f"{self.title}: not done yet ({self.reason}). Write your answer in the "
                    "exercise cell above, run it, then run this cell again.")
        return f"✗ {self.title}: not right yet. {self.reason}."


def _arraylike(value: Any) -> bool:
    return isinstance(value, (np.ndarray, list)) or hasattr(value, "shape")


def _is_cell(filename: str) -> bool:
    """Whether a frame's file is a notebook cell (IPython names them so)."""
    return filename.startswith("<ipython-input") or "/ipykernel_" in filename


def _raised(error: BaseException, trace) -> str:
    """The exception in the student's terms, with the line of their code that raised it."""
    cells = [frame for frame in traceback.extract_tb(trace) if _is_cell(frame.filename)]
    where = ""
    if cells:
        frame = cells[-1]
        where = f" (in {frame.name}, line {frame.lineno}"
        where += f": {frame.line.strip()})" if frame.line else ")"
    return f"your code raised {type(error).__name__}: {error}{where}"


def _conclude(check: Check) -> None:
    global _checks_since_expectation
    if _expecting_not_passing:
        _checks_since_expectation += 1
        if check.verdict == PASSED:
            raise StubPassed(f"{check.title}: the student's stub passes this check, so the "
                             "check cannot tell a done exercise from an undone one")
        return
    if os.environ.get(MODE_VARIABLE) == STRICT and check.verdict != PASSED:
        raise ExerciseNotPassed(check.summary())


def expect_not_passing() -> None:
    """From now until :func:`end_expectation`, a check that passes raises :class:`StubPassed`."""
    global _expecting_not_passing, _checks_since_expectation
    _expecting_not_passing, _checks_since_expectation = True, 0


def end_expectation() -> None:
    """End :func:`expect_not_passing`; raise if no check ran meanwhile."""
    global _expecting_not_passing
    ran, _expecting_not_passing = _checks_since_expectation, False
    if ran == 0:
        raise AssertionError("the exercise-check cell ran no dlcourse.exercises.Check")


__all__ = ["Check", "ExerciseNotPassed", "NotDone", "StubPassed", "as_array",
           "expect_not_passing", "end_expectation"]
