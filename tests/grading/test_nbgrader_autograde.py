"""nbgrader's own autograde scenarios, graded by ``dlcourse release`` and ``dlcourse autograde``.

Each test ports one scenario of nbgrader 0.9.6's
``nbgrader/tests/apps/test_nbgrader_autograde.py`` and has its name, with nbgrader's
fixtures (``tests/files/nbgrader-autograde/``, BSD-licensed): ``dlcourse release`` stands
for ``nbgrader generate_assignment`` and ``dlcourse autograde --workers 2`` (sandboxed)
for ``nbgrader autograde``; the due date and students are added to the gradebook as
``nbgrader db ... add`` adds them. Each asserts what nbgrader's test asserts (stock
nbgrader 0.9.6 passes all of them on this machine), except where dlcourse is
deliberately different: there the test asserts dlcourse's behaviour and says why, and
the README ("Existing nbgrader assignments grade unchanged") lists the difference.

nbgrader's settings given on its command line (``--Execute.timeout=2``,
``--CourseDirectory.student_id_exclude=bar,baz``, ``--Autograde.create_student=False``)
are written to ``nbgrader_config.py`` here: dlcourse reads nbgrader's settings from the
course's config file only. Not ported: ``test_help``, ``test_permissions`` and
``test_custom_permissions`` (file modes, not grades), and the two scenarios nbgrader
itself skips (``test_many_students``, ``test_infinite_loop_with_output``).
"""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook, MissingEntry

from dlcourse import cli
from dlcourse.grading.store.gradebook import _with_alembic_on_path

from ..conftest import FILES

pytestmark = pytest.mark.skipif(  # dlcourse autograde grades only in a sandbox
    not os.environ.get("CI") and not shutil.which("bwrap"),
    reason="bubblewrap is not installed (CI installs it)")

FIXTURES = FILES / "nbgrader-autograde"
DUE = "2015-02-02 14:58:23.948203 America/Los_Angeles"


class Course:
    """A course folder as nbgrader's ``BaseTestApp`` makes one, and the commands on it."""

    def __init__(self, root: Path, capsys):
        self.root = root
        self.capsys = capsys
        root.mkdir()
        (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")

    def path(self, relative: str) -> Path:
        return self.root / relative

    def configure(self, line: str) -> None:
        with open(self.root / "nbgrader_config.py", "a") as config:
            config.write(line + "\n")

    def copy(self, fixture: str, relative: str) -> None:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        shutil.copyfile(FIXTURES / fixture, target)

    def make(self, relative: str, text: str) -> None:
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def empty(self, relative: str, kernel: str | None = None) -> None:
        """An empty notebook, with a kernelspec naming ``kernel`` (nbgrader's helper)."""
        notebook = nbformat.v4.new_notebook()
        if kernel is not None:
            notebook.metadata.kernelspec = {"display_name": "kernel", "language": kernel,
                                            "name": kernel}
        target = self.path(relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        nbformat.write(notebook, target)

    def text(self, relative: str) -> str:
        return self.path(relative).read_text()

    def add_to_gradebook(self, *students: str, due: str = DUE) -> None:
        """``nbgrader db assignment add ps1 --duedate ...`` and ``nbgrader db student add``."""
        with self.gradebook() as gradebook:
            gradebook.update_or_create_assignment("ps1", duedate=due)
            for student in students:
                gradebook.update_or_create_student(student)

    @contextmanager
    def gradebook(self):
        _with_alembic_on_path()  # nbgrader makes a new gradebook with the `alembic` command
        with Gradebook(f"sqlite:///{self.root / 'gradebook.db'}") as gradebook:
            yield gradebook

    def run(self, *args: str) -> tuple[int, str]:
        """``dlcourse ARGS`` in the course folder: its exit status and what it wrote to stderr."""
        here = os.getcwd()
        os.chdir(self.root)
        try:
            self.capsys.readouterr()
            status = cli.main(list(args))
        finally:
            os.chdir(here)
        return status, self.capsys.readouterr().err

    def release(self, quiz: str = "ps1") -> tuple[int, str]:
        return self.run("release", quiz)

    def autograde(self, *args: str, quiz: str = "ps1") -> tuple[int, str]:
        return self.run("autograde", quiz, "--workers", "2", *args)


@pytest.fixture
def course(tmp_path, capsys) -> Course:
    return Course(tmp_path / "course", capsys)


def graded(course: Course, student: str, relative: str = "") -> Path:
    return course.path(f"autograded/{student}/ps1/{relative}")


def test_missing_student(course):
    """A student not in the gradebook is refused with c.Autograde.create_student = False,
    and added by default."""
    course.add_to_gradebook("foo", "bar")
    course.copy("submitted-changed.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.copy("submitted-changed.ipynb", "submitted/baz/ps1/p1.ipynb")
    config = course.text("nbgrader_config.py")
    course.configure("c.Autograde.create_student = False")
    status, err = course.autograde()
    assert status == 1 and "no student 'baz' in the gradebook" in err
    assert not graded(course, "baz").exists()
    course.make("nbgrader_config.py", config)
    assert course.autograde()[0] == 0
    with course.gradebook() as gradebook:
        assert gradebook.find_submission_notebook("p1", "ps1", "baz").score == 2


def test_missing_assignment(course):
    course.add_to_gradebook("foo", "bar")
    course.copy("submitted-changed.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.copy("submitted-changed.ipynb", "submitted/ps2/foo/p1.ipynb")
    status, err = course.autograde(quiz="ps2")
    assert status == 1 and "ps2" in err


def test_grade(course):
    course.add_to_gradebook("foo", "bar")
    course.copy("submitted-unchanged.ipynb", "source/ps1/p1.ipynb")
    status, err = course.release()
    # nbgrader allows a source whose solution fails its tests: released, saying so
    assert status == 0 and "test cell 'bar'" in err and "NameError" in err
    course.copy("submitted-unchanged.ipynb", "submitted/foo/ps1/p1.ipynb")
    course.copy("submitted-changed.ipynb", "submitted/bar/ps1/p1.ipynb")
    assert course.autograde()[0] == 0

    for student in ("foo", "bar"):
        assert graded(course, student, "p1.ipynb").is_file()
        assert not graded(course, student, "timestamp.txt").is_file()
    with course.gradebook() as gradebook:
        notebook = gradebook.find_submission_notebook("p1", "ps1", "foo")
        assert (notebook.score, notebook.max_score, notebook.needs_manual_grade) == (1, 7, False)
        for cell in ("set_a", "baz", "quux"):
            assert gradebook.find_comment(cell, "p1", "ps1", "foo").comment == "No response."
        notebook = gradebook.find_submission_notebook("p1", "ps1", "bar")
        assert (notebook.score, notebook.max_score, notebook.needs_manual_grade) == (2, 7, True)
        for cell in ("set_a", "baz", "quux"):
            assert gradebook.find_comment(cell, "p1", "ps1", "bar").comment is None


def autotest_scores(course: Course, source: str, unchanged: str, changed: str) -> dict:
    course.add_to_gradebook("foo", "bar")
    course.copy(source, "source/ps1/p1.ipynb")
    course.copy("autotests.yml", "autotests.yml")
    assert course.release()[0] == 0
    course.copy(unchanged, "submitted/foo/ps1/p1.ipynb")
    course.copy(changed, "submitted/bar/ps1/p1.ipynb")
    assert course.autograde()[0] == 0
    found = {}
    with course.gradebook() as gradebook:
        for student in ("foo", "bar"):
            assert graded(course, student, "p1.ipynb").is_file()
            assert not graded(course, student, "timestamp.txt").is_file()
            notebook = gradebook.find_submission_notebook("p1", "ps1", student)
            found[student] = (notebook.score, notebook.max_score, notebook.needs_manual_grade)
    return found


def test_grade_autotest(course):
    assert autotest_scores(course, "autotest-simple.ipynb", "autotest-simple-unchanged.ipynb",
                           "autotest-simple-changed.ipynb") == {
        "foo": (0, 1, False), "bar": (1, 1, False)}
    # the AUTOTEST lines were expanded by nbgrader's templates, in the release as graded
    released = course.text("release/ps1/p1.ipynb")
    assert "AUTOTEST" not in released and 'assert str(type(a)) == \\"<class \'int\'>\\"' in released


def test_grade_hashed_autotest(course):
    assert autotest_scores(course, "autotest-hashed.ipynb", "autotest-hashed-unchanged.ipynb",
                           "autotest-hashed-changed.ipynb") == {
        "foo": (0, 1, False), "bar": (1, 1, False)}
    assert "sha1(" in course.text("release/ps1/p1.ipynb")


def test_grade_complex_autotest(course):
    assert autotest_scores(course, "autotest-multi.ipynb", "autotest-multi-unchanged.ipynb",
                           "autotest-multi-changed.ipynb") == {
        "foo": (0, 4, False), "bar": (3, 4, False)}


def test_showtraceback_exploit(course):
    """A submission that silences IPython's traceback display still fails: whether a cell
    raised is read from the kernel's execute reply."""
    course.add_to_gradebook("foo", "bar", "spam", "eggs")
    course.copy("submitted-unchanged.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.configure("c.Execute.timeout = None")
    course.copy("submitted-unchanged.ipynb", "submitted/foo/ps1/p1.ipynb")
    course.copy("submitted-changed.ipynb", "submitted/bar/ps1/p1.ipynb")
    course.copy("submitted-cheat-attempt.ipynb", "submitted/spam/ps1/p1.ipynb")
    course.copy("submitted-cheat-attempt-alternative.ipynb", "submitted/eggs/ps1/p1.ipynb")
    assert course.autograde()[0] == 0

    expected = {"foo": (1, 7, False), "bar": (2, 7, True), "spam": (1, 7, True),
                "eggs": (1, 7, True)}
    with course.gradebook() as gradebook:
        for student, scores in expected.items():
            assert graded(course, student, "p1.ipynb").is_file()
            assert not graded(course, student, "timestamp.txt").is_file()
            notebook = gradebook.find_submission_notebook("p1", "ps1", student)
            assert (notebook.score, notebook.max_score, notebook.needs_manual_grade) == scores
    executed = nbformat.read(graded(course, "spam", "p1.ipynb"), as_version=4)
    test = next(c for c in executed.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == "bar")
    assert [o.ename for o in test.outputs if o.output_type == "error"] == ["NameError"]


def test_student_id_exclude(course):
    course.add_to_gradebook("foo", "bar")
    course.copy("submitted-unchanged.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.copy("submitted-unchanged.ipynb", "submitted/foo/ps1/p1.ipynb")
    course.copy("submitted-changed.ipynb", "submitted/bar/ps1/p1.ipynb")
    course.copy("submitted-changed.ipynb", "submitted/baz/ps1/p1.ipynb")
    course.configure('c.CourseDirectory.student_id_exclude = "bar,baz"')
    assert course.autograde()[0] == 0

    assert graded(course, "foo", "p1.ipynb").is_file()
    assert not graded(course, "bar", "p1.ipynb").is_file()
    assert not graded(course, "baz", "p1.ipynb").is_file()
    with course.gradebook() as gradebook:
        assert gradebook.find_submission_notebook("p1", "ps1", "foo").score == 1
        for student in ("bar", "baz"):
            with pytest.raises(MissingEntry):
                gradebook.find_submission_notebook("p1", "ps1", student)


def test_grade_timestamp(course):
    course.add_to_gradebook("foo", "bar")
    course.copy("submitted-unchanged.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.copy("submitted-unchanged.ipynb", "submitted/foo/ps1/p1.ipynb")
    course.make("submitted/foo/ps1/timestamp.txt", "2015-02-02 15:58:23.948203 America/Los_Angeles")
    course.copy("submitted-changed.ipynb", "submitted/bar/ps1/p1.ipynb")
    course.make("submitted/bar/ps1/timestamp.txt", "2015-02-01 14:58:23.948203 America/Los_Angeles")
    assert course.autograde()[0] == 0

    for student in ("foo", "bar"):
        assert graded(course, student, "p1.ipynb").is_file()
        assert graded(course, student, "timestamp.txt").is_file()
    with course.gradebook() as gradebook:
        assert gradebook.find_submission("ps1", "foo").total_seconds_late > 0
        assert gradebook.find_submission("ps1", "bar").total_seconds_late == 0
    assert course.autograde()[0] == 0  # a second run works too


def test_grade_empty_timestamp(course):
    """Issue #580: an empty timestamp is no time; one that is not a time fails its
    submission (exit status 1), as in nbgrader; here the rest of the batch is graded."""
    course.add_to_gradebook("foo", "bar")
    course.copy("submitted-unchanged.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.copy("submitted-unchanged.ipynb", "submitted/foo/ps1/p1.ipynb")
    course.make("submitted/foo/ps1/timestamp.txt", "")
    assert course.autograde()[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    assert graded(course, "foo", "timestamp.txt").is_file()
    with course.gradebook() as gradebook:
        assert gradebook.find_submission("ps1", "foo").total_seconds_late == 0

    course.copy("submitted-changed.ipynb", "submitted/bar/ps1/p1.ipynb")
    course.make("submitted/bar/ps1/timestamp.txt", "But I want to be a timestamp string :(")
    status, err = course.autograde()
    assert status == 1 and "submitted/bar/ps1/timestamp.txt" in err
    assert not graded(course, "bar").exists()
    with course.gradebook() as gradebook, pytest.raises(MissingEntry):
        gradebook.find_submission("ps1", "bar")


def late_batch(course: Course, foo_time: str, bar_time: str) -> None:
    course.copy("submitted-unchanged.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.copy("submitted-unchanged.ipynb", "submitted/foo/ps1/p1.ipynb")
    course.make("submitted/foo/ps1/timestamp.txt", foo_time)
    course.copy("submitted-changed.ipynb", "submitted/bar/ps1/p1.ipynb")
    course.make("submitted/bar/ps1/timestamp.txt", bar_time)
    assert course.autograde()[0] == 0
    for student in ("foo", "bar"):
        assert graded(course, student, "p1.ipynb").is_file()
        assert graded(course, student, "timestamp.txt").is_file()


def test_late_submission_penalty_none(course):
    course.add_to_gradebook("foo", "bar")
    late_batch(course, DUE, "2015-02-02 15:58:23.948203 America/Los_Angeles")
    with course.gradebook() as gradebook:
        submission = gradebook.find_submission("ps1", "foo")
        notebook = submission.notebooks[0]
        assert (notebook.score, submission.total_seconds_late) == (1, 0)
        assert notebook.late_submission_penalty is None
        submission = gradebook.find_submission("ps1", "bar")
        notebook = submission.notebooks[0]
        assert notebook.score == 2 and submission.total_seconds_late > 0
        assert notebook.late_submission_penalty is None


def test_late_submission_penalty_zero(course):
    course.add_to_gradebook("foo", "bar")
    course.configure("c.LateSubmissionPlugin.penalty_method = 'zero'")
    late_batch(course, DUE, "2015-02-02 15:58:23.948203 America/Los_Angeles")
    with course.gradebook() as gradebook:
        submission = gradebook.find_submission("ps1", "foo")
        notebook = submission.notebooks[0]
        assert (notebook.score, submission.total_seconds_late) == (1, 0)
        assert notebook.late_submission_penalty is None
        submission = gradebook.find_submission("ps1", "bar")
        notebook = submission.notebooks[0]
        assert notebook.score == 2 and submission.total_seconds_late > 0
        assert notebook.late_submission_penalty == notebook.score

    # Issue 723: the penalty is reset when the timestamp changes
    course.make("submitted/bar/ps1/timestamp.txt", DUE)
    assert course.autograde("--force")[0] == 0
    with course.gradebook() as gradebook:
        submission = gradebook.find_submission("ps1", "bar")
        notebook = submission.notebooks[0]
        assert (notebook.score, submission.total_seconds_late) == (2, 0)
        assert notebook.late_submission_penalty is None


def test_late_submission_penalty_plugin(course):
    course.make("late_plugin.py", textwrap.dedent("""
        from nbgrader.plugins import BasePlugin

        class Blarg(BasePlugin):
            def late_submission_penalty(self, student_id, score, total_seconds_late):
                # loss 1 mark per hour late
                hours_late = total_seconds_late / 3600
                return int(hours_late)
        """))
    course.add_to_gradebook("foo", "bar")
    course.configure("c.AssignLatePenalties.plugin_class = 'late_plugin.Blarg'")
    late_batch(course, "2015-02-02 18:58:23.948203 America/Los_Angeles",
               "2015-02-02 15:58:23.948203 America/Los_Angeles")
    with course.gradebook() as gradebook:
        submission = gradebook.find_submission("ps1", "foo")  # 4 h late
        notebook = submission.notebooks[0]
        assert notebook.score == 1 and submission.total_seconds_late > 0
        assert notebook.late_submission_penalty == notebook.score
        submission = gradebook.find_submission("ps1", "bar")  # 1 h late
        notebook = submission.notebooks[0]
        assert notebook.score == 2 and submission.total_seconds_late > 0
        assert notebook.late_submission_penalty == 1


def files_batch(course: Course) -> None:
    """nbgrader's set-up of test_force and test_filter_notebook."""
    course.add_to_gradebook("foo", "bar")
    course.copy("submitted-unchanged.ipynb", "source/ps1/p1.ipynb")
    course.make("source/ps1/foo.txt", "foo")
    course.make("source/ps1/data/bar.txt", "bar")
    course.release()
    course.copy("submitted-unchanged.ipynb", "submitted/foo/ps1/p1.ipynb")
    course.make("submitted/foo/ps1/foo.txt", "foo")
    course.make("submitted/foo/ps1/data/bar.txt", "bar")
    course.make("submitted/foo/ps1/blah.pyc", "asdf")


@pytest.mark.parametrize("flag", ["--force", "-f"], ids=["force", "force_f"])
def test_force(course, flag):
    """nbgrader's test_force and test_force_f."""
    files_batch(course)
    assert course.autograde()[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    assert graded(course, "foo", "foo.txt").is_file()
    assert graded(course, "foo", "data/bar.txt").is_file()
    assert not graded(course, "foo", "blah.pyc").is_file()

    # an unchanged submission is skipped
    graded(course, "foo", "foo.txt").unlink()
    assert course.autograde()[0] == 0
    assert not graded(course, "foo", "foo.txt").is_file()

    # forced, the supplementary files are written again
    assert course.autograde(flag)[0] == 0
    assert graded(course, "foo", "foo.txt").is_file()

    # forced, a file that is gone from the source and the submission is gone from autograded/
    course.path("source/ps1/foo.txt").unlink()
    course.path("submitted/foo/ps1/foo.txt").unlink()
    assert course.autograde(flag)[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    assert not graded(course, "foo", "foo.txt").is_file()
    assert graded(course, "foo", "data/bar.txt").is_file()
    assert not graded(course, "foo", "blah.pyc").is_file()


def test_filter_notebook(course):
    files_batch(course)
    assert course.autograde("--notebook", "p1")[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    assert graded(course, "foo", "foo.txt").is_file()
    assert graded(course, "foo", "data/bar.txt").is_file()
    assert not graded(course, "foo", "blah.pyc").is_file()

    # a graded notebook removed from autograded/ is graded again
    graded(course, "foo", "p1.ipynb").unlink()
    graded(course, "foo", "foo.txt").unlink()
    assert course.autograde("--notebook", "p1")[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    assert graded(course, "foo", "foo.txt").is_file()
    assert graded(course, "foo", "data/bar.txt").is_file()
    assert not graded(course, "foo", "blah.pyc").is_file()

    # running it again does nothing
    graded(course, "foo", "foo.txt").unlink()
    assert course.autograde("--notebook", "p1")[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    assert not graded(course, "foo", "foo.txt").is_file()
    assert graded(course, "foo", "data/bar.txt").is_file()

    # Deliberately different: nbgrader regrades a notebook removed from autograded/ only
    # with --notebook; dlcourse regrades a stored result whose graded notebook is gone
    # either way (what it stored is then incomplete).
    graded(course, "foo", "p1.ipynb").unlink()
    assert course.autograde()[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    assert graded(course, "foo", "foo.txt").is_file()
    assert not graded(course, "foo", "blah.pyc").is_file()


@pytest.mark.parametrize("subdir", ["", "subdir/"], ids=["top", "subdirs"])
def test_grade_overwrite_files(course, subdir):
    """nbgrader's test_grade_overwrite_files and test_grade_overwrite_files_subdirs:
    c.Autograde.exclude_overwriting keeps the student's copy of a file."""
    course.add_to_gradebook("foo", "bar")
    course.configure(f'c.Autograde.exclude_overwriting = {{"ps1": ["{subdir}helper.py"]}}')
    course.copy("submitted-unchanged.ipynb", "source/ps1/p1.ipynb")
    course.make(f"source/ps1/{subdir}data.csv", "some,data\n")
    course.make(f"source/ps1/{subdir}helper.py", "print('hello!')\n")
    course.release()
    course.copy("submitted-unchanged.ipynb", "submitted/foo/ps1/p1.ipynb")
    course.make("submitted/foo/ps1/timestamp.txt", "2015-02-02 15:58:23.948203 America/Los_Angeles")
    course.make(f"submitted/foo/ps1/{subdir}data.csv", "some,other,data\n")
    course.make(f"submitted/foo/ps1/{subdir}helper.py", "print('this is different!')\n")
    assert course.autograde()[0] == 0

    assert graded(course, "foo", "p1.ipynb").is_file()
    assert course.text("autograded/foo/ps1/timestamp.txt") == \
        "2015-02-02 15:58:23.948203 America/Los_Angeles"
    assert course.text(f"autograded/foo/ps1/{subdir}data.csv") == "some,data\n"
    assert course.text(f"autograded/foo/ps1/{subdir}helper.py") == \
        "print('this is different!')\n"


def test_side_effects(course):
    """Deliberately different: nbgrader runs the notebook in autograded/ and leaves what it
    wrote there; dlcourse runs it in a sandbox whose scratch folder is thrown away, so no
    file a submission's code wrote reaches the instructor's folders."""
    course.add_to_gradebook("foo", "bar")
    course.copy("side-effects.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.copy("side-effects.ipynb", "submitted/foo/ps1/p1.ipynb")
    assert course.autograde()[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    executed = nbformat.read(graded(course, "foo", "p1.ipynb"), as_version=4)
    assert not [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
                if o.output_type == "error"]  # the file was written, in the sandbox
    assert not graded(course, "foo", "side-effect.txt").exists()  # nbgrader: it is there
    assert not course.path("submitted/foo/ps1/side-effect.txt").exists()


def test_skip_extra_notebooks(course):
    course.add_to_gradebook("foo", "bar")
    course.copy("submitted-unchanged.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.copy("submitted-unchanged.ipynb", "submitted/foo/ps1/p1 copy.ipynb")
    course.copy("submitted-changed.ipynb", "submitted/foo/ps1/p1.ipynb")
    assert course.autograde()[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    assert not graded(course, "foo", "p1 copy.ipynb").is_file()


def two_notebooks(course: Course, fixture: str = "test.ipynb") -> None:
    course.add_to_gradebook("foo", "bar")
    course.copy(fixture, "source/ps1/p1.ipynb")
    course.copy(fixture, "source/ps1/p2.ipynb")
    course.release()
    course.copy(fixture, "submitted/foo/ps1/p1.ipynb")
    course.copy(fixture, "submitted/foo/ps1/p2.ipynb")


def test_force_single_notebook(course):
    two_notebooks(course)
    assert course.autograde()[0] == 0
    p1, p2 = course.text("autograded/foo/ps1/p1.ipynb"), course.text("autograded/foo/ps1/p2.ipynb")
    assert p1 == p2

    course.empty("submitted/foo/ps1/p1.ipynb")
    course.empty("submitted/foo/ps1/p2.ipynb")
    assert course.autograde("--notebook", "p1", "--force")[0] == 0
    assert course.text("autograded/foo/ps1/p1.ipynb") != p1
    assert course.text("autograded/foo/ps1/p2.ipynb") == p2


def test_update_newer(course):
    course.add_to_gradebook("foo", "bar")
    course.copy("test.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.copy("test.ipynb", "submitted/foo/ps1/p1.ipynb")
    course.make("submitted/foo/ps1/timestamp.txt", "2015-02-02 15:58:23.948203 America/Los_Angeles")
    assert course.autograde()[0] == 0
    assert course.text("autograded/foo/ps1/timestamp.txt") == \
        "2015-02-02 15:58:23.948203 America/Los_Angeles"
    before = course.text("autograded/foo/ps1/p1.ipynb")

    course.empty("submitted/foo/ps1/p1.ipynb")
    course.make("submitted/foo/ps1/timestamp.txt", "2015-02-02 16:58:23.948203 America/Los_Angeles")
    assert course.autograde()[0] == 0
    assert course.text("autograded/foo/ps1/timestamp.txt") == \
        "2015-02-02 16:58:23.948203 America/Los_Angeles"
    assert course.text("autograded/foo/ps1/p1.ipynb") != before


def test_update_newer_single_notebook(course):
    two_notebooks(course)
    course.make("submitted/foo/ps1/timestamp.txt", "2015-02-02 15:58:23.948203 America/Los_Angeles")
    assert course.autograde()[0] == 0
    assert course.text("autograded/foo/ps1/timestamp.txt") == \
        "2015-02-02 15:58:23.948203 America/Los_Angeles"
    p1, p2 = course.text("autograded/foo/ps1/p1.ipynb"), course.text("autograded/foo/ps1/p2.ipynb")
    assert p1 == p2

    course.empty("submitted/foo/ps1/p1.ipynb")
    course.empty("submitted/foo/ps1/p2.ipynb")
    course.make("submitted/foo/ps1/timestamp.txt", "2015-02-02 16:58:23.948203 America/Los_Angeles")
    assert course.autograde("--notebook", "p1")[0] == 0
    assert course.text("autograded/foo/ps1/timestamp.txt") == \
        "2015-02-02 16:58:23.948203 America/Los_Angeles"
    assert course.text("autograded/foo/ps1/p1.ipynb") != p1
    assert course.text("autograded/foo/ps1/p2.ipynb") == p2


def item_statuses(course: Course, student: str) -> dict[str, str]:
    stored = json.loads(course.text(f"autograded/{student}/ps1/dlcourse-result.json"))
    return {item["grade_id"]: item["status"] for item in stored["result"]["items"]}


def test_hidden_tests_single_notebook(course):
    course.add_to_gradebook("foo", "bar")
    course.configure('c.ClearSolutions.code_stub = dict(python="# YOUR CODE HERE")')
    # visible tests the solution passes, hidden ones it fails
    course.copy("test-hidden-tests.ipynb", "source/ps1/p1.ipynb")
    assert course.release()[0] == 0
    assert "BEGIN HIDDEN TESTS" not in course.text("release/ps1/p1.ipynb")
    course.path("submitted/foo/ps1").mkdir(parents=True)
    shutil.copyfile(course.path("release/ps1/p1.ipynb"), course.path("submitted/foo/ps1/p1.ipynb"))
    assert course.autograde()[0] == 0
    assert "BEGIN HIDDEN TESTS" in course.text("autograded/foo/ps1/p1.ipynb")
    # nbgrader validate fails the autograded notebook on 2 cells: the hidden tests
    assert [g for g, s in item_statuses(course, "foo").items() if s == "failed"] == [
        "correct_squares", "correct_sum_of_squares"]
    with course.gradebook() as gradebook:
        assert gradebook.find_submission("ps1", "foo").notebooks[0].score == 1.5


def test_hidden_tests_autotest(course):
    course.add_to_gradebook("foo", "bar", "baz")
    course.configure('c.ClearSolutions.code_stub = dict(python="# YOUR CODE HERE")')
    course.copy("autotest-hidden.ipynb", "source/ps1/p1.ipynb")
    course.copy("autotests.yml", "autotests.yml")
    assert course.release()[0] == 0
    assert "BEGIN HIDDEN TESTS" not in course.text("release/ps1/p1.ipynb")
    course.copy("autotest-hidden-unchanged.ipynb", "submitted/foo/ps1/p1.ipynb")
    course.copy("autotest-hidden-changed-wrong.ipynb", "submitted/bar/ps1/p1.ipynb")
    course.copy("autotest-hidden-changed-right.ipynb", "submitted/baz/ps1/p1.ipynb")
    assert course.autograde()[0] == 0
    for student in ("foo", "bar", "baz"):
        assert "BEGIN HIDDEN TESTS" in course.text(f"autograded/{student}/ps1/p1.ipynb")
    with course.gradebook() as gradebook:
        assert {s: gradebook.find_submission("ps1", s).notebooks[0].score
                for s in ("foo", "bar", "baz")} == {"foo": 0, "bar": 0, "baz": 1}
    # foo fails the visible tests too (no answer); bar only the hidden ones
    assert item_statuses(course, "foo") == {"test_hidden": "error"}
    assert item_statuses(course, "bar") == {"test_hidden": "failed"}


def test_handle_failure(course):
    """Deliberately different: nbgrader fails bar's submission (a notebook whose cells
    are not the source's: exit status 1, nothing in autograded/); dlcourse grades every
    submission it can read, a notebook that departs from the release included (its
    cells run as the student's own), and goes on."""
    course.add_to_gradebook("foo", "bar")
    course.empty("source/ps1/p1.ipynb")
    course.empty("source/ps1/p2.ipynb")
    course.release()
    course.empty("submitted/bar/ps1/p1.ipynb")
    course.copy("test.ipynb", "submitted/bar/ps1/p2.ipynb")
    course.empty("submitted/foo/ps1/p1.ipynb")
    course.empty("submitted/foo/ps1/p2.ipynb")
    assert course.autograde()[0] == 0  # nbgrader: 1
    assert graded(course, "bar", "p2.ipynb").is_file()  # nbgrader: no autograded/bar/ps1
    assert graded(course, "foo", "p1.ipynb").is_file()


def test_handle_failure_single_notebook(course):
    """As test_handle_failure, with --notebook 'p*' (nbgrader: exit status 1, neither
    notebook in autograded/)."""
    course.add_to_gradebook("foo", "bar")
    course.empty("source/ps1/p1.ipynb")
    course.empty("source/ps1/p2.ipynb")
    course.release()
    course.empty("submitted/foo/ps1/p1.ipynb")
    course.copy("test.ipynb", "submitted/foo/ps1/p2.ipynb")
    assert course.autograde("--notebook", "p*")[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    assert graded(course, "foo", "p2.ipynb").is_file()


def test_missing_source_kernelspec(course):
    """Deliberately different for bar: nbgrader runs a notebook in the kernel it names,
    and fails one naming a kernel it lacks; dlcourse runs every notebook in its own
    sandboxed Python kernel, so a submission's kernelspec chooses nothing."""
    course.add_to_gradebook("foo", "bar")
    course.configure("c.ClearSolutions.code_stub = {'python': '## Answer', 'blah': '## Answer'}")
    course.empty("source/ps1/p1.ipynb")
    course.release()
    course.empty("submitted/foo/ps1/p1.ipynb", kernel="python")
    assert course.autograde()[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    course.empty("submitted/bar/ps1/p1.ipynb", kernel="blarg")
    assert course.autograde()[0] == 0  # nbgrader: 1
    assert graded(course, "bar", "p1.ipynb").is_file()  # nbgrader: no autograded/bar/ps1


def test_incorrect_source_kernelspec(course):
    """A source for another kernel than Python cannot be graded: refused (nbgrader's
    generate_assignment takes it and autograde fails; dlcourse release refuses already)."""
    course.add_to_gradebook("foo", "bar")
    course.configure("c.ClearSolutions.code_stub = {'python': '## Answer', 'blah': '## Answer'}")
    course.empty("source/ps1/p1.ipynb", kernel="blah")
    status, err = course.release()
    assert status == 1 and "'blah'" in err and "Python" in err
    course.empty("submitted/foo/ps1/p1.ipynb", kernel="python")
    status, err = course.autograde()
    assert status == 1 and "'blah'" in err
    assert not graded(course, "foo").exists()


def test_incorrect_submitted_kernelspec(course):
    course.add_to_gradebook("foo", "bar")
    course.empty("source/ps1/p1.ipynb", kernel="python")
    course.release()
    course.empty("submitted/foo/ps1/p1.ipynb", kernel="blah")
    assert course.autograde()[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()


def test_no_execute(course):
    """Deliberately different: dlcourse has no --no-execute (a verdict from the outputs a
    submission carries would be the student's to write); it always runs the notebook."""
    course.add_to_gradebook("foo", "bar")
    course.copy("test.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.copy("test-with-output.ipynb", "submitted/foo/ps1/p1.ipynb")
    original = nbformat.read(FIXTURES / "test-with-output.ipynb", as_version=4)
    assert course.autograde()[0] == 0
    executed = nbformat.read(graded(course, "foo", "p1.ipynb"), as_version=4)
    assert any(a.get("outputs") != b.get("outputs")
               for a, b in zip(original.cells, executed.cells, strict=False))
    with pytest.raises(SystemExit) as refused:
        course.autograde("--force", "--no-execute")
    assert refused.value.code == 2


def test_infinite_loop(course):
    course.add_to_gradebook("foo", "bar")
    course.configure("c.Execute.timeout = 1")
    course.copy("infinite-loop.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.copy("infinite-loop.ipynb", "submitted/foo/ps1/p1.ipynb")
    assert course.autograde()[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    executed = nbformat.read(graded(course, "foo", "p1.ipynb"), as_version=4)
    # stopped after its second, and the notebook graded (the kernel reports the interrupt)
    errors = {o.ename for o in executed.cells[0].outputs if o.output_type == "error"}
    assert errors and errors <= {"KeyboardInterrupt", "CellTimeout"}
    assert item_statuses(course, "foo") == {}


def test_missing_files(course):
    """A folder holding no notebook of the assignment is not a submission: skipped."""
    course.add_to_gradebook("foo", "bar")
    course.empty("source/ps1/p1.ipynb")
    course.release()
    course.empty("submitted/foo/ps1/p1.ipynb")
    course.path("submitted/bar/ps1").mkdir(parents=True)
    status, err = course.autograde()
    assert status == 0 and "submitted/bar/ps1 holds none of the notebooks" in err
    assert graded(course, "foo", "p1.ipynb").is_file()
    assert not course.path("autograded/bar").exists()


def test_grade_missing_notebook(course):
    """A notebook missing from a submission scores 0 on every item, manual ones too."""
    course.add_to_gradebook("foo", "bar")
    course.copy("submitted-unchanged.ipynb", "source/ps1/p1.ipynb")
    course.copy("submitted-unchanged.ipynb", "source/ps1/p2.ipynb")
    course.release()
    course.copy("submitted-changed.ipynb", "submitted/foo/ps1/p1.ipynb")
    assert course.autograde()[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    assert not graded(course, "foo", "p2.ipynb").is_file()
    with course.gradebook() as gradebook:
        first, second = gradebook.find_submission("ps1", "foo").notebooks
        assert not second.needs_manual_grade
        assert second.score == 0
        assert first.score == 2


def test_grade_with_validating_envvar(course):
    """NBGRADER_EXECUTION is set while grading, as nbgrader sets it (not at release)."""
    course.add_to_gradebook("foo")
    course.copy("validating-environment-variable.ipynb", "source/ps1/p1.ipynb")
    status, err = course.release()
    assert status == 0 and "warning" not in err  # the solution passes: no NBGRADER_EXECUTION
    course.copy("validating-environment-variable.ipynb", "submitted/foo/ps1/p1.ipynb")
    assert course.autograde()[0] == 0
    assert graded(course, "foo", "p1.ipynb").is_file()
    with course.gradebook() as gradebook:
        (notebook,) = gradebook.find_submission("ps1", "foo").notebooks
        assert notebook.score == 0


def test_autograde_timeout(course):
    """c.Execute.timeout is honoured (written to the config: nbgrader passes it as
    --Execute.timeout=2)."""
    course.add_to_gradebook("foo", "bar")
    course.copy("timeout.ipynb", "source/ps1/p1.ipynb")
    course.release()
    course.copy("timeout.ipynb", "submitted/foo/ps1/p1.ipynb")
    course.copy("timeout.ipynb", "submitted/bar/ps1/p1.ipynb")
    assert course.autograde("--student", "foo")[0] == 0
    course.configure("c.Execute.timeout = 2")
    assert course.autograde("--student", "bar")[0] == 0
    with course.gradebook() as gradebook:
        assert gradebook.find_submission_notebook("p1", "ps1", "foo").score == 1
        assert gradebook.find_submission_notebook("p1", "ps1", "bar").score == 0
