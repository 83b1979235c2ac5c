"""``check``: what a quiz's hidden tests call to record a value for grading.

In a test cell of a quiz's source notebook, between nbgrader's hidden-test
markers, the instructor writes::

    ### BEGIN HIDDEN TESTS
    from dlcourse.checks import check
    check("softmax_rows", softmax(hidden_logits), rtol=1e-5, atol=1e-6)
    ### END HIDDEN TESTS

``check`` encodes the value as plain JSON (:mod:`dlcourse.protocol.values`) and
emits it as a display output of MIME type :data:`MIME_TYPE`; the grader reads
it from the executed cell's outputs. What happens next depends on where the
kernel runs:

- **Under dlcourse's grader** (``DLCOURSE_CHECK_MODE=record``, set by the
  grader): only record. The key is not in reach of the kernel; the grader
  compares outside it, with the tolerances the key holds, not these.
- **Anywhere else** (stock ``nbgrader autograde``, or the instructor running
  the source): also compare in the kernel against the key of the quiz named by
  the working directory (nbgrader runs a notebook in a folder named after its
  assignment), and raise ``AssertionError`` on a mismatch so the cell fails.
  With no key, it raises, unless the notebook runs in ``source/`` (authoring),
  where it only proves the value can be recorded. For a quiz whose numbers differ
  by student (:mod:`dlcourse.variants`), the key is that student's, derived from the
  solution the first time it is needed.

The value must be a number, string, ``None``, a NumPy array or framework
tensor, or a list, tuple or string-keyed dict of those.

For a task that exports a file (an ONNX model, a SavedModel, a LiteRT file),
the hidden test calls :func:`check_file` instead: the grader copies the file
out of the student's folder and has instructor code in
``quizzes/<quiz>/exports.py`` evaluate it in a process of its own; what that
code returns is compared with the key like any other check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from . import variants
from .config import CourseNotFound, find_course_root, validate_identifier
from .protocol import values

MIME_TYPE = "application/vnd.dlcourse.check.v1+json"
MODE_VARIABLE = "DLCOURSE_CHECK_MODE"
RECORD_ONLY = "record"

_keys: dict[Path, Any] = {}


class CheckFailed(AssertionError):
    """A recorded value differs from the key (stock nbgrader mode only)."""


Hint = str | dict[str, str] | None


def check(name: str, value: Any, *, rtol: float = 1e-5, atol: float = 1e-8,
          hint: Hint = None) -> None:
    """Record ``value`` under ``name`` for grading.

    ``rtol`` and ``atol`` are the tolerances for numbers: a recorded number
    ``a`` matches the key's ``e`` when ``|a - e| <= atol + rtol * |e|``. They
    have no effect on strings, booleans or the shapes of arrays, which must
    match exactly.

    ``hint`` is what the student reads when this check fails, in the terms of
    the question ("the output layer's activation is not softmax"). For a dict
    value it may be a dict of hints keyed by the value's entries, at any depth
    (``"*"`` for the rest): where the value first differs, the hint of the
    deepest entry on the way there is shown.
    The grader takes hints from the key (the instructor's run), never from a
    submission.
    """
    validate_identifier(name, "check name")
    record = {"name": name, "value": values.encode(value), "rtol": float(rtol), "atol": float(atol)}
    if hint is not None:
        record["hint"] = values.validate_hint(hint)
    _emit(record)
    if os.environ.get(MODE_VARIABLE) != RECORD_ONLY:
        _compare_in_kernel(record)


def check_file(name: str, path: str, *, evaluator: str | None = None, rtol: float = 1e-5,
               atol: float = 1e-8, hint: Hint = None) -> None:
    """Record that the file ``path`` (relative to the notebook's folder) is graded.

    The function ``evaluator`` (default: ``name``) of the quiz's
    ``quizzes/<quiz>/exports.py`` receives a private copy of the file and
    returns a value; that value is compared with the key, with ``rtol`` and
    ``atol`` as in :func:`check`. A file that does not exist leaves the item
    ``missing``; so does a file left from an earlier run, since the grader
    never carries a file named by ``check_file`` into the graded run. ``hint``
    as in :func:`check`. The student's kernel never runs the evaluator under
    the grader.
    """
    validate_identifier(name, "check name")
    validate_identifier(evaluator or name, "evaluator name")
    relative = Path(path)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"check_file needs a path inside the notebook's folder, not {path!r}")
    record = {"name": name, "file": relative.as_posix(), "evaluator": evaluator or name,
              "rtol": float(rtol), "atol": float(atol)}
    if hint is not None:
        record["hint"] = values.validate_hint(hint)
    _emit(record)
    if os.environ.get(MODE_VARIABLE) != RECORD_ONLY:
        _compare_file_in_kernel(record)


def _compare_file_in_kernel(record: dict) -> None:
    """Stock nbgrader's path: evaluate the file here, with the course's exports.py."""
    from .grading.run.exports import evaluate

    here = Path.cwd()
    try:
        root = find_course_root(here)
    except CourseNotFound as error:
        raise CheckFailed(f"check {record['name']!r} cannot be graded: {error}") from None
    quiz = here.name  # nbgrader runs a notebook in a folder named after its assignment
    outcome = evaluate(root / "quizzes" / quiz, record["evaluator"], here / record["file"])
    if outcome.problem:
        raise CheckFailed(f"check {record['name']!r}: {outcome.problem}")
    _compare_in_kernel({**record, "value": outcome.encoded})


def _emit(record: dict) -> None:
    try:
        from IPython.display import display
    except ImportError:  # plain Python: nothing to record into
        return
    display({MIME_TYPE: record, "text/plain": f"check {record['name']!r} recorded"}, raw=True)


def _variant_key_path(root: Path, quiz: str, student: str) -> Path:
    """Where ``student``'s key of ``quiz`` is, derived first where it is not yet
    (:mod:`dlcourse.grading.variant_keys`, in a process of its own)."""
    import subprocess
    import sys

    from .protocol.key import KeyFileError

    done = subprocess.run([sys.executable, "-m", "dlcourse.grading.variant_keys", str(root),
                           quiz, student], capture_output=True, text=True, cwd=root)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["it failed"])[-1]
        raise KeyFileError(f"the key of student {student!r}'s variant could not be derived "
                           f"({last})")
    return Path(done.stdout.strip().splitlines()[-1])


def _compare_in_kernel(record: dict) -> None:
    """Stock nbgrader's path: compare against the key here, since no grader will."""
    from .protocol.key import KeyFileError, key_path, read_key

    here = Path.cwd()
    try:
        root = find_course_root(here)
        path = key_path(here.name, root=root)
        student = variants.declared_here.get(here.name)
        if student is not None and here.parent.name == "source":
            return  # authoring a quiz with variants: each student's key is derived later
        cached = path if student is None else (here.name, student)
        if cached not in _keys:
            if student is not None:  # the student's own numbers: their own key
                path = _variant_key_path(root, here.name, student)
            _keys[cached] = read_key(path)
        key = _keys[cached]
    except (CourseNotFound, KeyFileError, ValueError) as error:
        if here.parent.name == "source":
            return  # authoring: the value was recorded, and that is all we can say
        raise CheckFailed(f"check {record['name']!r} cannot be graded: {error}") from None
    expected = key.check_named(record["name"])
    if expected is None:
        raise CheckFailed(f"the key of {key.quiz} has no check named {record['name']!r}")
    reason = values.mismatch(
        expected.value, values.decode(record["value"]), rtol=expected.rtol, atol=expected.atol
    )
    if reason:
        raise CheckFailed(f"check {record['name']!r}: {reason}")
