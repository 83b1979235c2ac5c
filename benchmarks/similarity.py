"""``dlcourse similarity`` on a large generated class of quiz 01.

    .venv/bin/python benchmarks/similarity.py [--submissions 1000] [--seed 0]

Writes the submissions (tests/quiz01_class.py: honest students who each write
their answers their own way, and two pairs of disguised copies) into a fresh
copy of the course, with the lessons, then times one
:func:`dlcourse.grading.reports.similarity.similarity` run, HTML page included.
Prints a table of the wall time, the pairs compared, and where the two
copied pairs rank. The budget: under 60 s for 1,000 submissions on the
2-core machine.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from dlcourse.grading.reports.similarity import similarity  # noqa: E402
from tests.conftest import copy_course  # noqa: E402
from tests.quiz01_class import QUIZ, write_class  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlcourse-similarity-") as folder:
        root = copy_course(REPO, Path(folder) / "course")
        shutil.copytree(REPO / "notebooks", root / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        started = time.monotonic()
        who = write_class(root, args.submissions, seed=args.seed)
        generated = time.monotonic() - started
        started = time.monotonic()
        result = similarity(QUIZ, root=root, html=Path(folder) / "similarity.html")
        took = time.monotonic() - started
    n = len(result.students)
    ranks = {(p.a, p.b): i for i, p in enumerate(result.pairs, 1)}
    copied = ", ".join(f"{a}/{b}: #{ranks.get((a, b), '-')}" for a, b in who["copied"])
    planted = {tuple(pair) for pair in who["copied"]}
    first_other = next((i for i, p in enumerate(result.pairs, 1) if (p.a, p.b) not in planted),
                       len(result.pairs) + 1)
    above = all(ranks.get(pair, len(result.pairs) + 1) < first_other for pair in planted)
    rows = [("submissions", f"{n}"),
            ("answer cells", f"{len(result.cells)}"),
            ("pairs of students", f"{n * (n - 1) // 2:,}"),
            ("pairs sharing a cell beyond chance", f"{len(result.pairs):,}"),
            ("pairs at or above the threshold", f"{len(result.above)}"),
            ("copied pairs rank", copied),
            ("every copied pair above every other pair", "yes" if above else "NO"),
            ("writing the class (not timed)", f"{generated:.1f} s"),
            ("dlcourse similarity wall time", f"{took:.1f} s"),
            ("budget (2-core machine)", "60 s")]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
