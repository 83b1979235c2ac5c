"""dlcourse.quiz: a quiz's kernel forbids, with a reason, the parts of dlcourse it does not
declare, in the student's own run as in grading."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pytest

from .conftest import QUIZZES, REPO

PROBE = """
from dlcourse.quiz import begin, ReferenceCodeForbidden
begin("quiz07_production", dlcourse_modules=["data"])
try:
    from dlcourse.drift import psi
except ReferenceCodeForbidden as error:
    print("refused:", error)
try:
    from dlcourse import faults
except ReferenceCodeForbidden as error:
    print("refused too:", error)
import dlcourse.data                      # declared
from dlcourse.checks import check         # always: it imports dlcourse.protocol itself
import numpy                              # not dlcourse: never judged
print("allowed: data, checks")
"""


def test_an_undeclared_module_is_refused_with_the_reason_and_the_rest_imports():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert ("refused: quiz07_production does not let answers use dlcourse.drift: a task is "
            "not answered by calling the course's own reference code") in done.stdout
    assert "Parts of dlcourse this quiz allows: dlcourse.data." in done.stdout
    assert "refused too: quiz07_production does not let answers use dlcourse.faults" in done.stdout
    assert "allowed: data, checks" in done.stdout


@pytest.mark.parametrize("quiz", QUIZZES)
def test_every_quiz_sets_up_with_the_modules_its_quiz_json_declares(quiz):
    declared = json.loads((REPO / "quizzes" / quiz / "quiz.json").read_text())
    notebook = nbformat.read(REPO / "source" / quiz / f"{quiz}.ipynb", as_version=4)
    setup = next(c for c in notebook.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    modules = json.dumps(declared.get("dlcourse_modules", []))
    # followed by ")" or, for a quiz whose numbers differ by student, by its variant
    assert re.search(rf'begin\("{quiz}", dlcourse_modules={re.escape(modules)}[),]',
                     setup.source), setup.source[:200]
