"""The course directory and the grader's options, read from ``nbgrader_config.py``.

The course has one config file, ``nbgrader_config.py`` at its root: nbgrader
reads its ``c.CourseDirectory`` and preprocessor sections, and dlcourse reads
the ``c.Grading`` section below from the same file.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from traitlets import Bool, Float, Integer, Unicode
from traitlets.config import Config, Configurable
from traitlets.config.loader import PyFileConfigLoader

CONFIG_FILE = "nbgrader_config.py"
#: Quiz ids, grade ids and check names: letters, digits, ``_`` and ``-`` only.
IDENTIFIER = re.compile(r"[A-Za-z0-9_-]+")


class CourseNotFound(RuntimeError):
    """No course directory (a folder with ``nbgrader_config.py``) was found."""


class Grading(Configurable):
    """Options of dlcourse's grader, set as ``c.Grading.<name>`` in nbgrader_config.py."""

    key_directory = Unicode(
        "keys",
        help="Where `dlcourse release` stores each quiz's key, relative to the course root. "
        "It must not be inside release/ or anything handed to students.",
    ).tag(config=True)
    cell_timeout = Float(
        300.0, help="Seconds one cell of a submission may run before it is stopped."
    ).tag(config=True)
    notebook_timeout = Float(
        1200.0, help="Seconds a whole submission may run; cells after that are not run."
    ).tag(config=True)
    startup_timeout = Float(
        120.0, help="Seconds to wait for a grading kernel to start."
    ).tag(config=True)
    kernel_name = Unicode(
        "python3", help="The Jupyter kernel that runs submissions and solutions."
    ).tag(config=True)
    max_output_bytes = Integer(
        1_000_000, help="Output kept per cell of a submission; the rest is dropped (check "
        "records are always kept)."
    ).tag(config=True)
    memory_bytes = Integer(
        4 * 1024**3, help="Data segment limit (RLIMIT_DATA) of each sandboxed process, in bytes."
    ).tag(config=True)
    max_processes = Integer(
        256, help="Processes a sandboxed submission may run at once."
    ).tag(config=True)
    max_file_bytes = Integer(
        1024**3, help="Largest file a sandboxed submission may write, in bytes."
    ).tag(config=True)
    max_open_files = Integer(4096, help="Open files per sandboxed process.").tag(config=True)
    cpu_seconds = Integer(
        1800, help="CPU seconds each sandboxed process may use in all."
    ).tag(config=True)
    scratch_bytes = Integer(
        2 * 1024**3, help="Bytes one sandboxed submission may hold in all in its scratch space "
        "(its working folder with its copied files, home, temporary files, /dev/shm and the "
        "kernel's runtime folder): a tmpfs of this size, in memory and never on the host's disk. "
        "Past it, writes fail with 'No space left on device'. Exported files are evaluated in a "
        "scratch space of the same size."
    ).tag(config=True)
    scratch_files = Integer(
        100_000, help="Files and folders one sandboxed submission may create in its scratch space."
    ).tag(config=True)
    warm_kernels = Bool(
        True, help="Keep, in each grading worker, a warm sandboxed process that has imported "
        "the quiz's frameworks, and fork each submission's kernel from it, instead of starting "
        "every kernel cold (the imports are most of a submission's time). Each submission "
        "still starts clean: see the README's 'Warm workers'."
    ).tag(config=True)
    total_memory_bytes = Integer(
        8 * 1024**3, help="Memory all processes of one sandboxed submission may use together, "
        "its scratch space included, where the grader can make a memory cgroup (as root, with "
        "the memory controller); 0 for no such limit. Past it the kernel is killed."
    ).tag(config=True)


def option_default(name: str):
    """The default of the ``c.Grading`` option ``name``: the one definition of each limit,
    which :class:`dlcourse.grading.run.execute.Limits` and ``sandbox.SandboxLimits`` use."""
    return Grading.class_traits()[name].default_value


def validate_identifier(value: str, what: str) -> str:
    """Return ``value`` if it is a valid quiz id, grade id or check name, else raise."""
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise ValueError(f"invalid {what} {value!r}: use letters, digits, '_' and '-' only")
    return value


def find_course_root(start: str | os.PathLike | None = None) -> Path:
    """Return the nearest folder at or above ``start`` (default: the working
    directory) that holds ``nbgrader_config.py``."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_FILE).is_file():
            return folder
    raise CourseNotFound(
        f"no {CONFIG_FILE} in {here} or any folder above it: run dlcourse from the course directory"
    )


def load_config(root: Path) -> Config:
    """Read the course's ``nbgrader_config.py``.

    In a quiz's kernel (``check`` under stock nbgrader reads where the keys are), the
    file's own imports (``dlcourse.grading.validate``, for Validate) are the course's,
    not the student's: the quiz's import guard (:mod:`dlcourse.quiz`) lets them through.
    """
    from .quiz import course_code

    with course_code():
        return PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config()


def grading_options(root: Path) -> Grading:
    """The ``c.Grading`` options of the course at ``root``, defaults filled in."""
    return Grading(config=load_config(root))
