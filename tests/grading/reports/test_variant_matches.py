"""dlcourse similarity on a quiz with variants: a student whose graded values fit a
classmate's variant, and not their own, is flagged as strong evidence of copying."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlcourse.cli import main
from dlcourse.grading.autograde import autograde
from dlcourse.grading.release import release
from dlcourse.grading.reports.similarity import similarity
from dlcourse.grading.reports.variant_matches import variant_matches

from ...conftest import FILES, copy_course
from ..test_variant_keys import COMPUTED, QUIZ, copied_from, write

#: a synthetic class: five honest students, one who copied erin's numbers, one whose
#: answers are wrong for everyone (a mistake, not a copy)
CLASS = {"alice": COMPUTED, "bob": COMPUTED, "carol": copied_from("carol"),
         "dave": COMPUTED, "erin": copied_from("erin"), "frank": copied_from("erin"),
         "gina": {**COMPUTED, "power_answer": "power = 2.0 ** variant['exponent']",
                  "scaled_mean_answer": "scaled_mean = float(np.median(samples))"}}


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory) -> Path:
    root = copy_course(FILES / "variant-course", tmp_path_factory.mktemp("class") / "course")
    release(root=root)
    for student, answers in CLASS.items():
        write(root, root / "submitted" / student / QUIZ, answers)
    results = autograde(QUIZ, root=root, workers=2, progress=False)
    assert {s: r.score for s, r in results.items()} == {
        "alice": 3, "bob": 3, "carol": 3, "dave": 3, "erin": 3, "frank": 1, "gina": 1}
    return root


def test_only_the_copy_of_another_students_variant_is_flagged(graded_class):
    found = variant_matches(graded_class, QUIZ)
    assert [(m.student, m.owner, m.checks) for m in found] == [
        ("frank", "erin", ("power", "scaled_mean"))]


def test_the_similarity_page_lists_the_variant_match(graded_class):
    result = similarity(QUIZ, root=graded_class)
    assert [(m.student, m.owner) for m in result.variant_matches] == [("frank", "erin")]
    page = result.html.read_text()
    assert "Answers that fit another student's variant" in page
    assert "<td>frank</td><td>erin</td><td>power, scaled_mean</td>" in page


def test_the_terminal_table_names_both_students(graded_class, monkeypatch, capsys):
    monkeypatch.chdir(graded_class)
    assert main(["similarity", QUIZ]) == 0
    printed = capsys.readouterr().out
    assert "strong evidence: frank's values fit erin's variant, not their own " \
           "(power, scaled_mean)" in printed


def test_a_quiz_without_variants_has_no_variant_matches(tiny_course):
    assert variant_matches(tiny_course, "quiz_tiny") == []
