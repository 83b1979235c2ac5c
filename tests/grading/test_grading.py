"""dlcourse.grading on the tiny quiz (tests/files/course): verdicts come from the
source's test cells and the key, whatever the submission does.

Each test builds a submission the way a student would: the released notebook
with answer cells filled in, sometimes with cells added or edited.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import numpy as np

from dlcourse.checks import MIME_TYPE
from dlcourse.grading.grade import grade_notebook
from dlcourse.grading.run.execute import Limits
from dlcourse.protocol import values

FAST = Limits(cell_timeout=5, notebook_timeout=60)
RIGHT = {"letter_answer": 'answer_letter = "b"',
         "scaled_sum_answer": "def scaled_sum(x, k):\n    return k * np.asarray(x).sum(axis=1)",
         "weights_answer": "np.save('weights.npy', np.kron(np.eye(2), np.ones((2, 1))))",
         # free text for a person (one left as released scores 0, "No response.")
         "why_hidden": "So that an answer has to compute its result, not recall it."}


def released(root: Path) -> nbformat.NotebookNode:
    return nbformat.read(root / "release" / "quiz_tiny" / "quiz_tiny.ipynb", as_version=4)


def cell_index(notebook, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook.cells)
                if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def submit(root: Path, tmp_path: Path, answers: dict[str, str], edit=None) -> Path:
    """Write a submission: the student version with ``answers`` by grade id, then ``edit``."""
    notebook = released(root)
    for grade_id, text in answers.items():
        notebook.cells[cell_index(notebook, grade_id)].source = text
    if edit:
        edit(notebook)
    path = tmp_path / "quiz_tiny.ipynb"
    nbformat.write(notebook, path)
    return path


def grade(root, path, limits=FAST):
    result = grade_notebook(path, quiz="quiz_tiny", root=root, limits=limits)
    return result, {item.grade_id: item.status for item in result.items}


def test_the_solution_scores_full_marks(tiny_course):
    result, statuses = grade(tiny_course, tiny_course / "source/quiz_tiny/quiz_tiny.ipynb")
    assert result.score == result.max_score == 5
    assert statuses == {"letter": "passed", "scaled_sum": "passed", "weights": "passed",
                        "why_hidden": "manual"}


def test_the_blank_student_version_scores_zero(tiny_course):
    result, statuses = grade(tiny_course, tiny_course / "release/quiz_tiny/quiz_tiny.ipynb")
    assert result.score == 0
    # the free-text answer left as released: 0 points, "No response.", nobody to grade it
    assert statuses == {"letter": "error", "scaled_sum": "error", "weights": "missing",
                        "why_hidden": "missing"}
    why = next(item for item in result.items if item.grade_id == "why_hidden")
    assert (why.score, why.message) == (0.0, "No response.")
    assert result.unanswered == ["letter_answer", "scaled_sum_answer", "weights_answer",
                                 "why_hidden"]


def test_a_right_answer_written_differently_passes(tiny_course, tmp_path):
    other = {"letter_answer": "answer_letter = chr(ord('a') + 1)",
             "scaled_sum_answer": "def scaled_sum(x, k):\n"
                                  "    return np.einsum('ij->i', np.asarray(x, float)) * k",
             "weights_answer": "W = np.zeros((4, 2))\nW[:2, 0] = W[2:, 1] = 1\n"
                               "with open('weights.npy', 'wb') as f:\n    np.save(f, W)"}
    result, _ = grade(tiny_course, submit(tiny_course, tmp_path, other))
    assert result.score == 5


def test_a_wrong_answer_fails_only_its_item(tiny_course, tmp_path):
    result, statuses = grade(tiny_course, submit(
        tiny_course, tmp_path, {**RIGHT, "letter_answer": 'answer_letter = "c"'}))
    assert statuses["letter"] == "failed" and statuses["scaled_sum"] == "passed"
    assert result.score == 4


def test_an_answer_right_on_the_visible_example_only_fails(tiny_course, tmp_path):
    # sums every row as if k were 2: right on the visible test, wrong on hidden inputs
    cheat = "def scaled_sum(x, k):\n    return 2 * np.asarray(x).sum(axis=1)"
    _, statuses = grade(tiny_course, submit(
        tiny_course, tmp_path, {**RIGHT, "scaled_sum_answer": cheat}))
    assert statuses["scaled_sum"] == "failed"


def test_a_test_cell_edited_to_pass_is_replaced_by_the_source(tiny_course, tmp_path):
    def edit(notebook):
        for grade_id in ("letter", "scaled_sum"):
            notebook.cells[cell_index(notebook, grade_id)].source = "pass"

    result, statuses = grade(tiny_course, submit(
        tiny_course, tmp_path, {"letter_answer": 'answer_letter = "a"'}, edit))
    assert statuses["letter"] == "failed" and statuses["scaled_sum"] == "error"
    assert result.score == 0


def test_deleted_test_cells_still_run(tiny_course, tmp_path):
    def edit(notebook):
        notebook.cells = [c for c in notebook.cells
                          if not c.metadata.get("nbgrader", {}).get("grade")]

    result, _ = grade(tiny_course, submit(tiny_course, tmp_path, RIGHT, edit))
    assert result.score == 5  # the source's test cells ran and the answers are right


def test_patching_check_away_makes_the_check_missing(tiny_course, tmp_path):
    patch = ('import dlcourse.checks\n'
             'dlcourse.checks.check = lambda *args, **kwargs: None\n'
             'answer_letter = "a"')
    _, statuses = grade(tiny_course, submit(
        tiny_course, tmp_path, {**RIGHT, "letter_answer": patch}))
    assert statuses["letter"] == "failed"


def test_patching_the_comparison_of_visible_tests_gains_nothing(tiny_course, tmp_path):
    patch = ("import numpy.testing\n"
             "numpy.testing.assert_allclose = lambda *args, **kwargs: None\n"
             "def scaled_sum(x, k):\n    return np.zeros(len(x))")
    _, statuses = grade(tiny_course, submit(
        tiny_course, tmp_path, {**RIGHT, "scaled_sum_answer": patch}))
    assert statuses["scaled_sum"] == "failed"


def fake_record(name, value):
    return {MIME_TYPE: {"name": name, "value": values.encode(value), "rtol": 1e9, "atol": 1e9}}


def test_records_displayed_outside_test_cells_count_for_nothing(tiny_course, tmp_path):
    forged = json.dumps(fake_record("letter", "c"))
    answer = (f"from IPython.display import display\ndisplay({forged}, raw=True)\n"
              'answer_letter = "a"')
    _, statuses = grade(tiny_course, submit(
        tiny_course, tmp_path, {**RIGHT, "letter_answer": answer}))
    assert statuses["letter"] == "failed"


def test_records_forged_into_a_test_cell_by_a_hook_fail_it(tiny_course, tmp_path):
    # a post-run hook displays a record in every later cell, the test cell included
    forged = json.dumps(fake_record("scaled_sum_hidden", [0.0, 0.0, 0.0, 0.0]))
    answer = ("from IPython import get_ipython\nfrom IPython.display import display\n"
              f"get_ipython().events.register('post_run_cell', "
              f"lambda result: display({forged}, raw=True))\n" + RIGHT["scaled_sum_answer"])
    _, statuses = grade(tiny_course, submit(
        tiny_course, tmp_path, {**RIGHT, "scaled_sum_answer": answer}))
    assert statuses["scaled_sum"] == "failed"


def test_a_missing_answer_cell_is_reported_missing(tiny_course, tmp_path):
    def edit(notebook):
        del notebook.cells[cell_index(notebook, "scaled_sum_answer")]

    result, statuses = grade(tiny_course, submit(tiny_course, tmp_path, RIGHT, edit))
    assert statuses == {"letter": "passed", "scaled_sum": "missing", "weights": "passed",
                        "why_hidden": "manual"}
    assert result.score == 3


def test_cells_the_student_added_run_in_place(tiny_course, tmp_path):
    def edit(notebook):
        helper = nbformat.v4.new_code_cell("def row_sums(x):\n    return np.asarray(x).sum(1)")
        notebook.cells.insert(cell_index(notebook, "scaled_sum_answer"), helper)

    answers = {**RIGHT, "scaled_sum_answer": "def scaled_sum(x, k):\n    return k * row_sums(x)"}
    result, _ = grade(tiny_course, submit(tiny_course, tmp_path, answers, edit))
    assert result.score == 5


def test_a_free_text_cell_turned_into_code_does_not_run(tiny_course, tmp_path):
    def edit(notebook):
        cell = notebook.cells[cell_index(notebook, "why_hidden")]
        cell.cell_type, cell.source = "code", "import os\nos._exit(1)"
        cell.outputs, cell.execution_count = [], None

    result, statuses = grade(tiny_course, submit(tiny_course, tmp_path, RIGHT, edit))
    assert result.score == 5 and statuses["why_hidden"] == "manual"


def test_an_infinite_loop_times_out_and_the_rest_is_graded(tiny_course, tmp_path):
    loop = "while True:\n    pass"
    result, statuses = grade(tiny_course, submit(
        tiny_course, tmp_path, {**RIGHT, "letter_answer": loop}))
    assert statuses["letter"] == "timeout" and statuses["scaled_sum"] == "passed"
    assert result.score == 4


def test_a_kernel_that_exits_fails_what_did_not_run(tiny_course, tmp_path):
    answer = "import os\nos._exit(0)"
    result, statuses = grade(tiny_course, submit(
        tiny_course, tmp_path, {**RIGHT, "scaled_sum_answer": answer}))
    assert statuses["letter"] == "passed" and statuses["scaled_sum"] == "error"
    assert statuses["weights"] == "error"  # never ran: the kernel had died
    assert result.score == 1


def test_an_invalid_notebook_scores_zero_with_a_clear_error(tiny_course, tmp_path):
    path = tmp_path / "quiz_tiny.ipynb"
    path.write_text('{"cells": [ this is not json')
    result, statuses = grade(tiny_course, path)
    assert result.score == 0
    assert str(path) in result.error and "not a valid notebook" in result.error
    assert set(statuses.values()) == {"error", "missing"}


def test_feedback_messages_never_quote_hidden_inputs(tiny_course, tmp_path):
    # right on the visible input; on the hidden one, raises with the input as its text
    leak = ("def scaled_sum(x, k):\n    x = np.asarray(x)\n    if x.shape == (2, 3):\n"
            "        return k * x.sum(axis=1)\n    raise ValueError(repr(x.tolist()))")
    result, _ = grade(tiny_course, submit(
        tiny_course, tmp_path, {**RIGHT, "scaled_sum_answer": leak}))
    item = next(i for i in result.items if i.grade_id == "scaled_sum")
    assert item.status == "error"
    # the exception's type, the check that was running and the student's own line ...
    assert item.message == ("ValueError: [[…], […], […], […]] while the hidden test computed check "
                            "'scaled_sum_hidden'; raised in your answer cell 'scaled_sum_answer', "
                            "line 5: `raise ValueError(repr(x.tolist()))`")
    # ... and nothing of the hidden input the exception's text held
    hidden = np.random.default_rng(7).normal(size=(4, 5))
    assert not any(f"{v:.3f}"[:5] in item.message for v in hidden.ravel())


def test_an_answer_cell_that_does_not_compile_is_named_with_its_line(tiny_course, tmp_path):
    broken = "def scaled_sum(x, k):\n    x = np.asarray(x)\n      return k * x.sum(axis=1)"
    result, _ = grade(tiny_course, submit(
        tiny_course, tmp_path, {**RIGHT, "scaled_sum_answer": broken}))
    item = next(i for i in result.items if i.grade_id == "scaled_sum")
    assert item.status == "error"
    assert item.message.startswith(
        "your answer cell 'scaled_sum_answer', line 3: `return k * x.sum(axis=1)` raised "
        "IndentationError: unexpected indent; then the test raised NameError: name 'scaled_sum' "
        "is not defined in the visible test, line 1"), \
        item.message


def test_an_item_passes_only_when_all_its_checks_match(tiny_course, tmp_path):
    # right on the float input (the first check), wrong on the integer one (the second)
    half = ("def scaled_sum(x, k):\n    x = np.asarray(x)\n"
            "    return k * x.sum(axis=1) if x.dtype.kind == 'f' else x.sum(axis=1)")
    result, statuses = grade(tiny_course, submit(
        tiny_course, tmp_path, {**RIGHT, "scaled_sum_answer": half}))
    item = next(i for i in result.items if i.grade_id == "scaled_sum")
    assert statuses["scaled_sum"] == "failed" and statuses["letter"] == "passed"
    assert item.message.startswith("check 'scaled_sum_int'"), item.message



def test_consecutive_test_cells_grade_the_same_answer(tiny_course, tmp_path):
    from dlcourse.grading.prepare.source import load_source

    notebook = nbformat.read(tiny_course / "source/quiz_tiny/quiz_tiny.ipynb", as_version=4)
    second = nbformat.from_dict(notebook.cells[cell_index(notebook, "scaled_sum")])
    second.metadata["nbgrader"]["grade_id"] = "scaled_sum_again"
    second.id = "scaled-sum-again"
    notebook.cells.insert(cell_index(notebook, "scaled_sum") + 1, second)
    (tmp_path / "source/quiz_tiny").mkdir(parents=True)
    nbformat.write(notebook, tmp_path / "source/quiz_tiny/quiz_tiny.ipynb")
    items = {item.grade_id: item for item in load_source(tmp_path, "quiz_tiny").items}
    assert items["scaled_sum"].answers == items["scaled_sum_again"].answers
    assert items["scaled_sum_again"].answers == ("scaled_sum_answer",)
    assert items["letter"].answers == ("letter_answer",)


def test_an_exported_file_is_evaluated_on_hidden_inputs(tiny_course, tmp_path):
    # right on an all-ones input, wrong on the hidden ones
    wrong = "np.save('weights.npy', np.full((4, 2), 0.5))"
    _, statuses = grade(tiny_course, submit(tiny_course, tmp_path,
                                            {**RIGHT, "weights_answer": wrong}))
    assert statuses["weights"] == "failed"


def test_a_file_not_written_is_missing(tiny_course, tmp_path):
    unsaved = "W = np.kron(np.eye(2), np.ones((2, 1)))"
    result, statuses = grade(tiny_course, submit(tiny_course, tmp_path,
                                                 {**RIGHT, "weights_answer": unsaved}))
    assert statuses["weights"] == "missing" and result.score == 3
    assert "weights.npy was not written" in result.items[2].message


def test_an_exported_symlink_is_refused(tiny_course, tmp_path):
    link = ("import os\n"
            f"os.symlink({str(tiny_course / 'keys' / 'quiz_tiny.json')!r}, 'weights.npy')")
    _, statuses = grade(tiny_course, submit(tiny_course, tmp_path,
                                            {**RIGHT, "weights_answer": link}))
    assert statuses["weights"] == "failed"


def test_an_exported_pickle_is_never_unpickled(tiny_course, tmp_path):
    marker = tmp_path / "unpickled"
    payload = ("import os, pickle\n"
               "class Payload:\n"
               "    def __reduce__(self):\n"
               f"        return (os.system, ('touch {marker}',))\n"
               "np.save('weights.npy', np.array([Payload()], dtype=object), allow_pickle=True)")
    result, statuses = grade(tiny_course, submit(tiny_course, tmp_path,
                                                 {**RIGHT, "weights_answer": payload}))
    assert statuses["weights"] == "failed" and not marker.exists()
    assert "could not be evaluated (ValueError)" in result.items[2].message


def test_an_export_reached_through_a_linked_folder_is_refused(tiny_course, tmp_path):
    from dlcourse.grading.run.exports import resolve
    from dlcourse.grading.run.records import Record

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "weights.npy").write_bytes(b"not from the student")
    (scratch / "export").symlink_to(outside)
    record = Record("weights_file", None, None, 1e-6, 0.0, file="export/weights.npy",
                    evaluator="weights_file")
    [resolved] = resolve([record], scratch=scratch, quiz_dir=tiny_course / "quizzes/quiz_tiny")
    assert resolved.problem == "export/weights.npy is reached through a symbolic link"
