"""The dlcourse command: the contract's commands, output and exit status."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import copy_course


def dlcourse(*args, cwd):
    return subprocess.run([sys.executable, "-m", "dlcourse", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_grade_json_follows_the_contract(tiny_course):
    done = dlcourse("grade", "source/quiz_tiny/quiz_tiny.ipynb", "--quiz", "quiz_tiny", "--json",
                    cwd=tiny_course)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["quiz"] == "quiz_tiny" and result["score"] == result["max_score"] == 5.0
    for item in result["items"]:
        assert set(item) >= {"grade_id", "score", "max_score", "status"}
        assert item["status"] in {"passed", "failed", "error", "timeout", "missing", "manual"}
    manual = [i for i in result["items"] if i["status"] == "manual"]
    assert manual and all(i["score"] is None for i in manual)


def test_grade_prints_a_table_without_json(tiny_course):
    done = dlcourse("grade", "release/quiz_tiny/quiz_tiny.ipynb", "--quiz", "quiz_tiny",
                    cwd=tiny_course)
    assert done.returncode == 0, done.stderr
    assert "quiz_tiny: 0 / 5 autograded points" in done.stdout


def test_an_unreadable_notebook_exits_non_zero_naming_the_file(tiny_course, tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("not a notebook")
    done = dlcourse("grade", str(broken), "--quiz", "quiz_tiny", "--json", cwd=tiny_course)
    assert done.returncode == 1
    assert str(broken) in done.stderr and json.loads(done.stdout)["score"] == 0


def test_an_unknown_quiz_exits_non_zero(tiny_course):
    done = dlcourse("grade", "release/quiz_tiny/quiz_tiny.ipynb", "--quiz", "quiz_nope",
                    cwd=tiny_course)
    assert done.returncode == 1 and "quiz_nope" in done.stderr


def test_grading_without_a_key_says_to_release(tiny_course, tmp_path):
    course = copy_course(tiny_course, tmp_path / "unreleased")
    done = dlcourse("grade", "release/quiz_tiny/quiz_tiny.ipynb", "--quiz", "quiz_tiny",
                    cwd=course)
    assert done.returncode == 1 and "dlcourse release quiz_tiny" in done.stderr


def test_release_names_what_it_wrote(tiny_course, tmp_path):
    course = copy_course(tiny_course, tmp_path / "again")
    done = dlcourse("release", "quiz_tiny", cwd=course)
    assert done.returncode == 0, done.stderr
    assert "released quiz_tiny" in done.stdout and (course / "keys/quiz_tiny.json").is_file()


def test_release_of_an_unknown_quiz_fails(tiny_course):
    done = dlcourse("release", "quiz_nope", cwd=tiny_course)
    assert done.returncode == 1 and "quiz_nope" in done.stderr


def test_outside_a_course_the_error_says_so(tmp_path):
    done = dlcourse("release", cwd=tmp_path)
    assert done.returncode == 1 and "nbgrader_config.py" in done.stderr


def test_bad_usage_exits_2(tmp_path):
    assert dlcourse("grade", cwd=tmp_path).returncode == 2


def without_bubblewrap() -> dict:
    """An environment whose PATH finds this Python's scripts and nothing else: no bwrap."""
    import os
    from pathlib import Path

    return {**os.environ, "PATH": str(Path(sys.executable).parent)}


def test_grade_checks_ones_own_notebook_without_bubblewrap_and_says_so(tiny_course):
    done = subprocess.run([sys.executable, "-m", "dlcourse", "grade",
                           "source/quiz_tiny/quiz_tiny.ipynb", "--quiz", "quiz_tiny", "--json"],
                          cwd=tiny_course, capture_output=True, text=True, timeout=300,
                          env=without_bubblewrap())
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["score"] == result["max_score"] == 5.0
    assert "bubblewrap" in result["unsandboxed"]
    assert done.stderr.count("graded without a sandbox") == 1


def test_autograde_refuses_other_peoples_work_without_bubblewrap(tiny_course):
    done = subprocess.run([sys.executable, "-m", "dlcourse", "autograde", "quiz_tiny"],
                          cwd=tiny_course, capture_output=True, text=True, timeout=300,
                          env=without_bubblewrap())
    assert done.returncode == 1
    assert "no sandbox can be made" in done.stderr and "bubblewrap" in done.stderr
    assert "--no-sandbox" in done.stderr
