"""dlcourse.exercises (the check cell of a lesson exercise) and the stub probes of CI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from dlcourse import exercises
from dlcourse.exercises import Check, ExerciseNotPassed, StubPassed

from .conftest import FILES, REPO


@pytest.fixture(autouse=True)
def lenient(monkeypatch):
    """A student's kernel: no strict mode (the suite itself runs with it)."""
    monkeypatch.delenv(exercises.MODE_VARIABLE, raising=False)


def test_a_check_that_holds_says_it_works(capsys):
    with Check("Exercise 1: double") as check:
        check.equal(2 * 3, 6, "double(3)")
        check.close(np.array([0.1 + 0.2]), [0.3], "the sum")
        check.shape(np.zeros((2, 3)), (2, 3), "the batch")
    assert check.verdict == exercises.PASSED
    assert capsys.readouterr().out.startswith("✓ Exercise 1: double: works (double(3); the sum")


def test_a_missing_name_is_not_done_yet_and_does_not_raise(capsys):
    with Check("Exercise 2") as check:
        check.equal(undefined_answer(), 6, "the answer")  # noqa: F821
    out = capsys.readouterr().out
    assert check.verdict == exercises.NOT_DONE
    assert "not done yet" in out and "undefined_answer" in out


def test_a_stub_returning_none_is_not_done_yet(capsys):
    def stub(x):
        print("not done yet")

    with Check("Exercise 3") as check:
        check.close(stub(1.0), 2.0, "double(1.0)")
    assert check.verdict == exercises.NOT_DONE
    assert "double(1.0) is None" in capsys.readouterr().out


def test_a_wrong_value_says_what_was_expected_and_what_came(capsys):
    with Check("Exercise 4") as check:
        check.close([1.0, 2.5], [1.0, 2.0], "the outputs")
    out = capsys.readouterr().out
    assert check.verdict == exercises.WRONG
    assert "✗ Exercise 4: not right yet" in out
    assert "expected [1. 2.], got [1.  2.5]" in out and "largest difference 0.5" in out


def test_a_wrong_shape_and_a_false_statement_are_named(capsys):
    with Check("Exercise 5") as check:
        check.shape(np.zeros((3, 2)), (2, 3), "the batch")
    assert "expected shape (2, 3), got (3, 2)" in capsys.readouterr().out
    with Check("Exercise 5") as check:
        check.that(False, "the loss went down", otherwise="it went from 2.3 to 2.5")
    assert "the loss went down: no (it went from 2.3 to 2.5)" in capsys.readouterr().out


def test_an_exception_in_the_students_code_is_reported_with_its_message(capsys):
    with Check("Exercise 6") as check:
        np.zeros(3).reshape(2, 2)
    out = capsys.readouterr().out
    assert check.verdict == exercises.WRONG
    assert "your code raised ValueError: cannot reshape array of size 3" in out


def test_tensors_of_every_framework_are_compared_as_arrays():
    torch = pytest.importorskip("torch")
    assert np.array_equal(exercises.as_array(torch.ones(2, requires_grad=True)), [1.0, 1.0])


def test_strict_mode_raises_after_printing(monkeypatch, capsys):
    monkeypatch.setenv(exercises.MODE_VARIABLE, exercises.STRICT)
    with pytest.raises(ExerciseNotPassed, match="not right yet"):
        with Check("Exercise 7") as check:
            check.equal(1, 2, "one")
    assert "✗ Exercise 7" in capsys.readouterr().out


def test_expecting_not_passing_raises_when_a_check_passes():
    exercises.expect_not_passing()
    try:
        with Check("Exercise 8") as check:
            check.that(True, "anything")  # noqa: F841
    except StubPassed:
        pass
    else:
        pytest.fail("a passing check under expect_not_passing did not raise")
    finally:
        exercises.end_expectation()
    exercises.expect_not_passing()
    with pytest.raises(AssertionError, match="ran no"):
        exercises.end_expectation()


def run_lesson(name: str) -> subprocess.CompletedProcess:
    """Run a fixture lesson under nbval as the suite runs lessons (this repository's
    root conftest.py registers the probes)."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir", REPO,
         "-c", REPO / "pyproject.toml", "--confcutdir", REPO, "-o", "testpaths=",
         FILES / "lessons" / name],
        cwd=REPO, capture_output=True, text=True, timeout=300)


def test_ci_runs_the_stub_then_the_solution_of_each_exercise():
    run = run_lesson("exercise-solved.ipynb")
    assert run.returncode == 0, run.stdout
    # the four code cells of the lesson, and the stub and its check before the exercise
    assert "6 passed" in run.stdout


def test_ci_fails_an_exercise_whose_check_passes_on_the_stub():
    run = run_lesson("exercise-check-passes-on-stub.ipynb")
    assert run.returncode == 1
    assert "(its check fails on the stub)" in run.stdout
    assert "StubPassed" in run.stdout


def test_ci_fails_a_solution_that_does_not_pass_its_check():
    run = run_lesson("exercise-solution-fails-check.ipynb")
    assert run.returncode == 1
    assert "ExerciseNotPassed" in run.stdout and "expected 6, got 9" in run.stdout
