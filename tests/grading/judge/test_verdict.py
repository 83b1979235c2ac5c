"""dlcourse.grading.judge.verdict on in-memory values: items, outcomes, outputs, records, keys."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output

from dlcourse.grading.judge.verdict import (
    failed_whole,
    judge,
    judge_in_kernel,
    partial_credit,
    score,
)
from dlcourse.grading.prepare.source import Item, SourceQuiz
from dlcourse.grading.result import BY_PERSON, IN_KERNEL, KEYED
from dlcourse.grading.run import execute
from dlcourse.grading.run.records import Record
from dlcourse.protocol import values
from dlcourse.protocol.key import Key, KeyCheck

KEYED_ITEM = Item("double", 2.0, False, 1, ("double_answer",), "B1. Doubling")
IN_KERNEL_ITEM = Item("squares", 2.0, False, 1, ("squares_answer",), "A1", IN_KERNEL)
OK = execute.CellOutcome(1, execute.OK)
KEY = Key("q", {"double": [KeyCheck("double_hidden", np.arange(3.0), 1e-6, 0.0, "hint: x2")]})


def record(name="double_hidden", value=None, **changes) -> Record:
    value = np.arange(3.0) if value is None else value
    return Record(name, value, values.encode(value), 0.0, 0.0, **changes)


def result(text) -> dict:
    return new_output("execute_result", data={"text/plain": text}, execution_count=1)


STDERR = new_output("stream", name="stderr", text="DeprecationWarning: something\n")


def test_a_keyed_item_passes_when_its_check_matches_the_key():
    verdict = judge(KEYED_ITEM, [record()], OK, KEY, {"double_answer"}, {})
    assert (verdict.status, verdict.score, verdict.verdict) == ("passed", 2.0, KEYED)


@pytest.mark.parametrize("records, status, message", [
    ([], "failed", "check 'double_hidden' was not recorded"),
    ([record(value=np.arange(3.0) * 2)], "failed", "check 'double_hidden': hint: x2"),
    ([record(value=None, problem="malformed: x")], "failed", "check 'double_hidden': malformed"),
    ([record(missing=True, problem="no file")], "missing", "check 'double_hidden': no file"),
])
def test_a_keyed_item_fails_on_a_missing_or_different_check(records, status, message):
    verdict = judge(KEYED_ITEM, records, OK, KEY, {"double_answer"}, {})
    assert (verdict.status, verdict.score) == (status, 0.0)
    assert verdict.message.startswith(message), verdict.message


def test_a_keyed_item_without_checks_in_the_key_is_an_error():
    verdict = judge(KEYED_ITEM, [record()], OK, Key("q"), {"double_answer"}, {})
    assert verdict.status == "error" and "dlcourse release" in verdict.message


@pytest.mark.parametrize("outcome, answered, status", [
    (execute.CellOutcome(1, execute.ERROR, "AssertionError"), {"double_answer"}, "failed"),
    (execute.CellOutcome(1, execute.ERROR, "NameError"), {"double_answer"}, "error"),
    (execute.CellOutcome(1, execute.ERROR, "NameError"), set(), "missing"),
    (execute.CellOutcome(1, execute.TIMEOUT), {"double_answer"}, "timeout"),
    (execute.CellOutcome(1, execute.DEAD), {"double_answer"}, "error"),
    (None, set(), "missing"),
])
def test_a_test_cell_that_did_not_finish_decides_either_kind(outcome, answered, status):
    for item in (KEYED_ITEM, IN_KERNEL_ITEM):
        answers = {a.replace("double", item.grade_id) for a in answered}
        keyed = judge(item, [record()], outcome, KEY, answers, {})
        in_kernel = judge_in_kernel(item, [], outcome, answers, {})
        assert keyed.status == in_kernel.status == status, item.grade_id
        assert keyed.score == in_kernel.score == 0.0


def test_an_answer_that_timed_out_makes_its_failing_test_a_timeout():
    slow = {"squares_answer": execute.CellOutcome(0, execute.TIMEOUT)}
    failing = execute.CellOutcome(1, execute.ERROR, "NameError")
    assert judge_in_kernel(IN_KERNEL_ITEM, [], failing, {"squares_answer"}, slow).status == \
        "timeout"


def test_an_in_kernel_item_passes_when_it_raises_nothing_whatever_stderr_says():
    verdict = judge_in_kernel(IN_KERNEL_ITEM, [STDERR], OK, {"squares_answer"}, {})
    assert (verdict.status, verdict.score, verdict.verdict) == ("passed", 2.0, IN_KERNEL)


@pytest.mark.parametrize("outputs, credit", [
    ([], 2.0),                                  # no output: full points
    ([result("1.5")], 1.5),                     # a number: that many points
    ([result(["0.5"])], 0.5),                   # text as a list of one line
    ([result("0")], 0.0),
    ([result("'all good'")], 2.0),              # not a number: full points
    ([result("np.float64(0.5)")], 2.0),         # not a plain number to float(): full points
    ([result(["1", "2"])], 2.0),                # several lines: full points
    ([result("-1")], 2.0),                      # negative: nbgrader's "strange", full points
    ([result("nan")], 2.0),
    ([STDERR, result("1")], 1.0),               # stderr counts for nothing (nbgrader: 0)
    ([new_output("display_data", data={"text/plain": "0.1"}), result("1")], 1.0),
])
def test_partial_credit_follows_nbgrader(outputs, credit):
    assert partial_credit(outputs, 2.0) == (credit, "")


def test_partial_credit_above_the_points_is_an_error_as_nbgrader_refuses_it():
    credit, problem = partial_credit([result("3")], 2.0)
    assert credit is None and "above" in problem
    verdict = judge_in_kernel(IN_KERNEL_ITEM, [result("3")], OK, {"squares_answer"}, {})
    assert (verdict.status, verdict.score) == ("error", 0.0)


def test_partial_credit_is_a_failure_worth_its_points():
    verdict = judge_in_kernel(IN_KERNEL_ITEM, [result("0.5")], OK, {"squares_answer"}, {})
    assert (verdict.status, verdict.score, verdict.max_score) == ("failed", 0.5, 2.0)
    assert "0.5 of 2" in verdict.message


def source_of_both() -> SourceQuiz:
    notebook = new_notebook(cells=[new_code_cell("def f(): ...") for _ in range(5)])
    items = [Item("keyed", 1.0, False, 1, ("answer",)),
             Item("plain", 2.0, False, 2, ("answer",), verdict=IN_KERNEL),
             Item("essay", 3.0, True, 3, ("essay",), verdict=BY_PERSON)]
    return SourceQuiz("hw", Path("source/hw/part1.ipynb"), notebook, items,
                      ["answer", "essay"])


def test_score_judges_each_item_by_its_kind_and_names_the_notebook():
    source = source_of_both()
    source.notebook.cells[2].outputs = [STDERR, result("0.5")]
    key = Key("hw", {"keyed": [KeyCheck("k", np.arange(3.0), 0.0, 0.0)]})
    outcomes = [execute.CellOutcome(i, execute.OK) for i in range(4)]
    records = {"keyed": [record("k")]}
    got = score(source, records, outcomes, key, {"answer", "essay"},
                {"keyed": 1, "plain": 2, "essay": 3, "answer": 0}, source.notebook)
    assert [(i.grade_id, i.status, i.score, i.verdict) for i in got.items] == [
        ("keyed", "passed", 1.0, KEYED), ("plain", "failed", 0.5, IN_KERNEL),
        ("essay", "manual", None, BY_PERSON)]
    assert {i.notebook for i in got.items} == {"part1"}
    assert (got.score, got.max_score, got.manual_max_score) == (1.5, 3.0, 3.0)


def test_a_notebook_that_could_not_run_scores_zero_on_every_item():
    got = failed_whole(source_of_both(), "not JSON")
    assert [(i.status, i.score) for i in got.items] == [
        ("error", 0.0), ("error", 0.0), ("missing", None)]
    assert got.error == "not JSON" and got.score == 0.0
