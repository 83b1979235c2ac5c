"""Where one submission's grading time goes, phase by phase, in a dlcourse worker.

    .venv/bin/python benchmarks/profile_grading.py [--quiz QUIZ] [--notebook PATH]
                                                   [--no-sandbox-too]

Grades one submission (by default the quiz's first calibration submission) of a scratch copy of
the course, in a fresh spawned process as ``dlcourse autograde`` does, with
timers around each phase of :func:`dlcourse.grading.grade.grade_notebook`:
reading the source and the key, assembly, copying the submission's files,
the sandbox probe and set-up (kernelspec, package view), kernel start,
each cell (setup/import cells, answer cells, test cells), the kernel's
shutdown, exported-file evaluation, scoring, and the parent's store into the
gradebook. The same submission is then graded with the kernel unsandboxed,
as stock nbgrader runs it, so the table shows what the sandbox itself costs.
The keys are copied from the working tree's ``keys/`` (run ``dlcourse
release QUIZ`` first if they are missing).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


class Phases:
    """Seconds spent per phase, summed over calls, in the order phases first ran."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        #: phases whose function the grader no longer has (renamed, say): not timed
        self.absent: list[str] = []

    def add(self, phase: str, seconds: float) -> None:
        self.seconds[phase] += seconds
        self.calls[phase] += 1

    def wrap(self, owner, name: str, phase: str) -> None:
        """Time every call of ``owner.name`` (a function or coroutine function) as ``phase``."""
        original = getattr(owner, name, None)
        if original is None:
            self.absent.append(f"{phase} ({getattr(owner, '__name__', owner)}.{name})")
            return
        if asyncio.iscoroutinefunction(original):
            @functools.wraps(original)
            async def timed(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return await original(*args, **kwargs)
                finally:
                    self.add(phase, time.perf_counter() - started)
        else:
            @functools.wraps(original)
            def timed(*args, **kwargs):
                started = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self.add(phase, time.perf_counter() - started)
        setattr(owner, name, timed)


def _cell_phase(cell) -> str:
    nbgrader = cell.get("metadata", {}).get("nbgrader", {})
    if nbgrader.get("grade"):
        return "cells: tests"
    if nbgrader.get("solution"):
        return "cells: answers"
    return "cells: setup (imports)"


def profile_in_worker(notebook: str, quiz: str, root: str, sandbox: bool,
                      spawned_at: float, immediate_shutdown: bool = False) -> dict:
    """Runs in a spawned process: grade ``notebook`` with every phase timed."""
    reached = time.time()
    phases = Phases()
    phases.add("worker: spawn until this function runs", reached - spawned_at)
    started = time.perf_counter()
    from nbclient import NotebookClient

    from dlcourse.grading import autograde, grade
    from dlcourse.grading.prepare import package_view
    from dlcourse.grading.run import execute
    phases.add("worker: import the grader", time.perf_counter() - started)

    phases.wrap(grade, "load_source", "read source")
    phases.wrap(grade, "read_key", "read key")
    phases.wrap(grade, "allowed_modules", "read the quiz's module list")
    phases.wrap(grade, "grading_options", "read the course config")
    phases.wrap(grade, "check_available", "sandbox probe (bwrap + Python, once a process)")
    phases.wrap(grade, "read_submission", "read submission")
    phases.wrap(grade, "assemble", "assemble")
    phases.wrap(grade, "copy_submission_files", "copy the submission's files")
    phases.wrap(package_view, "build_view", "sandbox: build the package view")
    phases.wrap(execute, "_write_kernelspec", "sandbox: kernelspec and limits")
    # the synchronous faces: nbclient made them from the coroutines when it was defined
    phases.wrap(NotebookClient, "start_new_kernel", "kernel: start the process")
    phases.wrap(NotebookClient, "start_new_kernel_client", "kernel: wait until ready")
    phases.wrap(NotebookClient, "_cleanup_kernel", "kernel: shut down")
    phases.wrap(grade, "collect_records", "read records, evaluate exported files")
    phases.wrap(grade, "score", "verdicts")
    original_execute_cell = execute._Client.execute_cell

    def execute_cell(client, cell, index, *args, **kwargs):
        begun = time.perf_counter()
        try:
            return original_execute_cell(client, cell, index, *args, **kwargs)
        finally:
            phases.add(_cell_phase(cell), time.perf_counter() - begun)

    execute._Client.execute_cell = execute_cell
    if immediate_shutdown:  # the proposed fix: kill the kernel, do not wait for it to exit
        execute._Client.shutdown_kernel = "immediate"
    begun = time.perf_counter()
    document, executed = autograde._grade_in_worker(str(Path(notebook).parent), quiz, root,
                                                    sandbox)
    phases.add("_grade_in_worker in all", time.perf_counter() - begun)
    return {"phases": dict(phases.seconds), "calls": dict(phases.calls), "absent": phases.absent,
            "document": document, "executed": executed}


def make_course(target: Path, quiz: str, notebook: Path) -> Path:
    """A scratch course with one submission, ``notebook``, and the working tree's key."""
    target.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", target)
    for folder in ("source", "release", "quizzes"):
        shutil.copytree(REPO / folder, target / folder)
    key = REPO / "keys" / f"{quiz}.json"
    if not key.is_file():
        raise SystemExit(f"no key at {key}: run `dlcourse release {quiz}` first")
    (target / "keys").mkdir()
    shutil.copy(key, target / "keys")
    folder = target / "submitted" / "student00" / quiz
    folder.mkdir(parents=True)
    shutil.copy(notebook, folder / f"{quiz}.ipynb")
    return folder / f"{quiz}.ipynb"


def profile(root: Path, quiz: str, submission: Path, sandbox: bool,
            immediate_shutdown: bool = False) -> dict:
    """One submission graded in a fresh spawned worker, and stored by this process."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        profiled = pool.submit(profile_in_worker, str(submission), quiz, str(root), sandbox,
                               time.time(), immediate_shutdown).result()
    from dlcourse.grading import autograde
    from dlcourse.grading.store import gradebook

    phases = Phases()
    started = time.perf_counter()
    gradebook.register(root, quiz)
    phases.add("parent: register the quiz in a new gradebook", time.perf_counter() - started)
    started = time.perf_counter()
    gradebook.register(root, quiz)  # what every later `dlcourse autograde` run pays
    phases.add("parent: register again (already there)", time.perf_counter() - started)
    found = autograde.find_submissions(root, quiz)[0]
    started = time.perf_counter()
    autograde._store(root, quiz, found, profiled["document"], profiled["executed"],
                     autograde.fingerprint(root, quiz, found))
    phases.add("parent: store (gradebook, notebook, result file)", time.perf_counter() - started)
    profiled["phases"].update(phases.seconds)
    return profiled


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiz", default="quiz01_frameworks")
    parser.add_argument("--notebook", type=Path,
                        help="the submission (default: the quiz's first calibration submission)")
    parser.add_argument("--sandbox-only", action="store_true",
                        help="skip the unsandboxed run")
    parser.add_argument("--immediate-shutdown", action="store_true",
                        help="also grade with the kernel killed after its last cell instead of "
                        "shut down gracefully (nbclient's shutdown_kernel='immediate')")
    args = parser.parse_args()
    calibration = json.loads((REPO / "quizzes" / args.quiz / "calibration.json").read_text())
    notebook = args.notebook or REPO / calibration["submissions"][0]["path"]
    runs = {"sandboxed": True} if args.sandbox_only else {"sandboxed": True, "no sandbox": False}
    profiles = {}
    if args.immediate_shutdown:
        runs["kill kernel"] = "immediate"
    with tempfile.TemporaryDirectory(prefix="dlcourse-profile-") as scratch:
        for name, sandbox in runs.items():
            root = Path(scratch) / name.replace(" ", "-")
            submission = make_course(root, args.quiz, notebook)
            profiles[name] = profile(root, args.quiz, submission, bool(sandbox),
                                     immediate_shutdown=sandbox == "immediate")
    phases = list(dict.fromkeys(p for run in profiles.values() for p in run["phases"]))
    total_phase = "_grade_in_worker in all"
    phases.remove(total_phase)
    width = max(len(p) for p in phases) + 2
    print(f"one submission of {args.quiz} ({notebook.name}); seconds per phase "
          "(noisy where the CPU is shared)\n")
    print(f"{'phase':<{width}}" + "".join(f"{name:>12}" for name in profiles))
    for phase in phases:
        cells = [f"{run['phases'][phase]:>12.2f}" if phase in run["phases"] else f"{'-':>12}"
                 for run in profiles.values()]
        print(f"{phase:<{width}}" + "".join(cells))
    print(f"{total_phase:<{width}}"
          + "".join(f"{run['phases'][total_phase]:>12.2f}" for run in profiles.values()))
    scores = {name: run["document"]["score"] for name, run in profiles.items()}
    print(f"\nscores: {json.dumps(scores)}")
    for name, run in profiles.items():
        if run.get("absent"):
            print(f"{name}: not timed, no such function: {', '.join(run['absent'])}")
        if run["document"].get("error"):
            print(f"{name}: {run['document']['error']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
