"""Stock ``nbgrader autograde`` against ``dlcourse autograde --workers N``, in one run.

    .venv/bin/python benchmarks/autograde.py [--submissions 16] [--workers 2] [--quiz QUIZ]

Both grade the same N submissions (the quiz's calibration submissions and its
solution, repeated), each in a fresh copy of the course with its own
gradebook. Prints a table of wall time, submissions per minute and the ratio,
and whether the two agree on every honest submission's autograded score
(these submissions are all honest: they attack nothing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
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


def run(command: list[str], cwd: Path) -> float:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("DLCOURSE_CHECK_MODE", None)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - started


def gradebook_scores(course: Path, quiz: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {s.student.id: float(s.score)
                for s in gradebook.find_assignment(quiz).submissions}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quiz", default="quiz01_frameworks")
    parser.add_argument("--submissions", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    quiz, count = args.quiz, args.submissions
    with tempfile.TemporaryDirectory(prefix="dlcourse-bench-") as scratch:
        stock, ours = Path(scratch) / "stock", Path(scratch) / "ours"
        for course in (stock, ours):
            make_course(course, quiz, count)
            run([str(BIN / "dlcourse"), "release", quiz], course)  # the key, for both
        run([str(BIN / "nbgrader"), "generate_assignment", quiz, "--force"], stock)
        stock_seconds = run([str(BIN / "nbgrader"), "autograde", quiz, "--force"], stock)
        our_seconds = run([str(BIN / "dlcourse"), "autograde", quiz, "--workers",
                           str(args.workers), "--force"], ours)
        stock_scores, our_scores = gradebook_scores(stock, quiz), gradebook_scores(ours, quiz)
    agree = stock_scores == our_scores
    rows = [("stock nbgrader autograde", stock_seconds),
            (f"dlcourse autograde --workers {args.workers}", our_seconds)]
    print(f"{count} submissions of {quiz}, {os.cpu_count()} CPU cores\n")
    print(f"{'grader':<32} {'wall s':>8} {'subs/min':>9}")
    for name, seconds in rows:
        print(f"{name:<32} {seconds:>8.1f} {60 * count / seconds:>9.2f}")
    print(f"\nspeed-up (stock / dlcourse): {stock_seconds / our_seconds:.2f}x")
    print(f"honest submissions' scores agree: {'yes' if agree else 'NO'}")
    if not agree:
        for student in sorted(stock_scores):
            print(f"  {student}: stock {stock_scores[student]:g}, "
                  f"dlcourse {our_scores.get(student)}")
    return 0 if agree else 1


if __name__ == "__main__":
    raise SystemExit(main())
