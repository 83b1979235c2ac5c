"""dlcourse report on a quiz with variants: an item's pass rate by the range of the
parameter each student got, shown where a parameter made the item easier or harder."""

from __future__ import annotations

from dlcourse import variants
from dlcourse.grading.reports.report import analyse, page, table
from dlcourse.grading.reports.variant_difficulty import difficulty

QUIZ = "quiz_varied"
SPEC = {"exponent": ["integer", 2, 9], "scale": ["uniform", 0.5, 4.0, 2],
        "data_seed": ["seed"]}
STUDENTS = [f"student{i:03d}" for i in range(400)]


def statuses() -> dict[str, dict[str, str]]:
    """A class whose `power` item fails for exponents above 5 (a float overflow, say)
    and whose other items do not depend on the numbers."""
    found = {}
    for student in STUDENTS:
        mine = variants.draw(SPEC, quiz=QUIZ, student=student, secret="s")
        found[student] = {"power": "passed" if mine["exponent"] <= 5 else "failed",
                          "letter": "passed" if int(student[-3:]) % 3 else "failed"}
    return found


def test_the_parameter_that_made_an_item_harder_is_shown_and_no_other():
    shown = difficulty(QUIZ, SPEC, statuses(), secret="s")
    assert [found.parameter for found in shown] == ["exponent"]
    exponent = shown[0]
    assert sum(exponent.sizes) == len(STUDENTS) and len(exponent.groups) == 4
    power = exponent.pass_rates["power"]
    assert power[0] == 1.0 and power[-1] == 0.0 and power == sorted(power, reverse=True)
    letter = exponent.pass_rates["letter"]
    assert max(letter) - min(letter) < 0.15


def test_the_report_shows_the_pass_rate_by_parameter_in_a_plot_and_a_table():
    documents = {student: {"result": {"items": [
        {"grade_id": grade_id, "score": float(status == "passed"), "max_score": 1.0,
         "status": status} for grade_id, status in of.items()]}}
        for student, of in statuses().items()}
    result = analyse(QUIZ, documents, {})
    result.by_parameter = difficulty(QUIZ, SPEC, statuses(), secret="s")
    html = page(result)
    assert "Items by the student's own numbers" in html
    assert html.count("data:image/png;base64") == 4  # statuses, discrimination, totals, exponent
    assert "pass rate by the student's exponent" in table(result)


def test_gaps_that_chance_makes_in_a_small_class_are_not_shown():
    """48 students whose 20 items pass or fail at random, whatever their numbers: groups
    of twelve differ by a quarter on some item by chance, which is no finding."""
    import random

    rng = random.Random(7)
    noise = {f"s{i:02d}": {f"item{j:02d}": rng.choice(["passed", "failed"])
                           for j in range(20)} for i in range(48)}
    without_the_test = difficulty(QUIZ, SPEC, noise, secret="s", alpha=float("inf"))
    assert without_the_test, "chance made no gap of 0.25: the class does not test the point"
    assert difficulty(QUIZ, SPEC, noise, secret="s") == []


def test_the_p_value_is_kept_for_each_item():
    exponent = difficulty(QUIZ, SPEC, statuses(), secret="s")[0]
    assert exponent.p_values["power"] < 1e-12 < exponent.p_values["letter"]
