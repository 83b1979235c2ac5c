"""dlcourse.checks: record under the grader; compare against the key elsewhere (stock nbgrader)."""

from __future__ import annotations

import pytest

from dlcourse import checks


@pytest.fixture
def stock_mode(monkeypatch):
    monkeypatch.delenv(checks.MODE_VARIABLE, raising=False)
    checks._keys.clear()
    yield
    checks._keys.clear()


def in_folder(monkeypatch, folder):
    folder.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(folder)


def test_stock_nbgrader_fails_a_wrong_value_and_passes_a_right_one(tiny_course, monkeypatch,
                                                                   stock_mode):
    # stock `nbgrader autograde` runs the kernel in autograded/<student>/<quiz>/
    in_folder(monkeypatch, tiny_course / "autograded" / "alice" / "quiz_tiny")
    checks.check("letter", "b")
    with pytest.raises(checks.CheckFailed) as failure:
        checks.check("letter", "a")
    assert "'b'" not in str(failure.value)  # the message does not give the key away


def test_stock_nbgrader_uses_the_keys_tolerance_not_the_callers(tiny_course, monkeypatch,
                                                                stock_mode):
    in_folder(monkeypatch, tiny_course / "autograded" / "alice" / "quiz_tiny")
    with pytest.raises(checks.CheckFailed):
        checks.check("scaled_sum_int", [0.0, 24.0], rtol=1e9, atol=1e9)


def test_stock_nbgrader_never_passes_for_want_of_a_key(tiny_course, monkeypatch, stock_mode):
    in_folder(monkeypatch, tiny_course / "autograded" / "alice" / "no_such_quiz")
    with pytest.raises(checks.CheckFailed, match="cannot be graded"):
        checks.check("letter", "b")


def test_an_unknown_check_name_fails(tiny_course, monkeypatch, stock_mode):
    in_folder(monkeypatch, tiny_course / "autograded" / "alice" / "quiz_tiny")
    with pytest.raises(checks.CheckFailed, match="no check named"):
        checks.check("not_in_key", 1)


def test_authoring_in_source_without_a_key_only_validates(tmp_path, monkeypatch, stock_mode):
    (tmp_path / "nbgrader_config.py").write_text("c = get_config()\n")
    in_folder(monkeypatch, tmp_path / "source" / "quiz_new")
    checks.check("anything", [1.0, 2.0])
    with pytest.raises(ValueError):
        checks.check("anything", object())


def test_record_mode_never_reads_the_key(tmp_path, monkeypatch):
    from dlcourse.protocol import key

    def read_key(path):
        raise LookupError(f"the key {path} was read")

    monkeypatch.setattr(key, "read_key", read_key)
    (tmp_path / "nbgrader_config.py").write_text("")
    in_folder(monkeypatch, tmp_path / "some_quiz")  # a course and a quiz folder
    checks._keys.clear()
    monkeypatch.delenv(checks.MODE_VARIABLE, raising=False)
    with pytest.raises(LookupError, match="was read"):  # comparing in the kernel reads it ...
        checks.check("any_name", 3.0)
    monkeypatch.setenv(checks.MODE_VARIABLE, checks.RECORD_ONLY)
    checks.check("any_name", 3.0)  # ... recording does not


def test_invalid_check_names_are_refused(monkeypatch):
    monkeypatch.setenv(checks.MODE_VARIABLE, checks.RECORD_ONLY)
    with pytest.raises(ValueError):
        checks.check("../etc/passwd", 1)
