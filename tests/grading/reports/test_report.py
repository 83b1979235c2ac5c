"""dlcourse report: item analysis, checked against numbers the test computes itself.

Two classes:

- **quiz 01, generated** (48 students, no grading in the test): each
  student's result document is written in the stored format, item by item,
  from a model of the student (an ability; harder items need more); a failed
  item gets one of the outcomes (status and message) that REAL grading of the
  calibration submissions and the blank gave, recorded in
  ``tests/files/quiz01_graded.json``; a few students time out, leave an answer
  out, or could not be graded at all. Manual scores go into the gradebook
  through nbgrader's API. One item, ``mc_static``, is made ambiguous: the
  students who do well elsewhere read it the other way. The test computes
  counts, means, spreads and correlations with NumPy from the generated
  scores, and checks the report's numbers and that the ambiguous item, and only
  it, is flagged.
- **the tiny quiz, really graded** (``dlcourse autograde``, sandboxed, three
  students), to check the report of results and times exactly as stored, and
  a manual score given afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from nbgrader.api import Gradebook

from dlcourse.cli import main
from dlcourse.grading.grade import GradeResult, ItemResult, failed_whole
from dlcourse.grading.prepare.source import load_source
from dlcourse.grading.reports import report as rp
from dlcourse.grading.store.gradebook import course_id, database_url, register, store

from ...conftest import FILES, REPO, copy_course
from ..test_grading import RIGHT, released

QUIZ = "quiz01_frameworks"
AMBIGUOUS = "mc_static"
STUDENTS = 48


def real_outcomes() -> dict[str, list[tuple[str, str]]]:
    """Each item's (status, message) pairs other than a pass, from real graded notebooks."""
    graded = json.loads((FILES / "quiz01_graded.json").read_text())
    outcomes: dict[str, list[tuple[str, str]]] = {}
    for result in graded["results"].values():
        for item in result["items"]:
            if item["status"] not in ("passed", "manual"):
                outcomes.setdefault(item["grade_id"], []).append((item["status"], item["message"]))
    return outcomes


def generate(root: Path, seed: int = 3) -> dict:
    """Write the generated class's stored results and gradebook; return what was generated."""
    rng = np.random.default_rng(seed)
    source = load_source(root, QUIZ)
    pool = real_outcomes()
    auto = [item for item in source.items if not item.manual]
    manual = [item for item in source.items if item.manual]
    difficulty = dict(zip([i.grade_id for i in auto], np.linspace(-1.2, 1.2, len(auto)),
                          strict=True))
    ability = rng.normal(size=STUDENTS)
    students = [f"s{i:02d}" for i in range(STUDENTS)]
    register(root, QUIZ)
    truth = {"status": {}, "score": {}, "message": {}, "seconds": {}}
    for n, student in enumerate(students):
        if n == 7:  # a notebook that could not be read: every item an error
            result = failed_whole(source, f"submitted/{student}/{QUIZ}/{QUIZ}.ipynb: not a "
                                          "valid notebook (Expecting value)")
            items = result.items
        else:
            items = []
            for item in auto:
                logit = 2.5 * (ability[n] - difficulty[item.grade_id])
                if item.grade_id == AMBIGUOUS:  # the strong students read it the other way
                    logit = -2.5 * ability[n]
                if rng.random() < 1 / (1 + np.exp(-logit)):
                    status, message = "passed", ""
                elif n in (11, 12) and item.grade_id.startswith("softmax"):
                    status, message = "missing", "no answer cell softmax_answer in the submission"
                elif n in (13, 14) and item.grade_id == "jax_static":
                    status, message = "timeout", "answer cell jax_static_answer ran out of time"
                else:
                    choices = pool.get(item.grade_id, [("error", "NameError in the test cell")])
                    status, message = choices[rng.integers(len(choices))]
                items.append(ItemResult(item.grade_id, item.points if status == "passed" else 0.0,
                                        item.points, status, message))
            items += [ItemResult(item.grade_id, None, item.points, "manual", "graded by a person")
                      for item in manual]
            result = GradeResult(QUIZ, sum(i.score or 0 for i in items), source.max_score,
                                 source.manual_max_score, items)
        document = result.to_json()
        document["seconds"] = round(float(rng.uniform(8, 25)), 3)
        folder = root / "autograded" / student / QUIZ
        folder.mkdir(parents=True)
        (folder / rp.RESULT_FILE).write_text(json.dumps({"fingerprint": {}, "result": document}))
        store(root, QUIZ, student, result)
        truth["seconds"][student] = document["seconds"]
        for item in items:
            truth["status"][student, item.grade_id] = item.status
            # an answer left out scores 0, graded by a person or not
            truth["score"][student, item.grade_id] = (0.0 if item.status == "missing"
                                                      else item.score)
            truth["message"][student, item.grade_id] = item.message
    with Gradebook(database_url(root), course_id(root)) as gradebook:
        for n, student in enumerate(students):
            for item in manual:
                if truth["status"][student, item.grade_id] != "manual":
                    continue
                if n % 16 == 5 and item.grade_id == manual[-1].grade_id:
                    continue  # not graded yet
                given = float(np.clip(np.round(1 + ability[n] + rng.normal(scale=0.5)), 0, 2))
                gradebook.find_grade(item.grade_id, QUIZ, QUIZ, student).manual_score = given
                truth["score"][student, item.grade_id] = given
        gradebook.db.commit()
    truth["students"] = students
    truth["auto"] = [i.grade_id for i in auto]
    truth["manual"] = [i.grade_id for i in manual]
    return truth


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    root = copy_course(REPO, tmp_path_factory.mktemp("report") / "course")
    truth = generate(root)
    result = rp.report(QUIZ, root=root, html=root / "report.html")
    return root, truth, result


def expected_numbers(truth: dict) -> dict:
    """The item analysis, computed here with NumPy from the generated scores."""
    students, items = truth["students"], truth["auto"] + truth["manual"]
    scores = np.array([[np.nan if truth["score"].get((s, g)) is None else truth["score"][s, g]
                        for g in items] for s in students], dtype=float)
    totals = np.nansum(scores, axis=1)
    out = {}
    for j, grade_id in enumerate(items):
        known = ~np.isnan(scores[:, j])
        x, rest = scores[known, j], totals[known] - scores[known, j]
        r = None if x.std() == 0 or rest.std() == 0 else float(np.corrcoef(x, rest)[0, 1])
        out[grade_id] = {"mean": float(x.mean()), "sd": float(x.std()), "r": r}
    out["totals"] = totals
    return out


def test_counts_match_the_generated_outcomes(generated):
    _, truth, result = generated
    for item in result.items:
        statuses = [truth["status"][s, item.grade_id] for s in truth["students"]]
        if item.grade_id in truth["auto"]:
            for status in ("passed", "failed", "error", "timeout", "missing"):
                assert item.counts[status] == statuses.count(status), (item.grade_id, status)
        else:
            graded = sum(truth["status"][s, item.grade_id] == "manual"
                         and truth["score"].get((s, item.grade_id)) is not None
                         for s in truth["students"])
            assert item.counts["graded"] == graded
            assert item.counts["pending"] == statuses.count("manual") - graded
            assert item.counts["missing"] == statuses.count("missing")
    assert sum(result.items[0].counts.values()) == STUDENTS
    assert result.not_graded == ["s07"]
    assert next(i for i in result.items if i.grade_id == "jax_static").counts["timeout"] >= 1


def test_means_spreads_and_discrimination_match_numpy(generated):
    _, truth, result = generated
    expected = expected_numbers(truth)
    for item in result.items:
        want = expected[item.grade_id]
        assert item.mean == pytest.approx(want["mean"], abs=1e-9), item.grade_id
        assert item.spread == pytest.approx(want["sd"], abs=1e-9), item.grade_id
        if want["r"] is None:
            assert item.discrimination is None
        else:
            assert item.discrimination == pytest.approx(want["r"], abs=1e-9), item.grade_id
    assert sorted(result.totals.values()) == pytest.approx(sorted(expected["totals"]))
    assert np.mean(list(result.seconds.values())) == pytest.approx(
        np.mean(list(truth["seconds"].values())))


def test_the_ambiguous_item_and_only_it_is_flagged(generated):
    _, truth, result = generated
    expected = expected_numbers(truth)
    assert expected[AMBIGUOUS]["r"] < 0  # the generated class really has such an item
    assert [item.grade_id for item in result.flagged] == [AMBIGUOUS]
    good = [expected[g]["r"] for g in truth["auto"] if g != AMBIGUOUS
            and expected[g]["r"] is not None]
    assert min(good) > result.flag_below


def test_failure_messages_are_counted_by_check_and_kind(generated):
    _, truth, result = generated
    for item in result.items:
        failed = [rp.WHOLE if s == "s07" else rp.failure_kind(truth["message"][s, item.grade_id])
                  for s in truth["students"]
                  if truth["status"][s, item.grade_id] not in ("passed", "manual")]
        if not failed:
            assert item.failures == []
            continue
        kinds = {}
        for kind in failed:
            kinds[kind] = kinds.get(kind, 0) + 1
        assert item.failures[0][1] == max(kinds.values())
        assert dict(item.failures).items() <= kinds.items()
    mc = dict(next(i for i in result.items if i.grade_id == "mc_dtypes").failures)
    assert any(m.startswith("check 'mc_dtypes': ") for m in mc)
    # a message reduced: the check and the kind, no shapes, entries or code
    assert rp.failure_kind("check 'x', entry 'w3': expected shape (3, 5), got (3,)") == (
        "check 'x': wrong shape")
    assert rp.failure_kind("TypeError in the visible test, line 2: `_y = f(3)`") == (
        "TypeError in the visible test, line #: `…`")


def test_the_page_is_self_contained_with_plots(generated):
    root, _, result = generated
    page = (root / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == 4
    assert "http://" not in page and "https://" not in page and "<script" not in page
    row = next(line for line in page.splitlines() if f"<td>{AMBIGUOUS}" in line)
    assert "flagged" in row
    assert f"mean {np.mean(list(result.totals.values())):.2f}" in page


def test_the_cli_prints_the_tables(generated, monkeypatch, capsys):
    root, _, _ = generated
    monkeypatch.chdir(root)
    assert main(["report", QUIZ, "--html", str(root / "cli.html")]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith(AMBIGUOUS))
    assert "check this item" in line
    assert "grading time per submission: mean" in out and (root / "cli.html").is_file()


def test_nothing_graded_is_a_clear_message(tmp_path, monkeypatch, capsys):
    root = copy_course(FILES / "course", tmp_path / "course")
    monkeypatch.chdir(root)
    assert main(["report", "quiz_tiny"]) == 1
    err = capsys.readouterr().err
    assert "nothing of quiz_tiny has been graded" in err and "Traceback" not in err


def test_the_statuses_are_the_graders():
    from dlcourse.grading import autograde, grade

    assert rp.RESULT_FILE == autograde.RESULT_FILE
    assert (rp.PASSED, rp.FAILED, rp.ERROR, rp.TIMEOUT, rp.MISSING, rp.MANUAL) == (
        grade.PASSED, grade.FAILED, grade.ERROR, grade.TIMEOUT, grade.MISSING, grade.MANUAL)


@pytest.mark.skipif(not os.environ.get("CI") and not shutil.which("bwrap"),
                    reason="bubblewrap is not installed (CI installs it)")
def test_a_really_graded_class(tiny_course, tmp_path):
    from dlcourse.grading.autograde import autograde

    root = copy_course(tiny_course, tmp_path / "course")
    shutil.copytree(tiny_course / "keys", root / "keys")
    answers = {"honest": RIGHT,
               "wrong_letter": {**RIGHT, "letter_answer": 'answer_letter = "c"'},
               "no_sum": {**RIGHT, "scaled_sum_answer": "def scaled_sum(x, k):\n    return x"}}
    for student, cells in answers.items():
        notebook = released(root)
        for cell in notebook.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in cells:
                cell.source = cells[grade_id]
        folder = root / "submitted" / student / "quiz_tiny"
        folder.mkdir(parents=True)
        (folder / "quiz_tiny.ipynb").write_text(json.dumps(notebook))
    graded = autograde("quiz_tiny", root=root, workers=2, progress=False)
    result = rp.report("quiz_tiny", root=root)
    assert (root / "autograded" / "report-quiz_tiny.html").is_file()
    by_id = {item.grade_id: item for item in result.items}
    for grade_id, item in by_id.items():
        statuses = [next(i.status for i in graded[s].items if i.grade_id == grade_id)
                    for s in answers]
        if grade_id != "why_hidden":
            assert item.counts["passed"] == statuses.count("passed"), grade_id
    assert by_id["letter"].counts == {**dict.fromkeys(rp.STATUSES, 0), "passed": 2, "failed": 1}
    assert by_id["why_hidden"].counts["pending"] == 3
    assert set(result.seconds) == set(answers) and min(result.seconds.values()) > 0
    assert result.totals == {s: graded[s].score for s in answers}
    with Gradebook(database_url(root), course_id(root)) as gradebook:
        gradebook.find_grade("why_hidden", "quiz_tiny", "quiz_tiny", "honest").manual_score = 1
        gradebook.db.commit()
    again = {item.grade_id: item for item in rp.report("quiz_tiny", root=root).items}
    assert again["why_hidden"].counts["graded"] == 1 and again["why_hidden"].mean == 1.0
