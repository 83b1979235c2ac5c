"""dlcourse.grading.prepare.package_view: what of dlcourse a graded kernel can import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from dlcourse.grading.prepare.package_view import (
    ALWAYS,
    QuizConfigError,
    allowed_modules,
    build_view,
    closure,
)


def test_the_student_side_alone_needs_no_reference_code():
    files = {p.as_posix() for p in closure(())}
    assert {"__init__.py", "checks.py", "calls.py", "protocol/values.py"} <= files
    assert not {"data.py", "training.py", "grading/grade.py"} & files
    assert not any(name.startswith("grading/") for name in files)
    assert not any(name.startswith("style/") for name in files)


def test_a_declared_module_comes_with_what_it_imports_at_module_level():
    files = {p.as_posix() for p in closure(("data",))}
    assert "data.py" in files and not any(name.startswith("style/") for name in files)


def test_allowed_modules_reads_quiz_json(tmp_path):
    assert allowed_modules(tmp_path) == ()
    (tmp_path / "quiz.json").write_text('{"dlcourse_modules": ["data", "training"]}')
    assert allowed_modules(tmp_path) == ("data", "training")


@pytest.mark.parametrize("text", ['{"dlcourse_modules": "data"}', '{"dlcourse_modules": ["nope"]}',
                                  "not json", '{"dlcourse_modules": ["../etc"]}'])
def test_a_bad_quiz_json_is_refused_naming_the_file(tmp_path, text):
    (tmp_path / "quiz.json").write_text(text)
    with pytest.raises(QuizConfigError, match="quiz.json"):
        allowed_modules(tmp_path)


def test_the_view_imports_what_is_declared_and_nothing_else(tmp_path):
    view = build_view(("data",), tmp_path / "dlcourse")
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); import dlcourse.checks, dlcourse.data\n"
             "try:\n    import dlcourse.style\nexcept ModuleNotFoundError:\n    print('refused')\n")
    done = subprocess.run([sys.executable, "-I", "-c", probe, str(view.parent)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "refused"
    assert Path(view / "checks.py").is_file() and ALWAYS == ("quiz", "checks", "calls", "variants")
