"""dlcourse.grading.judge.messages: what a student reads, on in-memory values and outcomes."""

from __future__ import annotations

import numpy as np

from dlcourse.grading.judge.messages import Context, check_failed
from dlcourse.grading.run.execute import ERROR, CellOutcome, traceback_frames
from dlcourse.protocol.key import KeyCheck
from dlcourse.protocol.values import difference


def failed(expected, actual, hint=None) -> str:
    """The message for ``actual`` against ``expected`` (decoded values: numbers are arrays)."""
    check = KeyCheck("arch", expected, 1e-6, 0.0, hint)
    return check_failed(check, difference(expected, actual, rtol=1e-6, atol=0.0))


def test_a_hint_replaces_the_graders_words():
    assert failed([np.array(1.0)], [np.array(2.0)], hint="wrong on small inputs") == (
        "check 'arch': wrong on small inputs")


def test_the_deepest_entry_with_a_hint_is_chosen():
    five = np.array(5)
    expected = {"13x17": {"dense": [{"activation": np.ones(2)}], "params": five}}
    actual = {"13x17": {"dense": [{"activation": np.zeros(2)}], "params": five}}
    hint = {"dense": "the layers differ", "activation": "an activation is not as asked",
            "*": "other"}
    assert failed(expected, actual, hint) == "check 'arch': an activation is not as asked"
    assert failed({"a": np.array(1.0)}, {"a": np.array(2.0)},
                  {"b": "no", "*": "fallback"}) == "check 'arch': fallback"


def test_without_a_hint_no_index_path_is_shown():
    message = failed({"batch_1": np.ones(2)}, {"batch_1": "error"})
    assert "value[" not in message
    assert message == "check 'arch', entry 'batch_1': expected a number or array, got str"


def test_frames_are_read_from_ipython_tracebacks():
    traceback = ["\x1b[31mValueError\x1b[0m Traceback", "Cell \x1b[32mIn[7], line 3\x1b[0m",
                 "Cell In[4], line 12", "  File <tokenize>:5"]
    assert traceback_frames(traceback, own_count=9) == ((7, 3), (4, 12), (9, 5))


def test_a_test_cell_error_names_the_running_check_or_visible_line():
    test = ("assert f(1) == 1\n### BEGIN HIDDEN TESTS\nfrom dlcourse.checks import check\n"
            "hidden = load()\ncheck('f_hidden', f(hidden))\n### END HIDDEN TESTS")
    answer = "def f(x):\n    return x.missing_attribute"
    context = Context(answer_sources={3: ("f_answer", answer)}, test_sources={4: test})
    in_hidden = CellOutcome(9, ERROR, "AttributeError", frames=((4, 5), (3, 2)),
                            execution_count=4)
    assert context.test_cell_error(in_hidden, [], {}) == (
        "AttributeError while the hidden test computed check 'f_hidden'; raised in your "
        "answer cell 'f_answer', line 2: `return x.missing_attribute`")
    in_visible = CellOutcome(9, ERROR, "AssertionError", frames=((4, 1),), execution_count=4)
    assert context.test_cell_error(in_visible, [], {}) == (
        "AssertionError in the visible test, line 1: `assert f(1) == 1`")
