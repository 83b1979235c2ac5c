"""nbgrader's own settings in a course's config: honoured, or refused loudly."""

from __future__ import annotations

import pytest
from traitlets.config import Config

from dlcourse.grading.prepare.settings import NbgraderSettings, SettingError, read_settings


def config(**sections) -> Config:
    c = Config()
    for name, traits in sections.items():
        for trait, value in traits.items():
            c[name][trait] = value
    return c


def test_no_setting_of_nbgraders_keeps_dlcourses_defaults():
    assert read_settings(Config()) == NbgraderSettings()


@pytest.mark.parametrize("section", ["Execute", "ExecutePreprocessor", "NotebookClient"])
def test_the_cell_timeout_is_honoured_however_it_is_written(section):
    assert read_settings(config(**{section: {"timeout": 2}})).cell_timeout == 2.0
    # None (or 0) is no limit per cell: the notebook's own limit still holds
    assert read_settings(config(**{section: {"timeout": None}})).cell_timeout == float("inf")


def test_two_timeouts_that_disagree_are_refused():
    with pytest.raises(SettingError, match="disagree"):
        read_settings(config(Execute={"timeout": 2}, Grading={"cell_timeout": 30.0}))
    assert read_settings(config(Execute={"timeout": 30}, Grading={"cell_timeout": 30.0}))


@pytest.mark.parametrize("section, trait, value", [
    ("Execute", "execute_retries", 2), ("Execute", "interrupt_on_timeout", False),
    ("ExecutePreprocessor", "kernel_name", "ir"),
    ("Autograde", "autograde_preprocessors", []), ("CourseDirectory", "submitted_directory", "in"),
    ("BaseConverter", "post_convert_hook", "x")])
def test_settings_dlcourse_cannot_honour_are_refused_naming_them(section, trait, value):
    with pytest.raises(SettingError, match=f"c.{section}.{trait}"):
        read_settings(config(**{section: {trait: value}}))


def test_settings_without_effect_on_a_grade_are_said():
    settings = read_settings(config(LimitOutput={"max_lines": 10},
                                    IgnorePattern={"pattern": "x"}))
    assert any("c.LimitOutput.max_lines" in w for w in settings.warnings)
    assert any("stderr" in w for w in settings.warnings)


def test_autograde_settings_are_read():
    settings = read_settings(config(
        Autograde={"exclude_overwriting": {"ps1": ["helper.py", "sub/data.csv"]},
                   "create_student": False},
        CourseDirectory={"student_id_exclude": "bar,baz", "notebook_id": "p1"}))
    assert settings.excluded_files("ps1") == ("helper.py", "sub/data.csv")
    assert settings.excluded_files("ps2") == ()
    assert not settings.create_student and settings.notebook_id == "p1"
    assert settings.grades_student("foo") and not settings.grades_student("baz")
    with pytest.raises(SettingError, match="inside the assignment"):
        read_settings(config(Autograde={"exclude_overwriting": {"ps1": ["../x"]}}))
