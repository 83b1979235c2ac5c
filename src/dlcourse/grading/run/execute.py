"""Run a notebook in a Jupyter kernel cell by cell, within time and output limits.

Used both to record the key from the instructor's solution and to run a
submission. Errors do not stop the run (every later item still gets its
chance); each cell gets an outcome saying whether it ran, raised, timed out,
or never ran because the kernel died or the notebook's time was up.

The kernel runs with ``DLCOURSE_CHECK_MODE=record`` in ``workdir``, so
``check`` only records and the comparison happens in the grader; ``environment``
adds variables (grading sets nbgrader's ``NBGRADER_EXECUTION``, as ``nbgrader
autograde`` and Validate set it). Whether a cell raised is read from the kernel's
execute reply, as nbgrader's ``Execute`` reads it, not only from its error outputs:
a submission that silences IPython's traceback display (the "showtraceback
exploit") still has its cell's error counted, and the error is written into the
cell's outputs where the kernel sent none. With a
sandbox (the default for grading), the kernel runs under bubblewrap
(:mod:`.sandbox`) and talks to the grader over IPC sockets in a runtime
folder of its scratch space: it has no network to reach a TCP port. Cells
that failed at a sandbox-wide ceiling (a full scratch space, the memory of
all its processes) say so in their outcome.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from ...checks import MIME_TYPE, MODE_VARIABLE, RECORD_ONLY
from ...config import option_default
from ..prepare import package_view
from ..prepare.settings import nbgrader_settings
from . import sandbox as sandboxing
from .scratch import size_text

#: Cell outcomes.
OK, ERROR, TIMEOUT, DEAD, NOT_RUN = "ok", "error", "timeout", "dead", "not_run"
KERNEL_NAME = "dlcourse-sandbox"


@dataclass(frozen=True)
class Limits:
    """Limits of one run; defaults come from ``c.Grading`` in the course config.

    ``sandbox`` is ``None`` to run the kernel unsandboxed, as the grader's user.
    """

    cell_timeout: float = option_default("cell_timeout")
    notebook_timeout: float = option_default("notebook_timeout")
    startup_timeout: float = option_default("startup_timeout")
    kernel_name: str = option_default("kernel_name")
    max_output_bytes: int = option_default("max_output_bytes")
    sandbox: sandboxing.SandboxLimits | None = sandboxing.SandboxLimits()
    #: fork sandboxed kernels from a worker's warm process (:mod:`.warm`)
    warm_kernels: bool = option_default("warm_kernels")

    @classmethod
    def from_options(cls, options, *, sandbox: bool = True) -> Limits:
        return cls(options.cell_timeout, options.notebook_timeout, options.startup_timeout,
                   options.kernel_name, options.max_output_bytes,
                   sandboxing.SandboxLimits.from_options(options) if sandbox else None,
                   options.warm_kernels)

    @classmethod
    def for_course(cls, root: Path, *, sandbox: bool = True) -> Limits:
        """The limits of the course at ``root``: its ``c.Grading`` options, and nbgrader's
        ``c.Execute.timeout`` and ``startup_timeout`` where it sets them
        (:mod:`..prepare.settings`; a timeout of ``None`` leaves a cell the notebook's
        whole time). Raises :class:`..prepare.settings.SettingError` for a setting of
        nbgrader's that dlcourse cannot honour."""
        from ...config import grading_options

        limits = cls.from_options(grading_options(root), sandbox=sandbox)
        settings = nbgrader_settings(root)
        if settings.cell_timeout is not None:
            limits = replace(limits, cell_timeout=min(settings.cell_timeout,
                                                      limits.notebook_timeout))
        if settings.startup_timeout is not None:
            limits = replace(limits, startup_timeout=min(settings.startup_timeout,
                                                         limits.notebook_timeout))
        return limits


@dataclass(frozen=True)
class CellOutcome:
    index: int
    status: str
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0
    #: for an error: the frames of the traceback that lie in notebook cells, outermost
    #: first, as (execution count of the cell, line in that cell)
    frames: tuple[tuple[int, int], ...] = ()
    #: the cell's execution count in this run (cells are numbered as they run)
    execution_count: int | None = None


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CELL_FRAME = re.compile(r"Cell In\[(\d+)\], line (\d+)|File <tokenize>:(\d+)")


def traceback_frames(traceback: list[str], own_count: int | None = None
                     ) -> tuple[tuple[int, int], ...]:
    """The (execution count, line) of each traceback entry in a notebook cell (IPython's
    ``Cell In[3], line 5``), outermost first. An indentation error found while the cell
    was read (``File <tokenize>:5``) lies in the cell itself, ``own_count``."""
    text = _ANSI.sub("", "\n".join(str(line) for line in traceback or []))
    frames = []
    for count, line, tokenize_line in _CELL_FRAME.findall(text):
        if tokenize_line and own_count is not None:
            frames.append((own_count, int(tokenize_line)))
        elif count:
            frames.append((int(count), int(line)))
    return tuple(frames)


def _size(out) -> int:
    return len(json.dumps(out, default=str)) if out is not None else 0


class _Client(NotebookClient):
    """nbclient, noting timeouts, capping output, and starting a sandboxed kernel."""

    timed_out: bool = False
    output_budget: dict
    sandbox_setup: tuple | None = None
    #: the warm sandbox to fork the kernel from, and the kernel's environment
    warm = None
    warm_env: dict | None = None
    #: the content of each executed cell's execute reply, by cell index
    replies: dict

    async def _check_raise_for_error(self, cell, cell_index, exec_reply):
        if exec_reply is not None:
            self.replies[cell_index] = exec_reply.get("content", {})
        return await super()._check_raise_for_error(cell, cell_index, exec_reply)

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timed_out = True
        return await super()._async_handle_timeout(timeout, cell)

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        is_record = MIME_TYPE in content.get("data", {})
        used = self.output_budget.get(cell_index, 0)
        size = _size(content)
        if not is_record and used + size > self.max_output_bytes:
            if used <= self.max_output_bytes:  # say so once
                outs.append(nbformat.v4.new_output(
                    "stream", name="stderr",
                    text=f"[dlcourse: output over {self.max_output_bytes} bytes dropped]\n"))
                self.output_budget[cell_index] = self.max_output_bytes + 1
            return None
        self.output_budget[cell_index] = used + (0 if is_record else size)
        return super().output(outs, msg, display_id, cell_index)

    def create_kernel_manager(self):
        if self.sandbox_setup is None:
            return super().create_kernel_manager()
        from jupyter_client.kernelspec import KernelSpecManager

        runtime, kernel_dirs = self.sandbox_setup
        specs = KernelSpecManager(kernel_dirs=[str(kernel_dirs)], ensure_native_kernel=False)
        manager_class = self.kernel_manager_class
        if self.warm is not None:
            manager_class = _warm_manager_class(self.warm, self.warm_env)
        self.km = manager_class(
            kernel_name=KERNEL_NAME, kernel_spec_manager=specs, transport="ipc",
            ip=str(runtime / "ipc"), connection_file=str(runtime / "connection.json"),
            config=self.config)
        return self.km


def _warm_manager_class(warm, env: dict[str, str]):
    """A kernel manager whose kernel is forked by ``warm`` (a :class:`.warm.WarmSandbox`)
    with ``env``, where jupyter_client would launch the kernelspec's command: the
    connection file is written as for any kernel, and the forked kernel is watched and
    killed as a launched one would be."""
    from jupyter_client.manager import AsyncKernelManager

    class WarmKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            command, kw = await super()._async_pre_start_kernel(**kw)
            provisioner, manager = self.provisioner, self

            async def launch_kernel(cmd, **kwargs):
                process = warm.launch(connection_file=manager.connection_file, env=env)
                provisioner.process, provisioner.pid, provisioner.pgid = process, process.pid, None
                return provisioner.connection_info

            provisioner.launch_kernel = launch_kernel
            return command, kw

        # jupyter_client before 8 starts a kernel through this name
        pre_start_kernel = _async_pre_start_kernel

    return WarmKernelManager


def _write_kernelspec(sandbox: sandboxing.Sandbox | None, kernels: Path,
                      extra: dict[str, str] | None = None) -> None:
    """Write the sandboxed kernel's spec into the kernel folder ``kernels``; without a
    ``sandbox``, the spec of a kernel that is forked (:func:`_warm_manager_class`),
    whose command, if it were ever launched, would only fail."""
    if sandbox is None:
        argv = [sys.executable, "-c", "raise SystemExit('a warm kernel is forked, never "
                "launched')", "{connection_file}"]
    else:
        env = {**sandbox.environment(), **(extra or {}), MODE_VARIABLE: RECORD_ONLY}
        argv = sandbox.command(
            [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], env=env)
    folder = kernels / KERNEL_NAME
    folder.mkdir()
    # The kernel is interrupted by a message: a signal would reach bubblewrap, not Python.
    spec = {"argv": argv, "display_name": "dlcourse sandbox", "language": "python",
            "interrupt_mode": "message"}
    (folder / "kernel.json").write_text(json.dumps(spec))


#: What nbgrader sets while it autogrades (``nbgrader autograde``) and validates
#: (Validate): ``NBGRADER_EXECUTION`` is ``autograde`` or ``validate``.
EXECUTION_VARIABLE = "NBGRADER_EXECUTION"


def grading_environment(execution: str | None) -> dict[str, str]:
    """The variables nbgrader sets in a kernel it runs for ``execution`` (``"autograde"``
    or ``"validate"``; ``None``: none, as when a solution is run at release)."""
    if execution is None:
        return {}
    if execution not in ("autograde", "validate"):
        raise ValueError(f"unknown execution {execution!r}")
    extra = {EXECUTION_VARIABLE: execution}
    if execution == "validate":
        extra["NBGRADER_VALIDATING"] = "1"
    return extra


def kernel_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of an unsandboxed grading kernel: ours, checks in record-only mode,
    ``extra`` added (nbgrader's variables of a run that has none are dropped)."""
    env = {k: v for k, v in os.environ.items()
           if k not in (EXECUTION_VARIABLE, "NBGRADER_VALIDATING")}
    env.update(extra or {})
    env[MODE_VARIABLE] = RECORD_ONLY
    return env


def run(notebook: nbformat.NotebookNode, *, workdir: Path, limits: Limits,
        dlcourse_modules: tuple[str, ...] | None = None,
        environment: dict[str, str] | None = None, warm=None) -> list[CellOutcome]:
    """Execute the code cells of ``notebook`` in place; return one outcome per code cell.

    In a sandbox, ``workdir`` is best the working folder of an open scratch
    space (:func:`.sandbox.scratch_folder`): what the kernel writes there then
    counts against its ceiling. ``dlcourse_modules`` (a quiz's declared modules,
    :mod:`.package_view`) limits what of the ``dlcourse`` package the kernel
    can import; ``None`` shows the whole package. ``environment`` adds variables to
    the kernel's (:func:`grading_environment`). ``warm``, a :class:`.warm.WarmSandbox` in
    a session whose working folder is ``workdir``, forks the kernel in its sandbox
    (whose package view is already made) instead of starting one in a new sandbox.

    Raises :class:`.sandbox.SandboxUnavailable` if a sandbox is asked for and
    cannot be made.
    """
    client = _Client(
        notebook,
        timeout=int(limits.cell_timeout),  # an Integer trait: traitlets before 5.15 refuses floats
        startup_timeout=int(limits.startup_timeout),
        kernel_name=limits.kernel_name,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": "CellTimeout", "evalue": "the cell ran out of time",
                          "traceback": []},
        record_timing=False,
        resources={"metadata": {"path": str(workdir)}},
        # After the last cell nothing more is wanted from the kernel (its outputs are in),
        # and a graceful shutdown costs seconds per submission (benchmarks/profile_grading.py)
        shutdown_kernel="immediate",
    )
    client.output_budget = {}
    client.replies = {}
    client.max_output_bytes = limits.max_output_bytes
    if limits.sandbox is None:
        return _run_cells(client, notebook, limits, {"env": kernel_environment(environment)})
    if warm is not None:
        return _run_warm(client, notebook, limits, warm, environment)
    sandboxing.check_available()
    view = None
    if dlcourse_modules is not None:  # outside anything the kernel can write
        view = package_view.build_view(
            dlcourse_modules, Path(tempfile.mkdtemp(prefix="dlcourse-view-")) / "dlcourse")
    # Its console chatter is of no use to the grader.
    kernel_options = {"env": kernel_environment(environment), "stdout": subprocess.DEVNULL,
                      "stderr": subprocess.DEVNULL}
    # The kernel's spec lies outside anything the kernel can write.
    kernels = Path(tempfile.mkdtemp(prefix="dlcourse-kernels-"))
    try:
        with sandboxing.Sandbox(limits.sandbox, workdir=workdir, package_view=view) as sandbox:
            _write_kernelspec(sandbox, kernels, environment)
            client.sandbox_setup = (sandbox.runtime, kernels)
            outcomes = _run_cells(client, notebook, limits, kernel_options)
            return _explain_ceilings(outcomes, sandbox.out_of_memory(), limits.sandbox)
    finally:
        shutil.rmtree(kernels, ignore_errors=True)
        if view is not None:
            shutil.rmtree(view.parent, ignore_errors=True)


def _run_warm(client: _Client, notebook, limits: Limits, warm,
              environment: dict[str, str] | None) -> list[CellOutcome]:
    kernels = Path(tempfile.mkdtemp(prefix="dlcourse-kernels-"))
    try:
        _write_kernelspec(None, kernels)  # the manager reads a spec
        client.sandbox_setup = (warm.runtime, kernels)
        client.warm = warm
        client.warm_env = {**warm.sandbox.environment(), **(environment or {}),
                           MODE_VARIABLE: RECORD_ONLY}
        outcomes = _run_cells(client, notebook, limits, {})
        return _explain_ceilings(outcomes, warm.out_of_memory(), limits.sandbox)
    finally:
        shutil.rmtree(kernels, ignore_errors=True)


_NO_SPACE = "No space left on device"


def _reply_error(cell, reply: dict | None) -> dict | None:
    """The error a cell raised: the kernel's execute reply says whether it raised (as
    nbgrader's ``Execute.on_cell_executed`` reads it), the error output says where.

    Where the reply has an error and no error output of that type was sent (IPython's
    ``showtraceback`` replaced or removed by the student's code), the reply's error is
    appended to the cell's outputs, as nbgrader appends it, and is the cell's error.
    An error output without an error reply still counts (nbgrader's ``determine_grade``
    zeroes a cell with an error output).
    """
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    if reply is not None and reply.get("status") == "error":
        ename = str(reply.get("ename", "") or "")
        same = next((o for o in errors if str(o.get("ename", "")) == ename), None)
        if same is not None:
            return same
        traceback = [str(line) for line in reply.get("traceback") or []] or [
            "ERROR: An error occurred while showtraceback was disabled"]
        output = nbformat.v4.new_output("error", ename=ename or "Error",
                                        evalue=str(reply.get("evalue", "") or ""),
                                        traceback=traceback)
        cell.outputs.append(output)
        return output
    return errors[0] if errors else None


def _explain_ceilings(outcomes: list[CellOutcome], out_of_memory: bool,
                      limits: sandboxing.SandboxLimits) -> list[CellOutcome]:
    """Say in the outcomes of cells that failed for it that a sandbox-wide ceiling was hit.

    Messages show an error's type, never its text (a student's code chooses
    that text), so the ceiling goes into the type's place. In a sandbox
    everything writable is in the scratch space, so a full device is its ceiling
    (of bytes or of files), even if the submission has since deleted what it wrote.
    """
    explained = []
    for outcome in outcomes:
        if outcome.status == ERROR and _NO_SPACE in outcome.evalue:
            outcome = replace(outcome, ename=f"{outcome.ename} ({_NO_SPACE}: the scratch space "
                                              f"holds at most {size_text(limits.scratch_bytes)} "
                                              f"and {limits.scratch_files} files)")
        elif out_of_memory and outcome.status in (DEAD, NOT_RUN):
            outcome = replace(outcome, evalue=f"{outcome.evalue}: its processes used all the "
                                              f"{size_text(limits.total_memory_bytes)} of memory "
                                              "they may use together")
        explained.append(outcome)
    return explained


def _run_cells(client: _Client, notebook, limits: Limits, kernel_options) -> list[CellOutcome]:
    outcomes: list[CellOutcome] = []
    code_cells = [(i, c) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    deadline = time.monotonic() + limits.notebook_timeout
    with client.setup_kernel(**kernel_options):
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
            error = _reply_error(cell, client.replies.get(index))
            count = cell.get("execution_count")
            if error is not None:
                outcomes.append(CellOutcome(index, ERROR, str(error.get("ename", "")),
                                            str(error.get("evalue", "")), elapsed,
                                            traceback_frames(error.get("traceback", []), count),
                                            count))
            else:
                outcomes.append(CellOutcome(index, OK, seconds=elapsed, execution_count=count))
    return outcomes
