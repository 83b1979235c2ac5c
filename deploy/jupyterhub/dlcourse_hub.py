"""What the class's servers run beside JupyterLab (installed into the class's environment).

``hub.py setup`` copies this module into the site-packages of the class's environment,
where every person's server and the course's grading server import it:

- ``python -m dlcourse_hub`` starts a person's JupyterLab (JupyterHub's ``Spawner.cmd``):
  it first gives them the lessons they do not have yet, copies of the student versions
  in ``$DLCOURSE_LESSONS`` (the repository's ``lessons/``) into ``~/lessons/``, never
  overwriting their own copy, then becomes ``jupyterhub-singleuser``;
- :class:`PrivateSubmit`, nbgrader's ``submit`` with a submission only its author and
  the grader can read (the students' configuration selects it);
- :class:`ReleaseWithDueDate`, nbgrader's ``release_assignment`` that puts the due
  date and the course's rule for late work beside the notebooks students fetch (the
  grader's configuration selects it).

Nothing here imports the course's grader: a student's server loads this module.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path

from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.exchange.default.submit import ExchangeSubmit

#: The file beside a released quiz's notebooks that tells students when it is due.
DUE_FILE = "due-date.txt"
#: Where a person's lessons go, under their home folder.
LESSONS_FOLDER = "lessons"

#: A submission in the exchange: its author (owner) and the grader (the inbound folder's
#: group, which setgid gives every submission) may read it; nobody else, even knowing
#: its name. nbgrader's own modes (0777 folder, 0644 files) let anyone who knows the
#: name read it; the grader only needs to read and delete it.
SUBMISSION_DIR_MODE = 0o770
SUBMISSION_FILE_MODE = 0o640


class PrivateSubmit(ExchangeSubmit):
    """nbgrader's submit, leaving the submission readable by its author and the grader only.

    The inbound folder is setgid, so what a submission holds belongs to the grader's
    group, except what nbgrader writes after its copy gave the submission's folder the
    student's own mode (a student's chmod drops the setgid bit of a folder whose group is
    not theirs): ``timestamp.txt`` and ``submission_secret.txt``. Each file not in the
    inbound folder's group is made again in the inbound folder, which gives it that
    group, and moved into place; then every file is 0640 and every folder 0770.
    """

    def copy_files(self):
        super().copy_files()
        inbound = Path(self.inbound_path)
        submission = inbound / self.assignment_filename
        group = inbound.stat().st_gid
        for folder, _, files in os.walk(submission):
            for name in files:
                path = Path(folder) / name
                if path.is_symlink():
                    continue
                if path.stat().st_gid != group:
                    handle, temporary = tempfile.mkstemp(dir=inbound, prefix=".dlcourse-")
                    with os.fdopen(handle, "wb") as copy, path.open("rb") as original:
                        shutil.copyfileobj(original, copy)
                    os.replace(temporary, path)
                os.chmod(path, SUBMISSION_FILE_MODE)
        for folder, _, _ in sorted(os.walk(submission), key=lambda entry: -len(entry[0])):
            os.chmod(folder, SUBMISSION_DIR_MODE)


def late_rule(config) -> str:
    """The course's rule for late work, in words, from nbgrader's configuration."""
    plugin = config.get("AssignLatePenalties", {}).get("plugin_class")
    method = config.get("LateSubmissionPlugin", {}).get("penalty_method", "none")
    if plugin and "LateSubmissionPlugin" not in str(plugin):
        return "late work is penalised by the course's own rule"
    if method == "zero":
        return "late work scores 0"
    return "late work is marked late; it loses no points"


def due_date_text(quiz: str, duedate, rule: str) -> str:
    """What ``due-date.txt`` says."""
    return (f"{quiz} is due {duedate:%A %d %B %Y, %H:%M} UTC.\n"
            f"nbgrader records the time you submit; {rule}. You may submit again "
            "before then: the last submission counts.\n")


class ReleaseWithDueDate(ExchangeReleaseAssignment):
    """nbgrader's release_assignment, with ``due-date.txt`` beside the notebooks.

    The due date is the gradebook's (``nbgrader db assignment add QUIZ --duedate ...``,
    or the formgrader's Manage Assignments page); without one, no file is added.
    Released again (``--force``) after the date changes, the file says the new date.
    """

    def do_copy(self, src, dest, log=None):
        super().do_copy(src, dest, log=log)
        from nbgrader.api import Gradebook, MissingEntry

        quiz = self.coursedir.assignment_id
        try:
            with Gradebook(self.coursedir.db_url, self.coursedir.course_id) as gradebook:
                duedate = gradebook.find_assignment(quiz).duedate
        except MissingEntry:
            duedate = None
        if duedate is not None:
            Path(dest, DUE_FILE).write_text(due_date_text(quiz, duedate, late_rule(self.config)))
            self.log.info("Due date in %s: %s UTC", DUE_FILE, duedate)


def give_lessons(lessons: Path, home: Path) -> list[Path]:
    """Copy into ``home/lessons/`` each lesson the person does not have yet; return those."""
    if not lessons.is_dir():
        return []
    target = home / LESSONS_FOLDER
    target.mkdir(exist_ok=True)
    given = []
    for lesson in sorted(lessons.glob("*.ipynb")):
        copy = target / lesson.name
        if not copy.exists() and not copy.is_symlink():
            shutil.copyfile(lesson, copy)
            copy.chmod(stat.S_IRUSR | stat.S_IWUSR)
            given.append(copy)
    return given


def main() -> None:
    """A person's server: their lessons first, then jupyterhub-singleuser (same arguments)."""
    lessons = os.environ.get("DLCOURSE_LESSONS")
    if lessons:
        try:
            given = give_lessons(Path(lessons), Path.home())
            if given:
                print(f"dlcourse: new lessons in ~/{LESSONS_FOLDER}: "
                      + ", ".join(p.name for p in given), file=sys.stderr)
        except OSError as error:  # never keep a person from their server
            print(f"dlcourse: could not copy the lessons: {error}", file=sys.stderr)
    singleuser = Path(sys.executable).parent / "jupyterhub-singleuser"
    os.execv(singleuser, [str(singleuser), *sys.argv[1:]])


if __name__ == "__main__":
    main()
