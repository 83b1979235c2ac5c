"""Run every lesson exercise twice under nbval: the student's stub must not pass, the
solution must.

Registered by the repository's root ``conftest.py``, so it applies however the lessons
are run (``make test``, or ``pytest notebooks/03_training.ipynb`` alone).

- The kernel nbval starts inherits ``DLCOURSE_EXERCISES=strict``: an ``exercise-check``
  cell whose :class:`dlcourse.exercises.Check` does not pass raises, so the lesson's
  solution failing its check fails that cell's test.
- Before each ``exercise`` cell, two cells are inserted: the stub of the student's copy
  (:func:`dlcourse.student_copy.stub`), which must run without an error, and the
  exercise's check cell wrapped in :func:`dlcourse.exercises.expect_not_passing`, which
  fails when a check passes on the stub. Then the lesson's own cells run as written: the
  solution, then its check. The inserted cells carry the tag ``exercise-probe`` and never
  reach the lesson's executed copy (tests/lesson_outputs.py).
"""

from __future__ import annotations

import copy
import os

import pytest

from dlcourse.exercises import MODE_VARIABLE, STRICT
from dlcourse.student_copy import is_check, is_exercise, stub

PROBE_TAG = "exercise-probe"

PROBE_CHECK = """import dlcourse.exercises as _dlcourse_exercises
_dlcourse_exercises.expect_not_passing()
try:
{body}
finally:
    _dlcourse_exercises.end_expectation()
"""


def is_probe(item) -> bool:
    cell = getattr(item, "cell", None)
    return cell is not None and PROBE_TAG in cell.get("metadata", {}).get("tags", [])


def probe_cell(cell, source: str):
    probe = copy.deepcopy(cell)
    probe.source = source
    probe.metadata["tags"] = [PROBE_TAG]
    return probe


def wrapped_check(source: str) -> str:
    """The check cell's code inside ``try``: indented by one level, ``pass`` if empty."""
    body = "\n".join(("    " + line) if line.strip() else line
                     for line in source.splitlines()) or "    pass"
    return PROBE_CHECK.format(body=body)


class ExerciseProbes:
    """Insert the stub probes before each exercise of a lesson nbval collected."""

    def pytest_configure(self, config):
        os.environ[MODE_VARIABLE] = STRICT  # inherited by the kernels nbval starts

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        result = []
        for index, item in enumerate(items):
            cell = getattr(item, "cell", None)
            if type(item).__name__ == "IPyNbCell" and cell is not None and is_exercise(cell):
                following = items[index + 1] if index + 1 < len(items) else None
                check = getattr(following, "cell", None)
                if following is not None and following.parent is item.parent \
                        and check is not None and is_check(check):
                    result.extend(self.probes(item, check))
            result.append(item)
        items[:] = result

    @staticmethod
    def probes(item, check_cell):
        make = type(item).from_parent
        return [
            make(item.parent, name=f"{item.name} (the student's stub)", cell_num=item.cell_num,
                 cell=probe_cell(item.cell, stub(item.cell.source)), options=item.options),
            make(item.parent, name=f"{item.name} (its check fails on the stub)",
                 cell_num=item.cell_num, cell=probe_cell(check_cell,
                                                         wrapped_check(check_cell.source)),
                 options=item.options),
        ]
