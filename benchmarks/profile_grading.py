"""Where one submission's grading time goes, phase by phase, quiz by quiz, cold and warm.

    .venv/bin/python benchmarks/profile_grading.py [--quiz QUIZ ...] [--notebook PATH]
                                                   [--kernels {cold,warm,both}] [--no-sandbox]

For each quiz (every folder of ``quizzes/`` by default; ``--quiz`` names some, and may be
repeated) this grades one submission, the first in the quiz's ``calibration.json`` with
the highest score, so that every cell does its work (or ``--notebook``, with one
``--quiz``), in a scratch copy of the course (``nbgrader_config.py``, ``source/``,
``release/``, ``quizzes/``, and each quiz's key and release record from the working tree's
``keys/``: run ``dlcourse release QUIZ`` first where they are missing). As
``dlcourse autograde`` does, the submission is graded by
:func:`dlcourse.grading.autograde._grade_in_worker` in a spawned worker process (its result
sent back as JSON text), and the parent stores it with ``autograde._store`` into the
scratch course's gradebook and ``autograded/`` (the quiz is registered first, untimed:
``autograde`` registers it while its workers grade).

``--kernels`` says how (default ``both``, side by side):

* ``cold``: the scratch course's ``nbgrader_config.py`` gets ``c.Grading.warm_kernels =
  False``: every kernel starts cold.
* ``warm``: the setting is left at its default (True: a worker keeps a warm sandbox whose
  process has imported the quiz's frameworks, and forks each submission's kernel from it).

Either way the submission is graded twice, one call after the other in the same worker;
the column shows the second grading (a worker's steady state), and the row "first
submission in a fresh worker (warm-up)" the first one's total (spawn, imports, the
sandbox probe, warm: starting the warm sandbox; that result is not stored).
After the scores, each run says whether its kernels were forked from a warm process or
started cold (the grader falls back to a cold kernel where a quiz or a submission cannot
use a warm one). A grader without ``c.Grading.warm_kernels`` warns that the option is not
recognised, and grades warm and cold alike.

Each phase is timed by wrapping the grader's functions by name (a call inside another timed
call counts for the outer one): reading the source, key and submission, assembling and
copying files; the sandbox probe (once a worker process) and set-up (scratch space,
package view, kernelspec, cgroups; warm: borrowing the worker's warm sandbox, started on
its first grading); the kernel's start (process, or fork, and waiting until ready);
each cell by kind (set-up cells that import something: code cells that are no answer or
test cell and hold an ``import``; other set-up cells; answer cells, nbgrader's
``solution``; hidden tests, nbgrader's ``grade`` cells); evaluating exported files; the
kernel's shutdown; the sandbox's tear-down (warm: emptying it for the next submission);
scoring; whatever else the worker did in ``_grade_in_worker`` ("other"); and the parent's
store. One table, one row per phase and one column per quiz and kernel mode, in seconds
for one submission, then each run's score (flagged where it is not the calibration's, or
cold and warm disagree), items not run because the kernel died, and any error in its
result. A function the grader no longer has is listed as not timed (its time lands in an
enclosing phase, or in "other"). Timings are noisy where the CPU is shared: run one
benchmark at a time. ``--no-sandbox`` grades with the kernel unsandboxed, as stock nbgrader
runs it (and so never warm).
"""

from __future__ import annotations

import argparse
import ast
import functools
import inspect
import json
import re
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KERNEL_MODES = ("cold", "warm")

# The table's rows, in order: (phase, label).
SPAWN = "worker: spawn + import the grader"
PREPARE = "read source, key, submission; assemble; copy"
PROBE = "sandbox: probe (once a worker)"
SANDBOX = "sandbox: set up"
KERNEL = "kernel: start (process + until ready)"
IMPORTS = "cells: set-up with imports"
SETUP = "cells: other set-up"
ANSWERS = "cells: answers (solution)"
TESTS = "cells: hidden tests (grade)"
EXPORTS = "evaluate exported files"
SHUTDOWN = "kernel: shut down"
TEARDOWN = "sandbox: tear down"
SCORE = "scoring"
OTHER = "other (untimed grader code)"
STORE = "parent: store into the gradebook"
TOTAL = "total"
WARMUP = "first submission in a fresh worker (warm-up)"
ROWS = (SPAWN, PREPARE, PROBE, SANDBOX, KERNEL, IMPORTS, SETUP, ANSWERS, TESTS, EXPORTS,
        SHUTDOWN, TEARDOWN, SCORE, OTHER, STORE, TOTAL, WARMUP)


class Phases:
    """Seconds spent per phase, summed over calls."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        #: calls of each wrapped function, by name, nested ones too
        self.calls: dict[str, int] = defaultdict(int)

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] += seconds


#: where the timers of this process add up now (None: not profiling)
_current: Phases | None = None
#: how many timed calls are under way: a timed call inside another counts for the outer one
_depth = 0
#: the wrapped functions the grader lacks, once they are wrapped (None: not yet)
_absent: list[str] | None = None


def _timer(original, phase, name: str):
    """``original``, timed as ``phase`` (a name, or a function of the call's arguments),
    its calls counted as ``name``."""
    def begin() -> bool:
        global _depth
        _depth += 1
        if _current is not None:
            _current.calls[name] += 1
        return _current is not None and _depth == 1

    def end(counted: bool, started: float, args, kwargs) -> None:
        global _depth
        _depth -= 1
        if counted and _current is not None:
            _current.add(phase(*args, **kwargs) if callable(phase) else phase,
                         time.perf_counter() - started)

    if inspect.iscoroutinefunction(original):
        @functools.wraps(original)
        async def timed(*args, **kwargs):
            counted, started = begin(), time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                end(counted, started, args, kwargs)
    else:
        @functools.wraps(original)
        def timed(*args, **kwargs):
            counted, started = begin(), time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                end(counted, started, args, kwargs)
    return timed


def _wrap(owner, name: str, phase) -> str | None:
    """Time every call of ``owner.name`` (a module's function or a class's method) as
    ``phase``; return what is not there to time, else None."""
    qualified = f"{getattr(owner, '__name__', owner)}.{name}"
    found = inspect.getattr_static(owner, name, None)
    if found is None:
        return qualified
    if isinstance(found, (classmethod, staticmethod)):
        setattr(owner, name, type(found)(_timer(found.__func__, phase, qualified)))
    else:
        setattr(owner, name, _timer(getattr(owner, name), phase, qualified))
    return None


_IMPORT_LINE = re.compile(r"^\s*(import\s+\w|from\s+\.*[\w.]*\s+import\b)", re.MULTILINE)


def _imports(source) -> bool:
    """Whether a cell's code holds an import statement."""
    text = "".join(source) if isinstance(source, list) else str(source)
    try:
        tree = ast.parse(text)
    except SyntaxError:  # IPython's own syntax (magics, !commands): read the lines
        return bool(_IMPORT_LINE.search(text))
    return any(isinstance(node, (ast.Import, ast.ImportFrom)) for node in ast.walk(tree))


def _cell_phase(cell) -> str:
    """An answer cell (nbgrader's ``solution``, graded by hand or not), a hidden test
    (``grade`` and no ``solution``), or a set-up cell: every other code cell (locked
    set-up, cells without nbgrader metadata such as the student's own), with or without
    an import."""
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    if nbgrader.get("solution"):
        return ANSWERS
    if nbgrader.get("grade"):
        return TESTS
    return IMPORTS if _imports(cell.get("source", "")) else SETUP


def _install() -> list[str]:
    """Wrap the grader's phases, once a process; return what could not be wrapped."""
    global _absent
    if _absent is not None:
        return _absent
    from dlcourse.grading import autograde, grade
    from dlcourse.grading.prepare import package_view
    from dlcourse.grading.run import execute, sandbox, scratch
    try:
        from dlcourse.grading.run import warm
    except ImportError:  # a grader without warm kernels
        warm = None

    def cell_phase(client, cell, *args, **kwargs):
        return _cell_phase(cell)

    targets = [
        (autograde, "load_assignment", PREPARE),
        (grade, "source_of", PREPARE),
        (grade, "key_of", PREPARE),
        (grade, "allowed_modules", PREPARE),
        (grade, "nbgrader_settings", PREPARE),
        (execute.Limits, "for_course", PREPARE),
        (grade, "read_submission", PREPARE),
        (grade, "assemble", PREPARE),
        (grade, "course_ignore", PREPARE),
        (grade, "copy_submission_files", PREPARE),
        (grade, "copy_assignment_files", PREPARE),
        (grade, "check_available", PROBE),
        # a warm worker's sandbox, borrowed (started, on a worker's first grading)
        (grade, "_warm_sandbox", SANDBOX),
        (sandbox, "check_available", PROBE),
        (scratch.Scratch, "__enter__", SANDBOX),
        (sandbox.Sandbox, "__enter__", SANDBOX),
        (package_view, "build_view", SANDBOX),
        (execute, "_write_kernelspec", SANDBOX),
        # the synchronous faces nbclient made of its coroutines, which setup_kernel calls
        (execute._Client, "create_kernel_manager", KERNEL),
        (execute._Client, "start_new_kernel", KERNEL),
        (execute._Client, "start_new_kernel_client", KERNEL),
        (execute._Client, "execute_cell", cell_phase),
        (execute._Client, "_cleanup_kernel", SHUTDOWN),
        (sandbox.Sandbox, "close", TEARDOWN),
        (scratch.Scratch, "close", TEARDOWN),
        # a warm sandbox made clean for the next submission
        (warm and warm.WarmSandbox, "reset", TEARDOWN),
        # the kernel forked by a warm sandbox (inside the kernel's start: counted only)
        (warm and warm.WarmSandbox, "launch", KERNEL),
        (grade, "collect_records", EXPORTS),
        (grade, "score", SCORE),
        (grade, "unkeyed_reasons", SCORE),
    ]
    _absent = [f"run.warm.WarmSandbox.{name}" if owner is None else missing
               for owner, name, phase in targets
               if owner is None or (missing := _wrap(owner, name, phase)) is not None]
    return _absent


def profile_in_worker(folder: str, quiz: str, root: str, sandbox: bool,
                      submitted_at: float) -> dict:
    """Runs in the spawned worker: grade the submission in ``folder`` as ``autograde``'s
    workers do, every phase timed. Called again in the same process, it times the next
    grading alone."""
    global _current
    reached = time.time()
    started = time.perf_counter()
    from dlcourse.grading import autograde
    from dlcourse.grading.run.dispatch import as_text
    absent = _install()
    phases = Phases()
    phases.add(SPAWN, reached - submitted_at + time.perf_counter() - started)
    _current = phases
    started = time.perf_counter()
    try:
        text = as_text(autograde._grade_in_worker, folder, quiz, root, sandbox)
    finally:
        _current = None
    grading = time.perf_counter() - started
    phases.add(OTHER, max(0.0, grading - sum(s for p, s in phases.seconds.items()
                                             if p != SPAWN)))
    return {"phases": dict(phases.seconds), "absent": absent, "text": text,
            "forked": phases.calls["WarmSandbox.launch"]}


def _notebook_name(quiz: str) -> str:
    return sorted((REPO / "source" / quiz).glob("*.ipynb"))[0].stem


def make_course(target: Path, submissions: dict[str, Path], *, cold: bool) -> None:
    """A scratch course holding, for each quiz, one submission (``submissions[quiz]``, by
    student00) and the working tree's key and release record."""
    target.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", target)
    if cold:
        with open(target / "nbgrader_config.py", "a") as config:
            config.write("\nc.Grading.warm_kernels = False\n")
    for folder in ("source", "release", "quizzes"):
        shutil.copytree(REPO / folder, target / folder)
    (target / "keys").mkdir()
    for quiz, notebook in submissions.items():
        key = REPO / "keys" / f"{quiz}.json"
        if not key.is_file():
            raise SystemExit(f"no key at {key}: run `dlcourse release {quiz}` first")
        shutil.copy(key, target / "keys")
        record = key.with_name(f"{quiz}.release.json")
        if record.is_file():
            shutil.copy(record, target / "keys")
        folder = target / "submitted" / "student00" / quiz
        folder.mkdir(parents=True)
        shutil.copy(notebook, folder / f"{_notebook_name(quiz)}.ipynb")


def profile(root: Path, quiz: str, sandbox: bool, gradings: int) -> dict:
    """Grade ``quiz``'s submission ``gradings`` times in one fresh spawned worker; store
    the last result from this process, as ``autograde`` does."""
    from dlcourse.grading import autograde
    from dlcourse.grading.prepare.settings import nbgrader_settings
    from dlcourse.grading.prepare.source import load_assignment
    from dlcourse.grading.run.dispatch import from_text
    from dlcourse.grading.store import gradebook
    from dlcourse.grading.store.lateness import read_timestamp

    settings = nbgrader_settings(root)
    submission = autograde.find_submissions(root, quiz, settings=settings)[0]
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        runs = [pool.submit(profile_in_worker, str(submission.folder), quiz, str(root), sandbox,
                            time.time()).result() for _ in range(gradings)]
    graded, executed = from_text(runs[-1]["text"])
    sources = {source.name: source for source in load_assignment(root, quiz)}
    prints = autograde.notebook_prints(root, quiz, submission)
    timestamp = read_timestamp(submission.folder)
    gradebook.register(root, quiz)
    started = time.perf_counter()
    document = autograde._store(root, quiz, submission, dict(graded["notebooks"]), executed,
                                prints, float(graded["seconds"]), timestamp, sources=sources,
                                settings=settings, graded=set(graded["notebooks"]))
    phases = dict(runs[-1]["phases"])
    phases[STORE] = time.perf_counter() - started
    phases[TOTAL] = sum(phases.values())
    if gradings > 1:
        phases[WARMUP] = sum(runs[0]["phases"].values())
    return {"phases": phases, "absent": runs[-1]["absent"], "document": document,
            "forked": [run["forked"] for run in runs]}


def _short(quiz: str) -> str:
    """A quiz's column name: ``01`` for ``quiz01_frameworks``."""
    found = re.fullmatch(r"quiz(\d+)(_.*)?", quiz)
    return found.group(1) if found else quiz


def _died(document: dict) -> int:
    """How many items were not run because the kernel died."""
    notebooks = (document.get("notebooks") or {}).values() or [document]
    return sum("kernel died" in str(item.get("message", "")) for notebook in notebooks
               if isinstance(notebook, dict) for item in notebook.get("items") or [])


def _errors(document: dict) -> list[str]:
    """The result's error, and each notebook's, if any."""
    errors = [document["error"]] if document.get("error") else []
    for name, notebook in (document.get("notebooks") or {}).items():
        if isinstance(notebook, dict) and notebook.get("error"):
            errors.append(f"{name}: {notebook['error']}")
    return errors


def main() -> int:
    quizzes = sorted(p.name for p in (REPO / "quizzes").iterdir()
                     if (p / "calibration.json").is_file())
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiz", action="append", choices=quizzes, metavar="QUIZ",
                        help="profile this quiz (repeatable; default: every quiz)")
    parser.add_argument("--notebook", type=Path,
                        help="the submission, with one --quiz (default: the quiz's first "
                        "calibration submission)")
    parser.add_argument("--kernels", choices=("cold", "warm", "both"), default="both",
                        help="cold: c.Grading.warm_kernels = False, one grading in a fresh "
                        "worker; warm: the default setting, a worker's second grading "
                        "(default: both)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="grade with the kernel unsandboxed, as stock nbgrader runs it")
    args = parser.parse_args()
    chosen = list(dict.fromkeys(args.quiz or quizzes))
    if args.notebook and len(chosen) != 1:
        parser.error("--notebook needs exactly one --quiz")
    submissions, expected = {}, {}
    for quiz in chosen:
        calibration = json.loads((REPO / "quizzes" / quiz / "calibration.json").read_text()
                                 )["submissions"]
        # the first submission that answers everything right: every cell does its work
        best = max(calibration, key=lambda entry: entry["score"])
        submissions[quiz] = (args.notebook or REPO / best["path"]).resolve()
        expected[quiz] = next((entry.get("score") for entry in calibration
                               if (REPO / entry["path"]).resolve() == submissions[quiz]), None)
    modes = KERNEL_MODES if args.kernels == "both" else (args.kernels,)

    from dlcourse.config import Grading
    if "warm_kernels" not in Grading.class_traits():
        print("note: this grader has no c.Grading.warm_kernels yet: warm and cold kernels "
              "are the same\n", file=sys.stderr)
    runs: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="dlcourse-profile-") as scratch:
        for mode in modes:
            make_course(Path(scratch) / mode, submissions, cold=mode == "cold")
        for quiz in chosen:
            for mode in modes:
                column = f"{_short(quiz)} {mode}"
                print(f"grading {quiz} ({mode}) ...", file=sys.stderr, flush=True)
                runs[column] = profile(Path(scratch) / mode, quiz, not args.no_sandbox,
                                       gradings=2)
                runs[column]["quiz"] = quiz

    rows = [row for row in ROWS if any(row in run["phases"] for run in runs.values())]
    width = max(len(row) for row in rows) + 1
    column_width = max(9, *(len(name) + 2 for name in runs))
    print(f"\nseconds for one submission{' (unsandboxed)' if args.no_sandbox else ''}, "
          "a worker's second grading of it: " + " and ".join(modes) + " kernels")
    print(f"{'phase':<{width}}" + "".join(f"{name:>{column_width}}" for name in runs))
    for row in rows:
        if row == TOTAL or row == WARMUP:
            print("-" * (width + column_width * len(runs)))
        print(f"{row:<{width}}" + "".join(
            f"{run['phases'][row]:>{column_width}.2f}" if row in run["phases"]
            else f"{'-':>{column_width}}" for run in runs.values()))
    print()
    for quiz in chosen:
        path = submissions[quiz]
        print(f"{_short(quiz)}: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    scores = defaultdict(set)
    for run in runs.values():
        scores[run["quiz"]].add(run["document"].get("score"))
    for name, run in runs.items():
        document, should = run["document"], expected[run["quiz"]]
        line = f"{name}: score {document.get('score')} of {document.get('max_score')}"
        if should is not None and document.get("score") != should:
            line += f" (WRONG: calibration says {should})"
        if len(scores[run["quiz"]]) > 1:
            line += " (DIFFERS between cold and warm)"
        died = _died(document)
        if died:
            line += f"; the kernel died: {died} item(s) not run"
        kinds = ["forked warm" if forked else "started cold" for forked in run["forked"]]
        line += (f"; kernel: {kinds[0]}" if len(kinds) == 1 else
                 f"; kernels (warm-up, measured): {', '.join(kinds)}")
        errors = _errors(document)
        print(line + (f"; ERROR: {'; '.join(errors)}" if errors else ""))
    absent = sorted({a for run in runs.values() for a in run["absent"]})
    if absent:
        print(f"not timed (the grader has no such function): {', '.join(absent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
