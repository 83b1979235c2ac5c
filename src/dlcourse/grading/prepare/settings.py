"""nbgrader's own settings in a course's ``nbgrader_config.py``: honoured, or refused loudly.

dlcourse replaces nbgrader's ``Autograde`` converter and ``Execute`` preprocessor, so
the settings they read would be ignored without a word unless read here. Each
setting a course may write for nbgrader is in one of three groups:

- **honoured** (:class:`NbgraderSettings`): ``c.Execute.timeout`` (also as
  ``c.ExecutePreprocessor.timeout`` or ``c.NotebookClient.timeout``: the seconds a cell
  may run; ``None``: no limit per cell, the notebook's own limit,
  ``c.Grading.notebook_timeout``, still holds), ``startup_timeout`` likewise,
  ``c.Autograde.exclude_overwriting``, ``c.Autograde.create_student``,
  ``c.CourseDirectory.student_id`` / ``student_id_exclude`` / ``notebook_id`` /
  ``ignore``; the settings of the nbgrader code dlcourse runs as it is
  (``ClearSolutions``, ``ClearHiddenTests``, ``InstantiateTests``,
  ``AssignLatePenalties``, ``LateSubmissionPlugin``, ...) are nbgrader's own doing;
- **without effect on a grade** here (:data:`NO_EFFECT`): said once as a warning, e.g.
  ``c.LimitOutput.max_lines`` (dlcourse keeps ``c.Grading.max_output_bytes`` per cell);
- **refused** (:class:`SettingError`): a setting that changes what stock nbgrader
  grades and that dlcourse cannot do the same way, e.g. ``c.Execute.execute_retries``,
  ``c.Autograde.autograde_preprocessors``, another ``c.CourseDirectory`` layout. The
  message names the setting and why.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from traitlets.config import Config

from ...config import load_config


class SettingError(ValueError):
    """A setting of nbgrader's that dlcourse cannot honour; the message names it."""


#: nbgrader's classes whose section names a trait of its ``Execute`` preprocessor (a
#: setting of a parent class reaches the subclass, as traitlets applies it).
EXECUTE_SECTIONS = ("Execute", "ExecutePreprocessor", "NotebookClient")
#: ``Execute`` traits dlcourse honours.
EXECUTE_HONOURED = ("timeout", "startup_timeout")
#: ``Execute`` traits that change how stock nbgrader grades a cell.
EXECUTE_REFUSED = {
    "interrupt_on_timeout": "a cell past its time is always interrupted and fails",
    "error_on_timeout": "a cell past its time always fails with dlcourse's own timeout error",
    "raise_on_iopub_timeout": "dlcourse decides a cell by its execute reply",
    "allow_errors": "every cell runs, whatever the cells before it raised",
    "execute_retries": "a submission is run once: a second run could give another grade",
    "extra_arguments": "the grading kernel is dlcourse's own (c.Grading.kernel_name)",
    "kernel_name": "the grading kernel is dlcourse's own (c.Grading.kernel_name)",
    "kernel_manager_class": "the grading kernel is dlcourse's own, in its sandbox",
    "force_raise_errors": "every cell runs, whatever the cells before it raised",
    "allow_error_names": "every cell runs, whatever the cells before it raised",
    "skip_cells_with_tag": "every code cell of the source runs",
    "on_cell_start": "dlcourse runs no hooks of nbclient's",
    "on_cell_execute": "dlcourse runs no hooks of nbclient's",
    "on_cell_complete": "dlcourse runs no hooks of nbclient's",
    "on_cell_executed": "dlcourse runs no hooks of nbclient's",
    "on_cell_error": "dlcourse runs no hooks of nbclient's",
    "on_notebook_start": "dlcourse runs no hooks of nbclient's",
    "on_notebook_complete": "dlcourse runs no hooks of nbclient's",
    "on_notebook_error": "dlcourse runs no hooks of nbclient's",
}
#: Other settings that change what stock nbgrader grades, and why dlcourse refuses them.
REFUSED = {
    ("Autograde", "sanitize_preprocessors"): "dlcourse assembles the notebook from the source "
    "itself (README, \"How grading decides\"); it runs no preprocessors of the course's",
    ("Autograde", "autograde_preprocessors"): "dlcourse runs, judges and stores a submission "
    "itself; it runs no preprocessors of the course's",
    ("BaseConverter", "pre_convert_hook"): "dlcourse runs no hooks around grading",
    ("BaseConverter", "post_convert_hook"): "dlcourse runs no hooks around grading",
    ("Autograde", "pre_convert_hook"): "dlcourse runs no hooks around grading",
    ("Autograde", "post_convert_hook"): "dlcourse runs no hooks around grading",
    ("CourseDirectory", "root"): "dlcourse takes the folder of nbgrader_config.py as the root",
}
#: ``c.CourseDirectory`` folders dlcourse uses under nbgrader's default names only.
LAYOUT = {"directory_structure": "{nbgrader_step}/{student_id}/{assignment_id}",
          "source_directory": "source", "release_directory": "release",
          "submitted_directory": "submitted", "autograded_directory": "autograded",
          "feedback_directory": "feedback"}
#: Settings with no effect on a grade under dlcourse, and what dlcourse does instead.
NO_EFFECT = {
    "LimitOutput": "dlcourse keeps at most c.Grading.max_output_bytes of each cell's output",
    "IgnorePattern": "dlcourse ignores stderr altogether: it never zeroes a cell",
    "ClearMetadataPreprocessor": "the graded notebook keeps the source's metadata",
    ("BaseConverter", "permissions"): "autograded/ is written with dlcourse's own permissions",
    ("AutogradeApp", "permissions"): "autograded/ is written with dlcourse's own permissions",
    ("Autograde", "permissions"): "autograded/ is written with dlcourse's own permissions",
    ("CourseDirectory", "groupshared"): "autograded/ is written with dlcourse's own permissions",
    ("Execute", "*"): "dlcourse runs the kernel itself",
}


@dataclass(frozen=True)
class NbgraderSettings:
    """What dlcourse takes from nbgrader's settings in a course's config."""

    #: seconds a cell may run (``c.Execute.timeout``); ``None`` when the course sets
    #: none (``c.Grading.cell_timeout`` decides); ``float("inf")``: no limit per cell
    cell_timeout: float | None = None
    #: seconds to wait for a kernel to start, when the course sets it for nbgrader
    startup_timeout: float | None = None
    #: ``c.Autograde.exclude_overwriting``: per assignment, files of the source that do
    #: not replace the student's copies
    exclude_overwriting: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: ``c.Autograde.create_student``: a student not in the gradebook is added (else refused)
    create_student: bool = True
    #: ``c.CourseDirectory.student_id``: the students graded (a glob)
    student_id: str = "*"
    #: ``c.CourseDirectory.student_id_exclude``: students never graded
    student_id_exclude: frozenset[str] = frozenset()
    #: ``c.CourseDirectory.notebook_id``: the notebooks graded (a glob)
    notebook_id: str = "*"
    #: settings read and without effect here, each said once
    warnings: tuple[str, ...] = ()

    def grades_student(self, student: str) -> bool:
        return fnmatch.fnmatchcase(student, self.student_id) and \
            student not in self.student_id_exclude

    def excluded_files(self, assignment: str) -> tuple[str, ...]:
        return self.exclude_overwriting.get(assignment, ())


def _set(config: Config, section: str, trait: str | None = None) -> bool:
    """Whether the config has ``c.<section>`` (and ``c.<section>.<trait>``) at all,
    without creating the section as looking it up would."""
    if section not in config:
        return False
    return trait is None or trait in config[section]


def _value(config: Config, sections, trait: str):
    """The value of the first of ``sections`` (most specific first) that sets ``trait``."""
    for section in sections:
        if _set(config, section, trait):
            return True, config[section][trait]
    return False, None


def _seconds(value, name: str) -> float:
    if value is None:
        return float("inf")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise SettingError(f"{name} = {value!r}: not a number of seconds") from None
    if seconds <= 0:  # nbgrader's Execute: a timeout of 0 or less means none
        return float("inf")
    return seconds


def read_settings(config: Config) -> NbgraderSettings:
    """nbgrader's settings in ``config``; raise :class:`SettingError` for one refused."""
    warnings = []
    for section in EXECUTE_SECTIONS:
        for trait in (config[section] if _set(config, section) else {}):
            if trait in EXECUTE_HONOURED:
                continue
            if trait in EXECUTE_REFUSED:
                raise SettingError(f"c.{section}.{trait} is set, and dlcourse cannot honour it: "
                                   f"{EXECUTE_REFUSED[trait]}. Remove it from "
                                   "nbgrader_config.py to grade with dlcourse")
            warnings.append(f"c.{section}.{trait} has no effect: {NO_EFFECT['Execute', '*']}")
    for (section, trait), why in REFUSED.items():
        if _set(config, section, trait):
            raise SettingError(f"c.{section}.{trait} is set, and dlcourse cannot honour it: "
                               f"{why}. Remove it from nbgrader_config.py to grade with dlcourse")
    for trait, default in LAYOUT.items():
        if _set(config, "CourseDirectory", trait) and config.CourseDirectory[trait] != default:
            raise SettingError(f"c.CourseDirectory.{trait} = {config.CourseDirectory[trait]!r}: "
                               f"dlcourse uses nbgrader's default layout ({default!r})")
    for what, why in NO_EFFECT.items():
        if isinstance(what, str):
            for trait in (config[what] if _set(config, what) else {}):
                warnings.append(f"c.{what}.{trait} has no effect: {why}")
        elif what[1] != "*" and _set(config, *what):
            warnings.append(f"c.{what[0]}.{what[1]} has no effect: {why}")

    timeout_set, timeout = _value(config, EXECUTE_SECTIONS, "timeout")
    cell_timeout = _seconds(timeout, "c.Execute.timeout") if timeout_set else None
    if cell_timeout is not None and _set(config, "Grading", "cell_timeout") and \
            float(config.Grading.cell_timeout) != cell_timeout:
        raise SettingError(f"c.Execute.timeout ({timeout}) and c.Grading.cell_timeout "
                           f"({config.Grading.cell_timeout}) disagree: set one of them")
    startup_set, startup = _value(config, EXECUTE_SECTIONS, "startup_timeout")
    startup_timeout = _seconds(startup, "c.Execute.startup_timeout") if startup_set else None
    if startup_timeout is not None and _set(config, "Grading", "startup_timeout"):
        startup_timeout = None  # dlcourse's own setting wins; both are honoured as waits

    exclude: dict[str, tuple[str, ...]] = {}
    if _set(config, "Autograde", "exclude_overwriting"):
        raw = config.Autograde.exclude_overwriting
        if not isinstance(raw, dict) or not all(
                isinstance(files, (list, tuple)) and all(isinstance(f, str) for f in files)
                for files in raw.values()):
            raise SettingError("c.Autograde.exclude_overwriting must map assignment names to "
                               "lists of file names")
        for assignment, files in raw.items():
            for name in files:
                parts = Path(name).parts
                if not parts or Path(name).is_absolute() or ".." in parts:
                    raise SettingError(f"c.Autograde.exclude_overwriting[{assignment!r}]: "
                                       f"{name!r} is not a path inside the assignment")
            exclude[str(assignment)] = tuple(Path(f).as_posix() for f in files)
    create = bool(config.Autograde.create_student) if _set(
        config, "Autograde", "create_student") else True
    student = str(config.CourseDirectory.student_id) if _set(
        config, "CourseDirectory", "student_id") else "*"
    excluded = str(config.CourseDirectory.student_id_exclude) if _set(
        config, "CourseDirectory", "student_id_exclude") else ""
    notebook = str(config.CourseDirectory.notebook_id) if _set(
        config, "CourseDirectory", "notebook_id") else "*"
    return NbgraderSettings(
        cell_timeout=cell_timeout, startup_timeout=startup_timeout,
        exclude_overwriting=exclude, create_student=create, student_id=student or "*",
        student_id_exclude=frozenset(s for s in excluded.split(",") if s),
        notebook_id=notebook or "*", warnings=tuple(warnings))


def nbgrader_settings(root: Path) -> NbgraderSettings:
    """nbgrader's settings of the course at ``root`` (:func:`read_settings`)."""
    return read_settings(load_config(root))
