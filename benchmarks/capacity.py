"""How many cores, and how long, grading a class takes: from measured per-submission costs.

    .venv/bin/python benchmarks/capacity.py [--students 1000] [--workers 16 64 256]
                                            [--from COURSE_ROOT ...] [--measure]

A worker grades one submission at a time, and each submission's grading is
timed where it runs: ``dlcourse autograde`` stores those seconds in
``autograded/<student>/<quiz>/dlcourse-result.json``. This script reads them
from the course roots given (``--from``, by default this repository), and,
with ``--measure``, grades the solution of each quiz that has no stored
result once, in a scratch course, to time it. For a class of ``--students``
and the quizzes measured it prints each quiz's mean seconds per submission,
the core-hours of the whole class (one worker per core, as the benchmarks run
it) and the wall time on N workers, assuming the batch divides evenly
(submissions are independent tasks, so it nearly does once a batch is much
larger than N) and the measured cost holds at that scale. The measured cost
of a submission is its worker's time: the gradebook store is the client's, a
few milliseconds each, and is left out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULT_FILE = "dlcourse-result.json"


def stored_seconds(roots: list[Path]) -> dict[str, list[float]]:
    """quiz -> the seconds each stored, successfully graded submission took."""
    found: dict[str, list[float]] = {}
    for root in roots:
        for path in sorted((root / "autograded").glob(f"*/*/{RESULT_FILE}")):
            try:
                result = json.loads(path.read_text())["result"]
            except (OSError, ValueError, KeyError):
                continue
            if "seconds" in result and not result.get("error"):
                found.setdefault(result["quiz"], []).append(float(result["seconds"]))
    return found


def measure(quiz: str) -> float:
    """Grade the solution of ``quiz`` once, as ``dlcourse autograde`` does; its seconds."""
    from dlcourse.grading.autograde import _grade_in_worker

    key = REPO / "keys" / f"{quiz}.json"
    if not key.is_file():
        raise SystemExit(f"no key at {key}: run `dlcourse release {quiz}` first")
    with tempfile.TemporaryDirectory(prefix="dlcourse-capacity-") as scratch:
        root = Path(scratch)
        shutil.copy(REPO / "nbgrader_config.py", root)
        for folder in ("source", "quizzes"):
            shutil.copytree(REPO / folder, root / folder)
        (root / "keys").mkdir()
        shutil.copy(key, root / "keys")
        # the source folder stands for a submission: the solution, every notebook of it
        document, _ = _grade_in_worker(str(root / "source" / quiz), quiz, str(root), True)
    if document.get("error"):
        raise SystemExit(f"{quiz}: the solution could not be graded: {document['error']}")
    return float(document["seconds"])


def hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 16, 64, 256])
    parser.add_argument("--from", dest="roots", type=Path, nargs="+", default=[REPO],
                        help="course roots whose autograded/ results to read")
    parser.add_argument("--measure", action="store_true",
                        help="grade each quiz's solution once where nothing is stored")
    parser.add_argument("--quizzes", nargs="+",
                        help="the quizzes of the class (default: every quiz in source/)")
    args = parser.parse_args()
    quizzes = args.quizzes or sorted(p.name for p in (REPO / "source").iterdir() if p.is_dir())
    seconds = stored_seconds(args.roots)
    per_quiz: dict[str, tuple[float, int, str]] = {}
    for quiz in quizzes:
        if seconds.get(quiz):
            per_quiz[quiz] = (statistics.mean(seconds[quiz]), len(seconds[quiz]), "stored")
        elif args.measure:
            per_quiz[quiz] = (measure(quiz), 1, "measured now")
    missing = [q for q in quizzes if q not in per_quiz]
    if not per_quiz:
        print("no per-submission cost stored or measured: run dlcourse autograde, or pass "
              "--measure", file=sys.stderr)
        return 1
    print(f"a class of {args.students} students, {len(per_quiz)} quiz(zes) measured\n")
    print(f"{'quiz':<24} {'s/submission':>12} {'from':>16} {'core-hours':>11}")
    total = 0.0
    for quiz, (mean, count, origin) in per_quiz.items():
        class_seconds = mean * args.students
        total += class_seconds
        print(f"{quiz:<24} {mean:>12.1f} {f'{count} {origin}':>16} {class_seconds / 3600:>11.1f}")
    print(f"{'all measured quizzes':<24} {'':>12} {'':>16} {total / 3600:>11.1f}")
    if missing:
        print(f"not measured (pass --measure): {', '.join(missing)}")
    print(f"\n{'workers':>8} {'wall time, all quizzes':>24} {'one quiz, slowest':>18}")
    slowest = max(mean for mean, _, _ in per_quiz.values()) * args.students
    for workers in args.workers:
        print(f"{workers:>8} {hours(total / workers):>24} {hours(slowest / workers):>18}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
