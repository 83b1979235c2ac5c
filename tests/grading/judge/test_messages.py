"""dlcourse.grading.judge.messages: what a student reads, on in-memory values and outcomes."""

from __future__ import annotations

import numpy as np

from dlcourse.grading.judge.messages import Context, check_failed, exception_text
from dlcourse.grading.run.execute import ERROR, CellOutcome, traceback_frames
from dlcourse.protocol.key import KeyCheck
from dlcourse.protocol.values import difference


def failed(expected, actual, hint=None) -> str:
    """The message for ``actual`` against ``expected`` (decoded values: numbers are arrays)."""
    check = KeyCheck("arch", expected, 1e-6, 0.0, hint)
    return check_failed(check, difference(expected, actual, rtol=1e-6, atol=0.0))


def test_a_hint_replaces_the_graders_words():
    assert failed([np.array(1.0)], [np.array(2.0)], hint="wrong on small inputs") == (
        "check 'arch': wrong on small inputs. In your answer: your answer is 2.0")


def test_the_deepest_entry_with_a_hint_is_chosen():
    five = np.array(5)
    expected = {"13x17": {"dense": [{"activation": np.ones(2)}], "params": five}}
    actual = {"13x17": {"dense": [{"activation": np.zeros(2)}], "params": five}}
    hint = {"dense": "the layers differ", "activation": "an activation is not as asked",
            "*": "other"}
    assert failed(expected, actual, hint) == (
        "check 'arch': an activation is not as asked. In your answer: 2 of 2 values are "
        "off; the first, at index 0, is 0.0 in yours")
    assert failed({"a": np.array(1.0)}, {"a": np.array(2.0)}, {"b": "no", "*": "fallback"}
                  ) == "check 'arch': fallback. In your answer: your answer is 2.0"


def test_a_hint_that_ends_a_sentence_is_not_given_a_second_full_stop():
    assert failed("c", "b", hint="did you read the section on tracing?") == (
        "check 'arch': did you read the section on tracing? In your answer: your answer is 'b'")


def test_a_wrong_choice_is_named_and_the_right_one_is_not():
    message = failed("c", "b", hint="a graph traced once runs without Python: see lesson 01, "
                     "section 5")
    assert message == ("check 'arch': a graph traced once runs without Python: see lesson 01, "
                       "section 5. In your answer: your answer is 'b'")
    assert "'c'" not in message


def test_where_an_array_is_off_is_told_in_the_students_own_values():
    expected, actual = np.arange(12.0).reshape(3, 4), np.arange(12.0).reshape(3, 4)
    actual[1, 2], actual[2, 3] = np.nan, 0.0
    message = failed(expected, actual)
    assert message == ("check 'arch': values differ from the expected ones. In your answer: "
                       "2 of 12 values are off; the first, at index (1, 2), is nan in yours "
                       "(nan: a division by zero or an overflow?)")
    assert "6.0" not in message  # the key's value there is not shown


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
    in_hidden = CellOutcome(9, ERROR, "AttributeError", "'int' object has no attribute "
                            "'missing_attribute'", frames=((4, 5), (3, 2)), execution_count=4)
    reason = "AttributeError: 'int' object has no attribute 'missing_attribute'"
    assert context.test_cell_error(in_hidden, [], {}) == (
        f"{reason} while the hidden test computed check 'f_hidden'; raised in your "
        "answer cell 'f_answer', line 2: `return x.missing_attribute`", reason)
    in_visible = CellOutcome(9, ERROR, "AssertionError", frames=((4, 1),), execution_count=4)
    assert context.test_cell_error(in_visible, [], {}) == (
        ("your answer does not pass the visible test, line 1: `assert f(1) == 1`",) * 2)


def test_an_exception_says_why_with_its_own_message_and_where():
    test = ("### BEGIN HIDDEN TESTS\nfrom dlcourse.checks import check\n"
            "check('gated_dense_outputs', gated_dense(load()))\n### END HIDDEN TESTS")
    answer = "def gated_dense(x):\n    w = np.ones((16, 32))\n    return (x @ w) * x"
    context = Context(answer_sources={3: ("gated_answer", answer)}, test_sources={4: test})
    raised = CellOutcome(9, ERROR, "ValueError", "operands could not be broadcast together "
                         "with shapes (8,32) (8,16) \nmore detail", frames=((4, 3), (3, 3)),
                         execution_count=4)
    message, reason = context.test_cell_error(raised, [], {})
    assert reason == ("ValueError: operands could not be broadcast together with shapes "
                      "(8,32) (8,16)")
    assert message == (f"{reason} while the hidden test computed check 'gated_dense_outputs'; "
                       "raised in your answer cell 'gated_answer', line 3: "
                       "`return (x @ w) * x`")


def test_a_hidden_assertion_keeps_its_message_to_itself():
    test = ("### BEGIN HIDDEN TESTS\nassert f(secret) == 41, f'f({secret}) != 41'\n"
            "### END HIDDEN TESTS")
    context = Context(answer_sources={}, test_sources={4: test})
    raised = CellOutcome(9, ERROR, "AssertionError", "f(17) != 41", frames=((4, 2),),
                         execution_count=4)
    message, reason = context.test_cell_error(raised, [], {})
    assert "17" not in message and "41" not in message
    assert reason == "a hidden test's assertion about your answer did not hold"


def test_an_exceptions_message_is_shortened_and_quotes_no_array_whole():
    assert exception_text("ValueError", "") == "ValueError (with no message)"
    assert "not written yet" in exception_text("NotImplementedError")
    assert exception_text("ValueError", "bad values [0.1, 0.2, 0.3, 0.4, 0.5] here") == (
        "ValueError: bad values […] here")
    assert len(exception_text("RuntimeError", "x" * 1000)) < 230
