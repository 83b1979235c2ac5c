"""Per-student variants, graded: each submission against the variant of the id it is filed
under, with that student's key derived from the solution (tests/files/variant-course)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from dlcourse import cli, variants
from dlcourse.grading.autograde import autograde
from dlcourse.grading.grade import grade_notebook
from dlcourse.grading.release import release
from dlcourse.grading.run.execute import Limits

from ..conftest import FILES, copy_course

QUIZ = "quiz_varied"
FAST = Limits(cell_timeout=10, notebook_timeout=60)
#: answers that work for whoever runs them: they read the student's own variant
COMPUTED = {"power_answer": "power = float(pow(3, variant['exponent']))",
            "scaled_mean_answer": "scaled_mean = np.mean(samples) * variant['scale']",
            "letter_answer": "letter = 'b'"}
VARIED = {"power", "scaled_mean"}


@pytest.fixture(scope="module")
def varied_course(tmp_path_factory) -> Path:
    root = copy_course(FILES / "variant-course", tmp_path_factory.mktemp("varied") / "course")
    release(root=root)
    return root


def parameters(student: str) -> dict:
    return dict(variants.variant(QUIZ, SPEC, student=student))


SPEC = {"exponent": ["integer", 2, 9], "scale": ["uniform", 0.5, 4.0, 2],
        "data_seed": ["seed"]}


def copied_from(student: str) -> dict[str, str]:
    """``student``'s right answers as numbers, as a classmate would copy them."""
    mine = parameters(student)
    samples = np.random.default_rng(mine["data_seed"]).normal(size=20)
    return {"power_answer": f"power = {3.0 ** mine['exponent']!r}",
            "scaled_mean_answer": f"scaled_mean = {float(mine['scale'] * samples.mean())!r}",
            "letter_answer": "letter = 'b'"}


def write(root: Path, folder: Path, answers: dict[str, str]) -> Path:
    notebook = nbformat.read(root / "release" / QUIZ / f"{QUIZ}.ipynb", as_version=4)
    for cell in notebook.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / f"{QUIZ}.ipynb")
    return folder / f"{QUIZ}.ipynb"


def statuses(result) -> dict[str, str]:
    return {item.grade_id: item.status for item in result.items}


def test_the_fixture_declares_what_the_test_assumes(varied_course):
    from dlcourse.grading.prepare.source import load_source
    from dlcourse.grading.variant_keys import declared

    assert declared(load_source(varied_course, QUIZ)) == SPEC
    assert parameters("alice") != parameters("bob")


def test_each_students_own_answer_scores_full_marks_for_them(varied_course, tmp_path):
    path = write(varied_course, tmp_path, COMPUTED)
    for student in ("alice", "bob"):
        result = grade_notebook(path, quiz=QUIZ, root=varied_course, limits=FAST,
                                student=student)
        assert (result.score, result.variant) == (3, student), result.items


def test_an_answer_worked_out_for_another_students_numbers_scores_0_there(varied_course,
                                                                        tmp_path):
    path = write(varied_course, tmp_path, copied_from("alice"))
    mine = grade_notebook(path, quiz=QUIZ, root=varied_course, limits=FAST, student="alice")
    assert mine.score == 3, mine.items
    theirs = grade_notebook(path, quiz=QUIZ, root=varied_course, limits=FAST, student="bob")
    assert statuses(theirs) == {"power": "failed", "scaled_mean": "failed", "letter": "passed"}
    for item in theirs.items:
        said = "checked against the variant of student 'bob'" in item.message
        assert said == (item.grade_id in VARIED), item.message


def test_autograde_grades_each_submission_against_the_id_it_is_filed_under(varied_course):
    submitted = varied_course / "submitted"
    write(varied_course, submitted / "alice" / QUIZ, COMPUTED)
    write(varied_course, submitted / "bob" / QUIZ, copied_from("alice"))  # copied
    write(varied_course, submitted / "carol" / QUIZ, copied_from("carol"))
    results = autograde(QUIZ, root=varied_course, workers=2, progress=False)
    assert {student: result.score for student, result in results.items()} == \
        {"alice": 3, "bob": 1, "carol": 3}
    assert {student: result.variant for student, result in results.items()} == \
        {"alice": "alice", "bob": "bob", "carol": "carol"}
    stored = json.loads((varied_course / "autograded" / "bob" / QUIZ /
                         "dlcourse-result.json").read_text())
    assert stored["result"]["variant"] == "bob"


def test_the_key_of_a_variant_is_derived_and_cached_without_the_students_id(varied_course,
                                                                           tmp_path):
    path = write(varied_course, tmp_path, COMPUTED)
    grade_notebook(path, quiz=QUIZ, root=varied_course, limits=FAST, student="dora")
    cached = list((varied_course / "keys" / "variants").rglob("*.json"))
    assert cached and not any("dora" in str(p.relative_to(varied_course)) for p in cached)


def test_the_released_notebook_holds_no_key_material(varied_course):
    released = (varied_course / "release" / QUIZ / f"{QUIZ}.ipynb").read_text()
    assert "HIDDEN TESTS" not in released and "check(" not in released
    key = json.loads((varied_course / "keys" / f"{QUIZ}.json").read_text())
    values = [check["value"] for item in key["items"].values() for check in item["checks"]]
    assert len(values) == 3
    for value in values:
        if value != "b":  # the one item that is the same for everyone, a letter
            assert json.dumps(value) not in released


def run_setup(root: Path, student: str) -> dict:
    """Run the released notebook's set-up cell as that student's kernel would."""
    notebook = nbformat.read(root / "release" / QUIZ / f"{QUIZ}.ipynb", as_version=4)
    setup = next(c.source for c in notebook.cells
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
    code = setup + "\nimport json\nprint(json.dumps(dict(variant)))"
    env = {**os.environ, variants.STUDENT_VARIABLE: student}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, check=True)
    assert f"student {student!r}" in done.stdout
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_two_students_see_their_own_parameters_in_the_one_released_notebook(varied_course):
    alice, bob = run_setup(varied_course, "alice"), run_setup(varied_course, "bob")
    assert alice == parameters("alice") and bob == parameters("bob") and alice != bob


def test_dlcourse_variant_prints_a_students_parameters(varied_course, monkeypatch, capsys):
    monkeypatch.chdir(varied_course)
    assert cli.main(["variant", QUIZ, "alice"]) == 0
    printed = capsys.readouterr().out
    assert "student 'alice'" in printed
    for name, value in parameters("alice").items():
        assert f"{name} = {value!r}" in printed


def test_dlcourse_variant_of_a_quiz_without_one_says_so(tiny_course, monkeypatch, capsys):
    monkeypatch.chdir(tiny_course)
    assert cli.main(["variant", "quiz_tiny", "alice"]) == 1
    assert "quiz_tiny declares no variant" in capsys.readouterr().err


def test_nothing_per_student_can_be_committed(varied_course, tmp_path):
    """Each student's key is cached under the key directory, which git ignores, and the
    fixture's source holds no student's numbers."""
    from dlcourse.grading.prepare.source import load_source
    from dlcourse.grading.prepare.variant import cached_path

    from ..conftest import REPO

    path = write(varied_course, tmp_path, COMPUTED)
    grade_notebook(path, quiz=QUIZ, root=varied_course, limits=FAST, student="erin")
    cached = cached_path(varied_course, QUIZ, load_source(varied_course, QUIZ), "erin")
    assert cached.is_file()
    in_the_repository = REPO / cached.relative_to(varied_course)
    ignored = subprocess.run(["git", "check-ignore", "-q", str(in_the_repository)], cwd=REPO)
    assert ignored.returncode == 0, f"{in_the_repository} would not be ignored by git"
    source = (FILES / "variant-course" / "source" / QUIZ / f"{QUIZ}.ipynb").read_text()
    assert json.dumps(parameters("erin")["data_seed"]) not in source


def test_the_release_records_which_checks_differ_by_student(varied_course):
    """Found by running the solution for a second id; the letter is everyone's."""
    from dlcourse.grading.prepare.source import load_source
    from dlcourse.grading.prepare.variant import recorded_varied

    assert recorded_varied(varied_course, QUIZ, load_source(varied_course, QUIZ)) == VARIED


def test_under_the_release_id_a_copied_answer_says_whose_numbers_it_missed(varied_course,
                                                                         tmp_path):
    """The release's own id grades against the released key (nothing derived), and its
    failed varied items still name the variant: the record, not a comparison with the
    released key, says which checks vary."""
    from dlcourse.grading.prepare.variant import RELEASE_STUDENT

    path = write(varied_course, tmp_path, copied_from("alice"))
    result = grade_notebook(path, quiz=QUIZ, root=varied_course, limits=FAST,
                            student=RELEASE_STUDENT)
    assert statuses(result) == {"power": "failed", "scaled_mean": "failed", "letter": "passed"}
    for item in result.items:
        said = f"checked against the variant of student {RELEASE_STUDENT!r}" in item.message
        assert said == (item.grade_id in VARIED), item.message


def test_a_new_course_secret_regrades_what_was_stored(tmp_path, monkeypatch):
    """Every student's numbers change with the secret, so a stored result is stale."""
    root = copy_course(FILES / "variant-course", tmp_path / "course")
    release(root=root)
    write(root, root / "submitted" / "carol" / QUIZ, copied_from("carol"))
    first = autograde(QUIZ, root=root, workers=1, progress=False)
    assert first["carol"].score == 3
    monkeypatch.setenv(variants.SECRET_VARIABLE, "another offering's secret")
    again = autograde(QUIZ, root=root, workers=1, progress=False)
    # carol's numbers under the new secret are other numbers: her typed-in ones miss them
    assert statuses(again["carol"]) == {"power": "failed", "scaled_mean": "failed",
                                        "letter": "passed"}
