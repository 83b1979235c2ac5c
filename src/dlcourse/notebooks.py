"""Keep notebooks clean: no outputs, no execution counts, no editor metadata.

Notebooks are committed clean (nbstripout's rule, enforced by
``tests/test_notebooks_clean.py``); nbgrader's cell metadata and nbval's cell
tags stay. Clean notebooks in place with::

    python -m dlcourse.notebooks notebooks/*.ipynb source/*/*.ipynb
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

from .files import write_atomically

#: Cell metadata that carries meaning: nbgrader's item marks and nbval's tags
#: (``raises-exception``, ``nbval-skip``). Everything else is editor state.
KEPT_CELL_METADATA = ("nbgrader", "tags")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
NBFORMAT_MINOR = 5


def without_magics(code: str) -> str:
    """A code cell's source with its IPython lines (``%timeit``, ``!pip``) as blank lines,
    so that Python can parse the rest (line numbers kept)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                     for line in code.split("\n"))


def clean(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return ``notebook`` cleaned in place (and also as the result)."""
    notebook.nbformat, notebook.nbformat_minor = 4, NBFORMAT_MINOR
    notebook.metadata = nbformat.from_dict({"kernelspec": dict(KERNELSPEC)})
    for cell in notebook.cells:
        cell.metadata = nbformat.from_dict(
            {name: cell.metadata[name] for name in KEPT_CELL_METADATA if name in cell.metadata}
        )
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if "attachments" in cell and not cell.attachments:
            del cell["attachments"]
    return notebook


def problems(notebook: nbformat.NotebookNode) -> list[str]:
    """Say what is not clean in ``notebook`` (an empty list if it is clean)."""
    found = []
    extra = set(notebook.metadata) - {"kernelspec"}
    if extra:
        found.append(f"notebook metadata {sorted(extra)}")
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code" and cell.get("outputs"):
            found.append(f"cell {index} has outputs")
        if cell.cell_type == "code" and cell.get("execution_count") is not None:
            found.append(f"cell {index} has an execution count")
        extra = set(cell.metadata) - set(KEPT_CELL_METADATA)
        if extra:
            found.append(f"cell {index} has editor metadata {sorted(extra)}")
    return found


def write(notebook: nbformat.NotebookNode, path: Path) -> None:
    """Write a notebook the one way the repository stores them (stable bytes).

    The file is replaced atomically, so a reader never sees half a notebook,
    and a read-only file (nbgrader writes its release read-only) is replaced too.
    """
    write_atomically(Path(path), nbformat.writes(notebook) + "\n")


def main(argv: list[str] | None = None) -> int:
    paths = argv if argv is not None else sys.argv[1:]
    for name in paths:
        path = Path(name)
        notebook = nbformat.read(path, as_version=4)
        write(clean(notebook), path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
