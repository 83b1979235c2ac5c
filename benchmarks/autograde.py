"""Stock ``nbgrader autograde`` against ``dlcourse autograde --workers N``, in one run.

    .venv/bin/python benchmarks/autograde.py [--submissions 16] [--workers 2] [--quiz QUIZ]

Both grade the same N submissions (the quiz's calibration submissions and its
solution, repeated), each in a fresh copy of the course with its own
gradebook. Prints a table of wall time, submissions per minute and the ratio,
and whether the two agree on every honest submission's autograded score
(these submissions are all honest: they attack nothing), listing each item
on which they differ and why (stock nbgrader fails a test cell that writes
to stderr, as TensorFlow does on its first call).
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
        stock, ours = Path(scratch) / "stock", Path(scratch) / "ours"
        for course in (stock, ours):
            make_course(course, quiz, count)
            run([str(BIN / "dlcourse"), "release", quiz], course)  # the key, for both
        run([str(BIN / "nbgrader"), "generate_assignment", quiz, "--force"], stock)
        stock_seconds = run([str(BIN / "nbgrader"), "autograde", quiz, "--force"], stock)
        our_seconds = run([str(BIN / "dlcourse"), "autograde", quiz, "--workers",
                           str(args.workers), "--force"], ours)
        stock_items, our_items = gradebook_items(stock, quiz), gradebook_items(ours, quiz)
        differences = [(student, grade_id, score, our_items[student][grade_id],
                        why_stock_differs(stock, quiz, student, grade_id))
                       for student, items in sorted(stock_items.items())
                       for grade_id, score in sorted(items.items())
                       if score != our_items[student][grade_id]]
    stock_scores = {s: sum(items.values()) for s, items in stock_items.items()}
    our_scores = {s: sum(items.values()) for s, items in our_items.items()}
    agree = stock_scores == our_scores
    rows = [("stock nbgrader autograde", stock_seconds),
            (f"dlcourse autograde --workers {args.workers}", our_seconds)]
    print(f"{count} submissions of {quiz}, {os.cpu_count()} CPU cores\n")
    print(f"{'grader':<32} {'wall s':>8} {'subs/min':>9}")
    for name, seconds in rows:
        print(f"{name:<32} {seconds:>8.1f} {60 * count / seconds:>9.2f}")
    print(f"\nspeed-up (stock / dlcourse): {stock_seconds / our_seconds:.2f}x")
    print(f"honest submissions' scores agree: {'yes' if agree else 'no'}"
          f" ({sum(s == our_scores[k] for k, s in stock_scores.items())} of {count} equal)")
    for student, grade_id, stock_score, our_score, why in differences:
        print(f"  {student} {grade_id}: stock {stock_score:g}, dlcourse {our_score:g} ({why})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
