"""Grade one submission: assemble, execute, and compare its checks with the key.

An autograded item (a test cell) is

- ``passed`` when its cell ran without an error and every check the key
  holds for it was recorded in that cell, well formed and matching;
- ``failed`` when the cell raised ``AssertionError`` (a visible test) or a
  check is missing, malformed, of the wrong type or differs from the key;
- ``error`` when the cell raised anything else, or never ran because the
  kernel died;
- ``timeout`` when the cell, or the notebook, ran out of time;
- ``missing`` when it would be an error and the submission lacks the answer
  cell(s) the item grades, or when a file the item grades was not written.

Manual items (free text) are ``manual`` with score ``None``. Each item
carries its question's title (the heading above it in the quiz). Messages
speak of the student's own work (:mod:`.messages`): the instructor's hint for
a check that failed, the check or visible test that was running when a test
cell raised, or the line of the student's own answer cell that raised; never
the key's values, hidden inputs, hidden test code or an exception's text.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from pathlib import Path, PurePosixPath

from ..config import find_course_root, grading_options
from . import execute, messages, values
from .assemble import SubmissionError, assemble, read_submission
from .exports import resolve
from .key import Key, key_path, read_key
from .package_view import allowed_modules
from .records import Record, records_of
from .result import ERROR, FAILED, MANUAL, MISSING, PASSED, TIMEOUT, GradeResult, ItemResult
from .sandbox import SandboxUnavailable, check_available
from .source import Item, SourceQuiz, load_source

#: The largest file, and the most bytes in all, copied from a submission's
#: folder into its scratch folder; the rest is left out.
MAX_COPIED_FILE_BYTES = 50 * 1024 * 1024
MAX_COPIED_BYTES = 200 * 1024 * 1024


def judge(item: Item, records: list[Record], outcome: execute.CellOutcome | None, key: Key,
          answered: set[str], answer_outcomes: dict[str, execute.CellOutcome],
          context: messages.Context | None = None) -> ItemResult:
    """The verdict on one autograded item, from its executed test cell and the key."""
    context = context or messages.Context()

    def result(status: str, message: str = "") -> ItemResult:
        score = item.points if status == PASSED else 0.0
        return ItemResult(item.grade_id, score, item.points, status, message, item.title)

    unanswered = [a for a in item.answers if a not in answered]
    if outcome is None or outcome.status in (execute.DEAD, execute.NOT_RUN):
        reason = outcome.evalue if outcome else "the test cell did not run"
        return result(MISSING if unanswered else ERROR, reason)
    if outcome.status == execute.TIMEOUT:
        return result(TIMEOUT, outcome.evalue)
    slow = [a for a in item.answers
            if a in answer_outcomes and answer_outcomes[a].status == execute.TIMEOUT]
    if slow and outcome.status == execute.ERROR:
        return result(TIMEOUT, f"answer cell {', '.join(slow)} ran out of time")
    if outcome.status == execute.ERROR:
        if unanswered:
            return result(MISSING, f"no answer cell {', '.join(unanswered)} in the submission")
        # Only the exception's type: its text may quote hidden inputs, and a
        # student's own code chooses that text.
        status = FAILED if outcome.ename in ("AssertionError", "CheckFailed") else ERROR
        broken = [a for a in item.answers
                  if a in answer_outcomes and answer_outcomes[a].status == execute.ERROR]
        return result(status, context.test_cell_error(outcome, broken, answer_outcomes))

    recorded: dict[str, list] = {}
    for record in records:
        recorded.setdefault(record.name, []).append(record)
    expected_checks = key.items.get(item.grade_id)
    if not expected_checks:
        return result(ERROR, "the key has no checks for this item: run `dlcourse release`")
    for expected in expected_checks:
        got = recorded.get(expected.name)
        if not got:
            return result(FAILED, f"check {expected.name!r} was not recorded")
        for record in got:
            if record.missing:
                return result(MISSING, f"check {expected.name!r}: {record.problem}")
            if record.problem:
                return result(FAILED, f"check {expected.name!r}: {record.problem}")
            try:
                found = values.difference(expected.value, record.value,
                                          rtol=expected.rtol, atol=expected.atol)
            except values.ValueFormatError as error:
                return result(FAILED, f"check {expected.name!r}: {error}")
            if found:
                return result(FAILED, messages.check_failed(expected, found))
    return result(PASSED)


def score(source: SourceQuiz, records: dict[str, list[Record]],
          outcomes: list[execute.CellOutcome], key: Key, answered: set[str],
          index_of: dict[str, int], notebook=None) -> GradeResult:
    """Turn the records and outcomes of an executed, assembled notebook into a result."""
    by_index = {outcome.index: outcome for outcome in outcomes}
    answer_outcomes = {a: by_index[index_of[a]] for a in source.answer_ids
                       if a in index_of and index_of[a] in by_index}
    context = messages.Context.of(notebook, outcomes, index_of, source)
    items = []
    for item in source.items:
        if item.manual:
            status = MANUAL if set(item.answers) <= answered else MISSING
            items.append(ItemResult(item.grade_id, None, item.points, status,
                                    "graded by a person", item.title))
            continue
        index = index_of[item.grade_id]
        items.append(judge(item, records.get(item.grade_id, []), by_index.get(index), key,
                           answered, answer_outcomes, context))
    total = sum(i.score for i in items if i.score is not None)
    return GradeResult(source.quiz, total, source.max_score, source.manual_max_score, items)


def failed_whole(source: SourceQuiz, message: str) -> GradeResult:
    """The result of a submission that could not be run at all: every item scores zero."""
    items = [ItemResult(i.grade_id, None if i.manual else 0.0, i.points,
                        MISSING if i.manual else ERROR, message, i.title) for i in source.items]
    return GradeResult(source.quiz, 0.0, source.max_score, source.manual_max_score, items,
                       error=message)


def copy_submission_files(folder: Path, scratch: Path, *, skip: Path,
                          exported: set[str] = frozenset()) -> None:
    """Copy the regular files of a submission's folder (not links) into its scratch folder.

    Files that ``check_file`` grades (``exported``, relative to the folder;
    for a folder such as a SavedModel, everything in it) are not copied: an
    exported file is graded only when the graded run itself wrote it.
    """
    copied = 0
    left_out = {PurePosixPath(name) for name in exported}
    for path in sorted(folder.rglob("*")):  # rglob does not descend into linked folders
        relative = path.relative_to(folder)
        if path.is_symlink() or path == skip or any(p.startswith(".") for p in relative.parts):
            continue
        posix = PurePosixPath(relative.as_posix())
        if any(posix == name or name in posix.parents for name in left_out):
            continue
        if path.is_file() and path.stat().st_size <= MAX_COPIED_FILE_BYTES:
            copied += path.stat().st_size
            if copied > MAX_COPIED_BYTES:
                return
            target = scratch / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)


def collect_records(source: SourceQuiz, notebook, index_of: dict[str, int], *,
                    scratch: Path, root: Path, limits: execute.Limits) -> dict[str, list[Record]]:
    """Each autograded item's check records, exported files evaluated (needs ``scratch``)."""
    quiz_dir = root / "quizzes" / source.quiz
    return {item.grade_id: resolve(records_of(notebook.cells[index_of[item.grade_id]]),
                                   scratch=scratch, quiz_dir=quiz_dir,
                                   sandbox_limits=limits.sandbox)
            for item in source.autograded}


def grade_notebook(notebook: str | Path, *, quiz: str, root: str | Path | None = None,
                   limits: execute.Limits | None = None, sandbox: bool = True) -> GradeResult:
    """Grade one submitted notebook of ``quiz`` against the key, without a gradebook.

    The submission's answer cells are merged into the source notebook
    (:mod:`.assemble`), run in a fresh scratch folder holding a copy of the
    submission's other files, and each test cell's check records are compared
    with the key outside the kernel. The kernel and the evaluators of exported
    files run sandboxed (:mod:`.sandbox`) unless ``sandbox=False`` (or
    ``limits.sandbox`` is ``None``); :class:`.sandbox.SandboxUnavailable` is
    raised, before anything runs, when a sandbox is wanted and cannot be made.
    A notebook that cannot be read scores zero with ``error`` set.
    """
    root = Path(root) if root else find_course_root()
    source = load_source(root, quiz)
    key = read_key(key_path(quiz, root=root))
    modules = allowed_modules(root / "quizzes" / quiz)
    limits = limits or execute.Limits.from_options(grading_options(root), sandbox=sandbox)
    if not sandbox:
        limits = replace(limits, sandbox=None)
    if limits.sandbox is not None:
        check_available()
    path = Path(notebook)
    try:
        submission = read_submission(path)
    except SubmissionError as error:
        return failed_whole(source, str(error))
    assembled = assemble(source, submission)
    index_of = {}
    for index, cell in enumerate(assembled.notebook.cells):
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id and index not in assembled.added:
            index_of[grade_id] = index
    with tempfile.TemporaryDirectory(prefix="dlcourse-grade-") as scratch:
        copy_submission_files(path.parent, Path(scratch), skip=path,
                              exported=key.exported_files)
        try:
            outcomes = execute.run(assembled.notebook, workdir=Path(scratch), limits=limits,
                                   dlcourse_modules=modules)
        except SandboxUnavailable:
            raise
        except Exception as error:  # the kernel could not start, or nbclient broke
            return failed_whole(source, f"{path}: could not be run ({type(error).__name__}: "
                                        f"{error})")
        records = collect_records(source, assembled.notebook, index_of, scratch=Path(scratch),
                                  root=root, limits=limits)
    result = score(source, records, outcomes, key, assembled.answered, index_of,
                   assembled.notebook)
    result.executed = assembled.notebook
    return result
