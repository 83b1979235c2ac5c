"""Grade one submitted notebook: assemble it, run it sandboxed, and reach the verdicts.

The flow, one module per step: the source notebook (:mod:`.source`) and the
key (:mod:`.key`); the notebook to run, answers from the submission and
everything else from the source (:mod:`.assemble`); a scratch folder filled
as nbgrader fills one (:mod:`.workspace`); the run, in a sandboxed kernel
(:mod:`.execute`); the check records and exported files read back
(:mod:`.workspace`); the verdict on each item (:mod:`.verdict`), into the
result (:mod:`.result`). An assignment of several notebooks is graded one
notebook at a time: the submitted notebook's name picks its source notebook.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from .. import variants
from ..config import find_course_root
from ..protocol.key import Key, key_path, read_key
from . import variant_keys
from .judge import messages
from .judge.verdict import failed_whole, score
from .prepare import variant
from .prepare.autotest import read_record, record_path
from .prepare.package_view import allowed_modules
from .prepare.settings import nbgrader_settings
from .prepare.source import QuizError, SourceQuiz, load_source, notebook_names
from .prepare.warm_imports import warm_modules, warm_usable
from .result import ERROR, FAILED, MANUAL, MISSING, PASSED, TIMEOUT, GradeResult, ItemResult
from .run import execute, warm
from .run.assemble import SubmissionError, assemble, read_submission
from .run.sandbox import SandboxUnavailable, check_available, scratch_folder
from .run.workspace import (
    collect_records,
    copy_assignment_files,
    copy_submission_files,
    course_ignore,
)

log = logging.getLogger(__name__)

#: the result model and the statuses stay importable from here, where they were first defined
__all__ = ["ERROR", "FAILED", "MANUAL", "MISSING", "PASSED", "TIMEOUT", "WHERE_AVAILABLE",
           "GradeResult", "ItemResult", "failed_whole", "grade_notebook", "source_of"]


def source_of(root: Path, quiz: str, notebook: Path) -> SourceQuiz:
    """The source notebook that a submitted ``notebook`` of ``quiz`` answers.

    A quiz of one notebook is answered by any file; in an assignment of
    several, the submitted notebook's name is the source notebook's.
    """
    names = notebook_names(root, quiz)
    if len(names) > 1:
        if notebook.stem not in names:
            raise QuizError(f"{notebook.name} is none of the notebooks of {quiz} "
                            f"({', '.join(names)}): name the file after the one it answers")
        return load_source(root, quiz, notebook.stem)
    return load_source(root, quiz)


#: ``sandbox=`` value for a student checking their own notebook: sandboxed where a sandbox
#: can be made, else without one (the result says so: ``GradeResult.unsandboxed``).
WHERE_AVAILABLE = "where available"


def sandbox_choice(sandbox: bool | str) -> tuple[bool, str]:
    """Whether to sandbox, for ``sandbox`` (True, False or :data:`WHERE_AVAILABLE`), and,
    where a sandbox was wanted only where available and cannot be made, why not."""
    if sandbox != WHERE_AVAILABLE:
        return bool(sandbox), ""
    try:
        check_available()
    except SandboxUnavailable as error:
        return False, str(error)
    return True, ""


def key_of(root: Path, quiz: str, source: SourceQuiz) -> Key:
    """The key of ``source``'s notebook. A notebook of plain asserts needs none: it is
    judged in the kernel (AUTOTEST cells need the release record instead, read with the
    source); a keyed one raises :class:`.key.KeyFileError` when there is no key."""
    path = key_path(quiz, root=root)
    if not source.keyed and not path.is_file():
        return Key(quiz)
    return read_key(path, source.name)


def unkeyed_reasons(root: Path, quiz: str, source: SourceQuiz) -> dict[str, str]:
    """Why some keyed items of ``source`` have no key: their solution failed its own test
    at release (the release record's ``unkeyed``), by grade id."""
    try:
        found = read_record(record_path(root, quiz)).get(source.name, {}).get("unkeyed", {})
    except Exception:  # a broken record only loses the explanation
        return {}
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def grade_notebook(notebook: str | Path, *, quiz: str, root: str | Path | None = None,
                   limits: execute.Limits | None = None,
                   sandbox: bool | str = True, execution: str = "autograde",
                   student: str | None = None) -> GradeResult:
    """Grade one submitted notebook of ``quiz`` against the key, without a gradebook.

    In an assignment of several notebooks, the file's name says which one it is.

    The submission's answer cells are merged into the source notebook
    (:mod:`.assemble`), run in a fresh scratch folder holding a copy of the
    submission's other files and, over them, the assignment's own files
    (:mod:`.workspace`); each keyed item's check records are compared with the
    key outside the kernel, and each in-kernel item is judged by nbgrader's
    rule (:mod:`.verdict`). The kernel and the evaluators of exported
    files run sandboxed (:mod:`.sandbox`) unless ``sandbox=False`` (or
    ``limits.sandbox`` is ``None``); :class:`.sandbox.SandboxUnavailable` is
    raised, before anything runs, when a sandbox is wanted and cannot be made.
    With ``sandbox=WHERE_AVAILABLE`` (a student's self-check: ``dlcourse grade``,
    Validate) a machine without one (macOS, Windows, Colab) grades without it, and the
    result's ``unsandboxed`` says why. A notebook that cannot be read scores zero with
    ``error`` set. The kernel has nbgrader's ``NBGRADER_EXECUTION`` set to
    ``execution`` (``"autograde"``, or ``"validate"`` for Validate), as nbgrader sets it.

    A quiz whose items differ by student (:mod:`dlcourse.variants`) is graded against
    ``student``'s variant (default: :func:`dlcourse.variants.student_id`, the student
    checking their own work; autograde passes the id the submission is filed under):
    the kernel derives that student's numbers, and the key is that student's
    (:mod:`.variant_keys`). The result's ``variant`` names the student.
    """
    sandbox, unsandboxed = sandbox_choice(sandbox)
    root = Path(root) if root else find_course_root()
    path = Path(notebook)
    source = source_of(root, quiz, path)
    key = key_of(root, quiz, source)
    modules = allowed_modules(root / "quizzes" / quiz)
    environment = execute.grading_environment(execution)
    varied: set[str] | None = None  # the checks of the student's own numbers, if any
    if variant.declared(source) is not None:
        student = variants.student_id() if student is None else student
        released, key = key, variant_keys.student_key(root, quiz, source, student)
        varied = variant.recorded_varied(root, quiz, source)
        if varied is None:  # a release from before the record kept them
            varied = variant.varied_checks(released, key)
        environment.update(variant.environment(student))
    settings = nbgrader_settings(root)
    limits = limits or execute.Limits.for_course(root, sandbox=sandbox)
    if not sandbox:
        limits = replace(limits, sandbox=None)
    if limits.sandbox is not None:
        check_available()
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
    ignore = course_ignore(root)
    with ExitStack() as stack:
        warm_sandbox = _warm_sandbox(stack, limits, source, assembled.notebook, modules)
        try:
            run = _run_submission(warm_sandbox, path, source, key, assembled, index_of, root,
                                  limits, modules, ignore, settings, quiz, environment)
        except warm.WarmUnavailable as error:  # before any cell ran: start it cold instead
            log.warning("%s: grading %s with a cold kernel: %s", quiz, path, error)
            run = _run_submission(None, path, source, key, assembled, index_of, root, limits,
                                  modules, ignore, settings, quiz, environment)
    if isinstance(run, GradeResult):
        return run
    records, outcomes = run
    result = score(source, records, outcomes, key, assembled.answered, index_of,
                   assembled.notebook, unkeyed=unkeyed_reasons(root, quiz, source))
    if varied is not None:
        result.variant = student
        mention_variant(result, key, varied, student)
    result.executed = assembled.notebook
    result.unsandboxed = unsandboxed
    result.problems = assembled.problems
    return result


def _run_submission(warm_sandbox: warm.WarmSandbox | None, path: Path, source: SourceQuiz,
                    key: Key, assembled, index_of: dict[str, int], root: Path,
                    limits: execute.Limits, modules, ignore, settings, quiz: str,
                    environment: dict[str, str]):
    """Run the assembled notebook in a scratch folder filled as nbgrader fills one (in
    ``warm_sandbox``'s, where there is one); return its records and cell outcomes, or
    the result of a submission that could not be run."""
    with (warm_sandbox.session() if warm_sandbox is not None
          else scratch_folder(limits.sandbox)) as scratch:
        copy_submission_files(path.parent, Path(scratch), skip=path,
                              exported=key.exported_files, ignore=ignore)
        copy_assignment_files(source.path.parent, Path(scratch), ignore=ignore,
                              exported=key.exported_files,
                              keep=settings.excluded_files(quiz))
        try:
            outcomes = execute.run(assembled.notebook, workdir=Path(scratch), limits=limits,
                                   dlcourse_modules=modules, warm=warm_sandbox,
                                   environment=environment)
        except (SandboxUnavailable, warm.WarmUnavailable):
            raise
        except Exception as error:  # the kernel could not start, or nbclient broke
            return failed_whole(source, f"{path}: could not be run ({type(error).__name__}: "
                                        f"{error})")
        records = collect_records(source, assembled.notebook, index_of, scratch=Path(scratch),
                                  root=root, limits=limits)
    return records, outcomes


def mention_variant(result: GradeResult, key: Key, varied: set[str], student: str) -> None:
    """Say, on each failed item with numbers of the student's own, whose variant it was
    checked against: an answer worked out for someone else's numbers fails there."""
    for item in result.items:
        names = {check.name for check in key.items.get(item.grade_id, [])}
        if item.status == FAILED and names & varied:
            note = messages.variant_mismatch(student)
            item.message = f"{item.message}; {note}" if item.message else note
            item.reason = f"{item.reason}; {note}" if item.reason else note


def _warm_sandbox(stack: ExitStack, limits: execute.Limits, source: SourceQuiz, notebook,
                  dlcourse_modules: tuple[str, ...] | None) -> warm.WarmSandbox | None:
    """This worker's warm sandbox for the quiz (:mod:`.run.warm`), borrowed for as long as
    ``stack`` lasts; None where the kernel starts cold: no sandbox, warm kernels turned
    off, nothing to import, a notebook that sets what its frameworks read when imported
    (:mod:`.prepare.warm_imports`), or no warm process to be had here (logged)."""
    if limits.sandbox is None or not limits.warm_kernels:
        return None
    modules = warm_modules(source.notebook)
    if not modules or not warm_usable(notebook, modules):
        return None
    try:
        return stack.enter_context(warm.borrowed(
            limits.sandbox, modules=modules, dlcourse_modules=dlcourse_modules,
            startup_timeout=limits.startup_timeout))
    except Exception as error:  # the cold path checks its own sandbox, and says why not
        log.warning("%s: grading with a cold kernel: no warm process (%s: %s)", source.quiz,
                    type(error).__name__, error)
        return None
