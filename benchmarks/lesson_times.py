"""Time each lesson under nbval, as CI runs it, against its budget.

    .venv/bin/python benchmarks/lesson_times.py [notebooks/NN_topic.ipynb ...]

Prints one row per lesson: wall time (a fresh kernel, imports included), the
lesson's time budget from its issue, and whether it passed. Timings belong
here, not in the tests: the tests only check that every cell runs.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: Seconds each lesson may take on the 2-core reference machine.
BUDGETS = {"01_frameworks": 120, "02_autograd": 90, "03_training": 150,
           "04_style_transfer": 180, "05_deployment": 240, "06_scaling": 180,
           "07_production": 180, "08_trust": 180}


def time_lesson(path: Path) -> tuple[float, bool]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(path)], cwd=REPO, capture_output=True, text=True)
    return time.perf_counter() - started, done.returncode == 0


def main(argv: list[str]) -> int:
    lessons = [Path(a).resolve() for a in argv] or sorted((REPO / "notebooks").glob("*.ipynb"))
    print(f"{'lesson':<22} {'wall s':>8} {'budget s':>9}  result")
    worst = 0
    for lesson in lessons:
        seconds, passed = time_lesson(lesson)
        budget = BUDGETS.get(lesson.stem)
        within = budget is None or seconds <= budget
        worst |= not (passed and within)
        print(f"{lesson.stem:<22} {seconds:>8.1f} {budget or '-':>9}  "
              f"{'ran' if passed else 'FAILED'}{'' if within else ', over budget'}")
    return worst


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
