"""Keep what nbval executes: each lesson, with its outputs, for the course's website.

nbval runs every code cell of a lesson in one kernel and keeps the outputs it received on
each cell item (``IPyNbCell.test_outputs``). This plugin (registered by tests/conftest.py)
collects them, and when the last cell of a lesson in ``notebooks/`` has run, writes the
lesson with those outputs to ``build/executed/`` (``website.build.save_executed``). The
website (``make site``, tests/test_site.py) is then built from them without executing the
lessons a second time. A lesson whose cells did not all run (``-x``, ``-k``, an interrupted
session) is not written.
"""

from __future__ import annotations

import copy

import nbformat
import pytest

from website.build import LESSON_DIR, save_executed

from .exercise_probes import is_probe

OUTPUT_FIELDS = {"stream": ("name", "text"), "display_data": ("data", "metadata"),
                 "execute_result": ("data", "metadata", "execution_count"),
                 "error": ("ename", "evalue", "traceback")}


def is_lesson_cell(item) -> bool:
    """A cell of a lesson as written (not a stub probe: tests/exercise_probes.py)."""
    path = getattr(item, "path", None)
    return (type(item).__name__ == "IPyNbCell" and path is not None
            and path.parent == LESSON_DIR and path.name[:2].isdigit() and not is_probe(item))


def as_output(output):
    """An nbval output (an iopub message's content) as a valid nbformat output."""
    fields = OUTPUT_FIELDS[output.output_type]
    node = nbformat.from_dict({"output_type": output.output_type,
                               **{key: copy.deepcopy(output[key]) for key in fields
                                  if key in output}})
    if node.output_type in ("display_data", "execute_result"):
        node.setdefault("metadata", {})
    if node.output_type == "execute_result":
        node.setdefault("execution_count", None)
    return node


class LessonOutputs:
    """A pytest plugin that writes each lesson nbval ran in full to build/executed/."""

    def __init__(self):
        self.outputs: dict[object, dict[int, list]] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_teardown(self, item, nextitem):
        if not is_lesson_cell(item):
            return
        lesson = item.parent
        ran = self.outputs.setdefault(lesson, {})
        ran[item.cell_num] = [as_output(output) for output in item.test_outputs or []
                              if output.output_type in OUTPUT_FIELDS]
        if nextitem is not None and nextitem.parent is lesson:
            return
        notebook = copy.deepcopy(lesson.nb)  # the cells nbval read and ran
        code_cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
        if len(ran) == len(code_cells):
            for number, cell in enumerate(code_cells):
                cell.outputs = ran[number]
                cell.execution_count = number + 1
            save_executed(lesson.path, notebook, "nbval")
        del self.outputs[lesson]
