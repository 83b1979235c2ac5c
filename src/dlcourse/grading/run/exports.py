"""Evaluate files a submission exported, with instructor code, outside its kernel.

A hidden test's :func:`dlcourse.checks.check_file` records only a file name.
After the notebook has run, the grader:

1. takes the file (or folder, for a SavedModel) from the submission's scratch
   folder: regular files only, no symbolic links, at most
   :data:`MAX_EXPORT_BYTES` in all; anything else is refused;
2. copies it into a fresh private folder (a scratch space, within the same
   ceiling as the submission's, when sandboxed);
3. runs ``quizzes/<quiz>/exports.py``'s evaluator on the copy in a separate
   Python process (:mod:`.evaluate`) with a time limit and resource limits;
   the evaluator loads the file with its format's own loader (ONNX Runtime,
   ``torch.export.load``, the LiteRT interpreter), never with pickle;
4. reads back the value the evaluator returned, as plain JSON.

The value then becomes the check's value, compared with the key like any other.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from ...protocol import values
from . import sandbox as sandboxing
from .scratch import Scratch, size_text

MAX_EXPORT_BYTES = 512 * 1024 * 1024
EVALUATOR_TIMEOUT = 300.0
#: An address-space limit stops TensorFlow from loading at all; a data limit
#: does not, and still turns a runaway allocation into a MemoryError.
EVALUATOR_DATA_BYTES = 8 * 1024**3


@dataclass(frozen=True)
class Evaluation:
    encoded: dict | None = None
    problem: str | None = None
    missing: bool = False


def _collect(source: Path, target: Path) -> str | None:
    """Copy an exported file or folder; return why it is refused, or None."""
    if source.is_symlink():
        return f"{source.name} is a symbolic link, not a file the notebook wrote"
    if source.is_file():
        if source.stat().st_size > MAX_EXPORT_BYTES:
            return f"{source.name} is larger than {MAX_EXPORT_BYTES} bytes"
        shutil.copyfile(source, target)
        return None
    if not source.is_dir():
        return f"{source.name} is not a regular file or folder"
    total = 0
    for path in sorted(source.rglob("*")):
        if path.is_symlink():
            return f"{path.relative_to(source.parent)} is a symbolic link"
        if path.is_file():
            total += path.stat().st_size
            if total > MAX_EXPORT_BYTES:
                return f"{source.name} holds more than {MAX_EXPORT_BYTES} bytes"
            destination = target / path.relative_to(source)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
        elif path.is_dir():
            (target / path.relative_to(source)).mkdir(parents=True, exist_ok=True)
    target.mkdir(exist_ok=True)
    return None


def _limit_resources() -> None:  # runs in the child, before exec
    resource.setrlimit(resource.RLIMIT_DATA, (EVALUATOR_DATA_BYTES, EVALUATOR_DATA_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.setsid()


def evaluate(quiz_dir: Path, evaluator: str, exported: Path, *,
             timeout: float = EVALUATOR_TIMEOUT,
             sandbox_limits: sandboxing.SandboxLimits | None = None) -> Evaluation:
    """Evaluate the exported file or folder ``exported`` with ``evaluator`` of ``quiz_dir``.

    With ``sandbox_limits``, the evaluator runs in a sandbox of its own that
    sees the copy, the quiz's folder (read-only) and nothing else of the
    course, in a scratch space within the same ceiling as a submission's.
    """
    if not exported.exists() and not exported.is_symlink():
        return Evaluation(problem=f"{exported.name} was not written", missing=True)
    if not (quiz_dir / "exports.py").is_file():
        return Evaluation(problem=f"no evaluators at {quiz_dir / 'exports.py'}")
    with sandboxing.scratch_folder(sandbox_limits, prefix="dlcourse-export-") as private:
        if sandbox_limits is None:
            return _evaluate_copy(quiz_dir, evaluator, exported, private, timeout, None)
        with sandboxing.Sandbox(sandbox_limits, workdir=private,
                                readonly=[quiz_dir.resolve()]) as sandbox:
            return _evaluate_copy(quiz_dir, evaluator, exported, private, timeout, sandbox)


def _evaluate_copy(quiz_dir: Path, evaluator: str, exported: Path, private: Path,
                   timeout: float, sandbox: sandboxing.Sandbox | None) -> Evaluation:
    """Copy ``exported`` into ``private`` and evaluate the copy there (in ``sandbox``)."""
    copy = private / "input" / exported.name
    copy.parent.mkdir()
    try:
        refused = _collect(exported, copy)
    except OSError as error:  # past the scratch space's ceiling, most likely
        refused = f"{exported.name} could not be copied ({error.strerror or error})"
    if refused:
        return Evaluation(problem=refused)
    result = private / "result.json"
    command = [sys.executable, "-m", "dlcourse.grading.run.evaluate", str(quiz_dir / "exports.py"),
               evaluator, str(copy), str(result)]
    if sandbox is not None:
        command = sandbox.command(command, env=sandbox.environment())
    try:
        done = subprocess.run(command, cwd=private, capture_output=True, text=True,
                              timeout=timeout, preexec_fn=_limit_resources)
    except subprocess.TimeoutExpired:
        return Evaluation(problem=f"evaluating {exported.name} took over {timeout:g} s")
    try:
        document = json.loads(result.read_text())
    except (OSError, ValueError):
        tail = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return Evaluation(problem=f"the evaluator of {exported.name} failed ({tail[0][:200]})")
    if "refused" in document:  # the instructor's own words, written for the student
        return Evaluation(problem=f"{exported.name} was refused: {document['refused']}")
    if "error" in document:  # only the exception's type: its text may quote hidden inputs
        kind = str(document["error"]).split(":", 1)[0]
        return Evaluation(problem=f"{exported.name} could not be evaluated ({kind})")
    try:
        values.decode(document["value"])
    except (KeyError, values.ValueFormatError) as error:
        return Evaluation(problem=f"the evaluator returned a malformed value: {error}")
    return Evaluation(encoded=document["value"])


def resolve(records: list, *, scratch: Path, quiz_dir: Path,
            sandbox_limits: sandboxing.SandboxLimits | None = None) -> list:
    """Replace each file record by the value its evaluator returned (or a problem)."""
    resolved = []
    for record in records:
        if record.file is None or record.problem:
            resolved.append(record)
            continue
        exported = scratch / record.file
        if exported.parent.resolve() != scratch.resolve() / Path(record.file).parent:
            # a folder on the way is a link, perhaps to somewhere outside the sandbox
            outcome = Evaluation(problem=f"{record.file} is reached through a symbolic link")
        else:
            outcome = evaluate(quiz_dir, record.evaluator, exported,
                               sandbox_limits=sandbox_limits)
        if outcome.problem:
            problem = outcome.problem + _when_full(scratch)
            resolved.append(replace(record, problem=problem, missing=outcome.missing))
        else:
            resolved.append(replace(record, value=values.decode(outcome.encoded),
                                    encoded=outcome.encoded))
    return resolved


def _when_full(scratch: Path) -> str:
    """What to add to a file's problem when the scratch space it was written to is full:
    a file cut short by the ceiling fails to load, or is never written, for that reason."""
    space = Scratch.holding(scratch)
    if space is None or not space.is_full():
        return ""
    return (f"; the scratch space it was written to is full (it holds at most "
            f"{size_text(space.ceiling_bytes)})")
