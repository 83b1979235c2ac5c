"""nbgrader's ``### AUTOTEST`` and ``### HASHED AUTOTEST`` test cells, and the release record.

In a test cell, ``### AUTOTEST a; b`` asks nbgrader to write the asserts itself:
``nbgrader generate_assignment`` runs the solution in a kernel (its
``InstantiateTests`` preprocessor), looks at each expression's type and value, and
writes asserts from the templates of ``autotests.yml`` (in the assignment's folder,
else the course root; the ``c.InstantiateTests`` settings say which file, which
delimiters and whether to salt hashes). ``HASHED`` compares a salted hash of the value
instead of the value. The gradebook then holds the expanded cells, which ``nbgrader
autograde`` runs.

dlcourse does the same with nbgrader's own preprocessor: ``dlcourse release`` expands
each such notebook (:func:`expand`) once, in a scratch copy of the assignment's folder,
and keeps the expanded test cells in the **release record**, beside the key and as
private as it (:func:`record_path`: the key directory, mode 0600), with a digest of each
cell's text in ``source/``. Grading runs the expanded cells
(:func:`.source.load_source` reads them back); a source changed since its release, or
never released, is refused with a message that says to run ``dlcourse release``.

The record also notes, per notebook, the keyed items whose solution failed its own
test at release (``unkeyed``): they have no key, and grading says why.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import nbformat

from ...files import write_atomically
from ...protocol.key import key_path

FORMAT = 1


class AutotestError(RuntimeError):
    """AUTOTEST cells that cannot be expanded, or a record that does not fit the source."""


def delimiter(config) -> str:
    """The autotest delimiter of the course (``c.InstantiateTests.autotest_delimiter``)."""
    from nbgrader.preprocessors import InstantiateTests

    return InstantiateTests(config=config).autotest_delimiter


def has_autotests(notebook, config) -> bool:
    """Whether nbgrader's ``InstantiateTests`` would expand ``notebook`` (as it decides:
    some code cell holds the delimiter)."""
    mark = delimiter(config)
    return any(cell.cell_type == "code" and mark in cell.source for cell in notebook.cells)


def autotest_lines(source: str, mark: str) -> bool:
    """Whether a cell's text has a line nbgrader expands: a comment holding the delimiter."""
    return any(mark in line and line.strip().startswith("#") for line in source.split("\n"))


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def expand(notebook: nbformat.NotebookNode, *, config, folder: Path, root: Path
           ) -> nbformat.NotebookNode:
    """A copy of ``notebook`` with its AUTOTEST cells expanded by nbgrader's
    ``InstantiateTests`` (the course's ``config``), in a kernel started in a scratch copy
    of the assignment's ``folder`` (the instructor's solution runs there, trusted and
    unsandboxed, as it runs at ``nbgrader generate_assignment``); ``autotests.yml`` is
    looked up in ``folder``, then in the course ``root``. Raises :class:`AutotestError`
    naming what failed."""
    from nbgrader.preprocessors import InstantiateTests

    expanded = copy.deepcopy(notebook)
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="dlcourse-autotest-") as scratch:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_symlink() or not path.is_file() or path.suffix == ".ipynb":
                continue
            (Path(scratch) / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, Path(scratch) / relative)
        os.chdir(root)  # InstantiateTests' second place for autotests.yml is the working folder
        try:
            expanded, _ = InstantiateTests(config=config).preprocess(
                expanded, {"metadata": {"path": scratch}})
        except FileNotFoundError as error:
            name = Path(error.filename or "").name or "autotests.yml"
            raise AutotestError(f"AUTOTEST cells but no {name} in {folder} or {root}") from None
        except Exception as error:  # nbgrader raises what the kernel or the templates raise
            what = getattr(error, "ename", "") or type(error).__name__
            value = getattr(error, "evalue", "") or str(error).strip().splitlines()[-1:] or ""
            if isinstance(value, list):
                value = value[0] if value else ""
            raise AutotestError(f"nbgrader could not expand the AUTOTEST cells ({what}: "
                                f"{value}); nbgrader generate_assignment fails the same way: "
                                "the solution must run without an error") from None
        finally:
            os.chdir(here)
    return expanded


def expanded_cells(source: nbformat.NotebookNode, expanded: nbformat.NotebookNode
                   ) -> dict[str, dict]:
    """The cells AUTOTEST changed, by grade id: the digest of the source's text and the
    expanded text."""
    changed = {}
    for before, after in zip(source.cells, expanded.cells, strict=True):
        grade_id = before.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if before.cell_type == "code" and before.source != after.source:
            if not grade_id:
                raise AutotestError("an AUTOTEST line in a cell without nbgrader's metadata")
            changed[grade_id] = {"digest": digest(before.source), "source": after.source}
    return changed


def record_path(root: Path, quiz: str) -> Path:
    """Where ``dlcourse release`` keeps the record of ``quiz``: beside its key."""
    key = key_path(quiz, root=root)
    return key.with_name(f"{key.stem}.release.json")


def write_record(path: Path, quiz: str, notebooks: dict[str, dict]) -> None:
    """Write the release record (``notebooks``: per notebook, ``autotests`` and
    ``unkeyed``), as private as the key."""
    document = {"format": FORMAT, "quiz": quiz, "notebooks": notebooks}
    write_atomically(path, json.dumps(document, indent=1, sort_keys=True) + "\n", mode=0o600)


def read_record(path: Path) -> dict[str, dict]:
    """The release record's notebooks (empty when there is none)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        raise AutotestError(f"the release record {path} cannot be read: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT or \
            not isinstance(document.get("notebooks"), dict):
        raise AutotestError(f"the release record {path} is malformed: run `dlcourse release`")
    return document["notebooks"]


def apply(notebook: nbformat.NotebookNode, cells: dict[str, dict], *, where: str,
          quiz: str, config) -> None:
    """Put the expanded text of each AUTOTEST cell into ``notebook`` (in place), or raise
    :class:`AutotestError` when the record is missing or was made from another text."""
    mark = delimiter(config)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or not autotest_lines(cell.source, mark):
            continue
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        entry = cells.get(grade_id) if grade_id else None
        if entry is None or entry.get("digest") != digest(cell.source) or \
                not isinstance(entry.get("source"), str):
            state = "was never expanded" if entry is None else "changed since it was expanded"
            raise AutotestError(f"{where}: the AUTOTEST cell {grade_id or index!r} {state}: "
                                f"run `dlcourse release {quiz}` (it expands AUTOTEST cells "
                                "by running the solution, as nbgrader generate_assignment does)")
        cell.source = entry["source"]
