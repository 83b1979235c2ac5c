"""Stock ``nbgrader autograde``, ``dlcourse autograde --workers N`` (cold and warm kernels) and
``--scheduler``, in one run.

    .venv/bin/python benchmarks/autograde.py [--submissions 16] [--workers 2] [--quiz QUIZ]

All four grade the same N submissions (the quiz's calibration submissions
and its solution, repeated), each in a fresh copy of the course with its own
gradebook: stock nbgrader; dlcourse with N local worker processes, each
kernel started cold (``c.Grading.warm_kernels = False``: how dlcourse graded
before warm workers) or forked warm (the default); and dlcourse on a Dask
cluster of N workers (``dask scheduler`` and ``dask worker --nthreads 1``,
started on this machine before the clock starts, as a cluster's long-lived
workers would be). Every gradebook is made and the quiz
registered by ``nbgrader generate_assignment`` before timing (nbgrader's
first gradebook start runs an ``alembic`` process; each grader starts from the
same state), so each time is the grading run alone, dlcourse's own check
that the quiz is registered included. Prints a table of wall time,
submissions per minute and the ratios, and whether they agree on every honest
submission's autograded score (these submissions are all honest: they attack
nothing), listing each item on which they differ and why (stock nbgrader fails
a test cell that writes to stderr, as TensorFlow does on its first call).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def make_course(target: Path, quiz: str, count: int) -> list[str]:
    """A course copy with ``count`` submissions of ``quiz``; returns the student ids."""
    target.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", target)
    for folder in ("source", "release", "quizzes"):
        shutil.copytree(REPO / folder, target / folder)
    calibration = json.loads((REPO / "quizzes" / quiz / "calibration.json").read_text())
    notebooks = [REPO / case["path"] for case in calibration["submissions"]]
    notebooks.append(REPO / "source" / quiz / f"{quiz}.ipynb")
    students = [f"student{i:02d}" for i in range(count)]
    for index, student in enumerate(students):
        folder = target / "submitted" / student / quiz
        folder.mkdir(parents=True)
        shutil.copy(notebooks[index % len(notebooks)], folder / f"{quiz}.ipynb")
    return students


def environment() -> dict[str, str]:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("DLCOURSE_CHECK_MODE", None)
    return env


@contextmanager
def dask_cluster(folder: Path, workers: int):
    """A Dask scheduler and ``workers`` single-threaded workers on loopback; its scheduler file."""
    from distributed import Client

    scheduler_file = folder / "scheduler.json"
    log = open(folder / "dask.log", "w")
    processes = [subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(scheduler_file)], env=environment(), stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)]
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        processes.append(subprocess.Popen(
            [str(BIN / "dask"), "worker", "--scheduler-file", str(scheduler_file), "--nworkers",
             str(workers), "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
             "--local-directory", str(folder / "workers")], env=environment(), stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True))
        with Client(scheduler_file=str(scheduler_file), timeout=60) as client:
            client.wait_for_workers(workers, timeout=180)
        yield scheduler_file
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def run(command: list[str], cwd: Path) -> float:
    env = environment()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - started


def gradebook_items(course: Path, quiz: str) -> dict[str, dict[str, float]]:
    """student -> grade id -> autograded score, as the gradebook holds them."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {s.student.id: {g.name: float(g.auto_score or 0.0) for g in s.notebooks[0].grades}
                for s in gradebook.find_assignment(quiz).submissions}


def why_stock_differs(course: Path, quiz: str, student: str, grade_id: str) -> str:
    """Stock nbgrader fails a test cell that wrote to stderr (a framework's warning, say)."""
    notebook = json.loads((course / "autograded" / student / quiz / f"{quiz}.ipynb").read_text())
    for cell in notebook["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
            kinds = {o.get("name") or o["output_type"] for o in cell.get("outputs", [])}
            if "error" not in kinds and "stderr" in kinds:
                return "stock failed the cell for its stderr output"
    return "see the graded notebooks"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiz", default="quiz01_frameworks")
    parser.add_argument("--submissions", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    quiz, count = args.quiz, args.submissions
    with tempfile.TemporaryDirectory(prefix="dlcourse-bench-") as scratch:
        stock, ours, cluster, cold = (Path(scratch) / name
                                      for name in ("stock", "ours", "dask", "cold"))
        for course in (stock, ours, cluster, cold):
            make_course(course, quiz, count)
            if course == stock:
                run([str(BIN / "dlcourse"), "release", quiz], course)  # the key, for all
            else:
                shutil.copytree(stock / "keys", course / "keys")
            register_seconds = run([str(BIN / "nbgrader"), "generate_assignment", quiz,
                                    "--force"], course)
        with open(cold / "nbgrader_config.py", "a") as config:
            config.write("\nc.Grading.warm_kernels = False\n")
        stock_seconds = run([str(BIN / "nbgrader"), "autograde", quiz, "--force"], stock)
        cold_seconds = run([str(BIN / "dlcourse"), "autograde", quiz, "--workers",
                            str(args.workers), "--force"], cold)
        our_seconds = run([str(BIN / "dlcourse"), "autograde", quiz, "--workers",
                           str(args.workers), "--force"], ours)
        (Path(scratch) / "cluster").mkdir()
        with dask_cluster(Path(scratch) / "cluster", args.workers) as scheduler_file:
            dask_seconds = run([str(BIN / "dlcourse"), "autograde", quiz, "--scheduler",
                                str(scheduler_file), "--force"], cluster)
        stock_items, our_items = gradebook_items(stock, quiz), gradebook_items(ours, quiz)
        dask_items = gradebook_items(cluster, quiz)
        cold_items = gradebook_items(cold, quiz)
        differences = [(student, grade_id, score, our_items[student][grade_id],
                        why_stock_differs(stock, quiz, student, grade_id))
                       for student, items in sorted(stock_items.items())
                       for grade_id, score in sorted(items.items())
                       if score != our_items[student][grade_id]]
    stock_scores = {s: sum(items.values()) for s, items in stock_items.items()}
    our_scores = {s: sum(items.values()) for s, items in our_items.items()}
    agree = stock_scores == our_scores
    rows = [("stock nbgrader autograde", stock_seconds),
            (f"dlcourse --workers {args.workers}, cold kernels", cold_seconds),
            (f"dlcourse autograde --workers {args.workers}", our_seconds),
            (f"dlcourse --scheduler, {args.workers} workers", dask_seconds)]
    print(f"{count} submissions of {quiz}, {os.cpu_count()} CPU cores\n")
    print(f"{'grader':<36} {'wall s':>8} {'subs/min':>9}")
    for name, seconds in rows:
        print(f"{name:<36} {seconds:>8.1f} {60 * count / seconds:>9.2f}")
    print(f"(before each: nbgrader generate_assignment, {register_seconds:.1f} s the last time,"
          " not in the times above)")
    print(f"\nspeed-up, stock / --workers {args.workers}: {stock_seconds / our_seconds:.2f}x")
    print(f"speed-up, stock / --scheduler: {stock_seconds / dask_seconds:.2f}x")
    print(f"speed-up, cold kernels / warm (--workers {args.workers}): "
          f"{cold_seconds / our_seconds:.2f}x")
    print(f"warm and cold kernels agree on every item: "
          f"{'yes' if cold_items == our_items else 'no'}")
    print(f"--scheduler / --workers {args.workers}: {dask_seconds / our_seconds:.2f}"
          f" ({100 * (dask_seconds / our_seconds - 1):+.0f} %)")
    print(f"--scheduler and --workers agree on every item: "
          f"{'yes' if dask_items == our_items else 'no'}")
    print(f"honest submissions' scores agree with stock: {'yes' if agree else 'no'}"
          f" ({sum(s == our_scores[k] for k, s in stock_scores.items())} of {count} equal)")
    for student, grade_id, stock_score, our_score, why in differences:
        print(f"  {student} {grade_id}: stock {stock_score:g}, dlcourse {our_score:g} ({why})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
