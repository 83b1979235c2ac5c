"""Run a notebook in a Jupyter kernel cell by cell, within time limits.

Used both to record the key from the instructor's solution and to run a
submission. Errors do not stop the run (every later item still gets its
chance); each cell gets an outcome saying whether it ran, raised, timed out,
or never ran because the kernel died or the notebook's time was up.

The kernel runs with ``DLCOURSE_CHECK_MODE=record`` in ``workdir``, so
``check`` only records and the comparison happens in the grader.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from ..checks import MODE_VARIABLE, RECORD_ONLY

#: Cell outcomes.
OK, ERROR, TIMEOUT, DEAD, NOT_RUN = "ok", "error", "timeout", "dead", "not_run"


@dataclass(frozen=True)
class Limits:
    """Time limits of one run; defaults come from ``c.Grading`` in the course config."""

    cell_timeout: float = 300.0
    notebook_timeout: float = 1200.0
    startup_timeout: float = 120.0
    kernel_name: str = "python3"

    @classmethod
    def from_options(cls, options) -> Limits:
        return cls(options.cell_timeout, options.notebook_timeout, options.startup_timeout,
                   options.kernel_name)


@dataclass(frozen=True)
class CellOutcome:
    index: int
    status: str
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0


class _Client(NotebookClient):
    """nbclient, noting which cell hit its time limit (nbclient only interrupts it)."""

    timed_out: bool = False

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)


def kernel_environment() -> dict[str, str]:
    """The environment of a grading kernel: ours, with checks in record-only mode."""
    env = dict(os.environ)
    env[MODE_VARIABLE] = RECORD_ONLY
    return env


def run(notebook: nbformat.NotebookNode, *, workdir: Path, limits: Limits) -> list[CellOutcome]:
    """Execute the code cells of ``notebook`` in place; return one outcome per code cell."""
    client = _Client(
        notebook,
        timeout=limits.cell_timeout,
        startup_timeout=int(limits.startup_timeout),
        kernel_name=limits.kernel_name,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeout", "evalue": "the cell ran out of time",
                          "traceback": []},
        record_timing=False,
        resources={"metadata": {"path": str(workdir)}},
    )
    outcomes: list[CellOutcome] = []
    code_cells = [(i, c) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    deadline = time.monotonic() + limits.notebook_timeout
    with client.setup_kernel(env=kernel_environment()):
        for position, (index, cell) in enumerate(code_cells):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                outcomes += [CellOutcome(i, TIMEOUT, "NotebookTimeout", "not run: time was up")
                             for i, _ in code_cells[position:]]
                break
            client.timeout = max(1, int(min(limits.cell_timeout, remaining)))
            client.timed_out = False
            started = time.monotonic()
            try:
                client.execute_cell(cell, index)
            except DeadKernelError:
                outcomes.append(CellOutcome(index, DEAD, "DeadKernelError", "the kernel died",
                                            time.monotonic() - started))
                outcomes += [CellOutcome(i, NOT_RUN, "DeadKernelError", "not run: the kernel died")
                             for i, _ in code_cells[position + 1:]]
                break
            elapsed = time.monotonic() - started
            if client.timed_out:
                outcomes.append(CellOutcome(index, TIMEOUT, "CellTimeout",
                                            f"stopped after {client.timeout} s", elapsed))
                continue
            error = next((o for o in cell.outputs if o.get("output_type") == "error"), None)
            if error is not None:
                outcomes.append(CellOutcome(index, ERROR, str(error.get("ename", "")),
                                            str(error.get("evalue", "")), elapsed))
            else:
                outcomes.append(CellOutcome(index, OK, seconds=elapsed))
    return outcomes
