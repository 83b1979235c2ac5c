"""Whether a cell raised comes from the kernel's execute reply, as nbgrader's Execute reads it."""

from __future__ import annotations

import nbformat

from dlcourse.grading.run.execute import EXECUTION_VARIABLE, _reply_error, grading_environment


def test_an_error_the_kernel_did_not_display_is_taken_from_its_reply():
    # showtraceback replaced by the student's code: no error output, an error reply
    cell = nbformat.v4.new_code_cell("assert a == 1")
    reply = {"status": "error", "ename": "NameError", "evalue": "name 'a' is not defined",
             "traceback": []}
    error = _reply_error(cell, reply)
    assert (error.ename, error.evalue) == ("NameError", "name 'a' is not defined")
    assert cell.outputs == [error]  # written into the graded notebook, as nbgrader does
    assert "showtraceback was disabled" in error.traceback[0]


def test_a_displayed_error_is_kept_once():
    cell = nbformat.v4.new_code_cell("1 / 0")
    shown = nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                   traceback=["Cell In[1], line 1"])
    cell.outputs = [shown]
    reply = {"status": "error", "ename": "ZeroDivisionError", "evalue": "division by zero"}
    assert _reply_error(cell, reply) is shown and cell.outputs == [shown]


def test_an_ok_reply_with_no_error_output_is_no_error():
    cell = nbformat.v4.new_code_cell("x = 1")
    assert _reply_error(cell, {"status": "ok"}) is None and cell.outputs == []


def test_nbgrader_execution_is_set_as_nbgrader_sets_it():
    assert grading_environment("autograde") == {EXECUTION_VARIABLE: "autograde"}
    assert grading_environment("validate") == {EXECUTION_VARIABLE: "validate",
                                               "NBGRADER_VALIDATING": "1"}
    assert grading_environment(None) == {}
