"""The structure of a quiz's source notebook: its cells and its graded items.

nbgrader marks each cell in ``cell.metadata["nbgrader"]``. dlcourse reads:

- **answer cells** (``solution: true``): the student writes here; code cells
  hold code, markdown cells free text;
- **test cells** (code, ``grade: true, solution: false``): visible asserts and,
  between nbgrader's hidden-test markers, ``check(...)`` calls; each is one
  autograded item worth its ``points``;
- **manual items** (markdown, ``grade: true, solution: true``, or nbgrader
  ``task`` cells): free text graded by a person in the formgrader;
- **locked cells** (everything else): instructions and set-up, always taken
  from the source.

An assignment is ``source/<assignment>/`` with one or more notebooks (a quiz
of the course is one notebook named after it). Each notebook is one of two
kinds, decided by the source alone:

- a **keyed** notebook (some test cell calls ``check``): every test cell must
  hold hidden checks, and a verdict is reached by comparing the records with
  the key outside the kernel; every code cell carries nbgrader metadata;
- an **in-kernel** notebook (no test cell calls ``check``, as any existing
  nbgrader assignment is written): a test cell passes, as under stock
  nbgrader, when it raises nothing, with nbgrader's partial credit; code cells
  without metadata are the student's, as nbgrader treats them.

nbgrader's "manually graded answer" code cells (``grade: true, solution:
true``) are manual items, as in nbgrader.

What the student was given in each answer cell (:attr:`SourceQuiz.blank_answers`) is
the source's cell with nbgrader's own ``ClearSolutions`` applied, with the course's
settings (``c.ClearSolutions.code_stub``, ``text_stub``, the delimiters): an answer
left as released is "No response.", as nbgrader's checksum says it. Test cells with
``### AUTOTEST`` lines are replaced by their expansion from the release record
(:mod:`.autotest`). The notebook's kernel must be Python: dlcourse runs every
notebook in its own Python kernel (``c.Grading.kernel_name``), whatever kernel a
notebook names.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ...config import load_config, validate_identifier
from ..result import BY_PERSON, IN_KERNEL, KEYED
from . import autotest


class QuizError(ValueError):
    """A source notebook that dlcourse cannot grade with."""


@dataclass(frozen=True)
class Item:
    """One graded item: an autograded test cell or a manually graded cell."""

    grade_id: str
    points: float
    manual: bool
    cell_index: int
    #: grade ids of the answer cells this item grades: those since the
    #: previous test cell (nbgrader's answer-then-test layout); a test cell
    #: right after another test cell grades the same answers.
    answers: tuple[str, ...] = ()
    #: the question's title, from the markdown above it (:func:`title_above`)
    title: str = ""
    #: how its verdict is reached: :data:`.result.KEYED` (checks against the key),
    #: :data:`.result.IN_KERNEL` (stock nbgrader's rule) or :data:`.result.BY_PERSON`
    verdict: str = KEYED


@dataclass
class SourceQuiz:
    """One source notebook of an assignment (``quiz``), with its graded items."""

    quiz: str
    path: Path
    notebook: nbformat.NotebookNode
    items: list[Item] = field(default_factory=list)
    answer_ids: list[str] = field(default_factory=list)
    #: whether its test cells are keyed checks (else judged in the kernel)
    keyed: bool = True
    #: each answer cell's text in the student version (nbgrader's ClearSolutions), by
    #: grade id: an answer still holding it is "No response."
    blank_answers: dict[str, str] = field(default_factory=dict)
    #: whether its test cells were expanded from ``### AUTOTEST`` lines at release
    autotests: bool = False

    @property
    def name(self) -> str:
        """The notebook's name in the assignment (and in nbgrader's gradebook)."""
        return self.path.stem

    @property
    def autograded(self) -> list[Item]:
        return [item for item in self.items if not item.manual]

    @property
    def max_score(self) -> float:
        return sum(item.points for item in self.autograded)

    @property
    def manual_max_score(self) -> float:
        return sum(item.points for item in self.items if item.manual)


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def is_answer(cell) -> bool:
    return bool(nbgrader_meta(cell).get("solution"))


def is_test(cell) -> bool:
    meta = nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and not meta.get("solution")


MAX_TITLE_CHARACTERS = 80


def title_above(cells, index: int) -> str:
    """The title of the question whose cells start at ``index``: in the nearest
    markdown cell above that is not an answer, the last paragraph that starts
    with a heading or a bold lead (``**A1. Dtypes.**``), its first line without
    the markup, shortened to :data:`MAX_TITLE_CHARACTERS`."""
    for cell in reversed(cells[:index]):
        if cell.cell_type != "markdown" or is_answer(cell):
            continue
        paragraphs = [p.strip() for p in cell.source.split("\n\n") if p.strip()]
        leads = [p for p in paragraphs if p.startswith(("#", "**"))] or paragraphs[:1]
        if not leads:
            continue
        line = leads[-1].splitlines()[0].lstrip("#").strip().replace("**", "")
        if len(line) > MAX_TITLE_CHARACTERS:
            line = line[:MAX_TITLE_CHARACTERS - 1].rstrip() + "…"
        return line
    return ""


CHECK_CALL = re.compile(r"\bcheck(_file)?\s*\(")


def is_keyed(cells) -> bool:
    """Whether a notebook's test cells record keyed checks (some test cell calls ``check``)."""
    return any(is_test(cell) and CHECK_CALL.search(cell.source) for cell in cells)


def notebook_names(root: Path, quiz: str) -> list[str]:
    """The names of the source notebooks of assignment ``quiz``, sorted."""
    validate_identifier(quiz, "quiz id")
    return sorted(p.stem for p in (root / "source" / quiz).glob("*.ipynb") if p.is_file())


def source_path(root: Path, quiz: str, notebook: str | None = None) -> Path:
    """Where nbgrader keeps the instructor's version of a notebook of ``quiz``.

    Without ``notebook``: the notebook named after the quiz, or the
    assignment's only notebook when it has one under another name.
    """
    validate_identifier(quiz, "quiz id")
    folder = root / "source" / quiz
    if notebook is None:
        names = notebook_names(root, quiz) if folder.is_dir() else []
        notebook = names[0] if len(names) == 1 else quiz
    return folder / f"{validate_identifier(notebook, 'notebook name')}.ipynb"


def course_config(root: Path):
    """The course's nbgrader config; nbgrader's defaults for a folder without one."""
    from traitlets.config import Config

    return load_config(root) if (root / "nbgrader_config.py").is_file() else Config()


#: Kernel languages dlcourse grades (a notebook naming no kernel is taken as Python).
PYTHON = ("python", "python3")


def check_kernel(notebook, path: Path) -> None:
    """Refuse a notebook written for another language than Python (nbgrader would run it
    in that language's kernel; dlcourse runs every notebook in its own Python kernel)."""
    spec = notebook.metadata.get("kernelspec") or {}
    language = str(spec.get("language") or notebook.metadata.get("language_info", {}).get(
        "name") or "python").lower()
    if language not in PYTHON:
        raise QuizError(f"{path}: its kernel is {spec.get('name', '?')!r} (language "
                        f"{language!r}): dlcourse grades Python notebooks only, in its own "
                        "sandboxed kernel (c.Grading.kernel_name)")


def student_texts(notebook, config, path: Path) -> dict[str, str]:
    """Each answer cell's text as the student version has it, by grade id: nbgrader's
    ``ClearSolutions`` with the course's settings, as ``generate_assignment`` runs it."""
    from nbgrader.preprocessors import ClearSolutions

    cleared = nbformat.from_dict(copy.deepcopy(dict(notebook)))
    try:
        cleared, _ = ClearSolutions(config=config).preprocess(cleared, {})
    except (RuntimeError, ValueError) as error:
        raise QuizError(f"{path}: nbgrader cannot make its student version: {error}") from None
    return {nbgrader_meta(cell)["grade_id"]: cell.source for cell in cleared.cells
            if is_answer(cell) and isinstance(nbgrader_meta(cell).get("grade_id"), str)}


def load_assignment(root: Path, quiz: str) -> list[SourceQuiz]:
    """Every source notebook of assignment ``quiz``, read and validated, sorted by name."""
    names = notebook_names(root, quiz)
    if not names:
        raise QuizError(f"no source notebook for quiz {quiz!r} in {root / 'source' / quiz}")
    return [load_source(root, quiz, name) for name in names]


def load_source(root: Path, quiz: str, notebook: str | None = None, *,
                autotests: dict[str, dict] | None = None) -> SourceQuiz:
    """Read and validate one source notebook of ``quiz`` (see :func:`source_path`).

    Its AUTOTEST cells take their expansion from the release record, or from
    ``autotests`` (expanded cells by grade id, :func:`.autotest.expanded_cells`) when
    given: ``dlcourse release`` passes the cells it has just expanded."""
    path = source_path(root, quiz, notebook)
    if not path.is_file():
        others = notebook_names(root, quiz) if path.parent.is_dir() else []
        hint = f" (its notebooks: {', '.join(others)})" if others else ""
        raise QuizError(f"no source notebook for quiz {quiz!r} at {path}{hint}")
    notebook = nbformat.read(path, as_version=4)
    config = course_config(root)
    check_kernel(notebook, path)
    expanded = False
    if autotest.has_autotests(notebook, config):
        try:
            if autotests is None:
                record = autotest.read_record(autotest.record_path(root, quiz))
                autotests = record.get(path.stem, {}).get("autotests", {})
            autotest.apply(notebook, autotests, where=str(path), quiz=quiz, config=config)
        except autotest.AutotestError as error:
            raise QuizError(str(error)) from None
        expanded = True
    keyed = is_keyed(notebook.cells)
    parsed = SourceQuiz(quiz=quiz, path=path, notebook=notebook, keyed=keyed,
                        blank_answers=student_texts(notebook, config, path), autotests=expanded)
    seen: set[str] = set()
    pending_answers: list[str] = []
    graded_answers: tuple[str, ...] = ()
    first_answer_index: dict[str, int] = {}
    for index, cell in enumerate(notebook.cells):
        meta = nbgrader_meta(cell)
        if not meta:
            if cell.cell_type == "code" and keyed:
                raise QuizError(f"{path}: code cell {index} has no nbgrader metadata; "
                                "lock it (grade_id, locked: true) so the source version is run")
            continue
        grade_id = validate_identifier(meta.get("grade_id"), f"grade id of cell {index} in {path}")
        if grade_id in seen:
            raise QuizError(f"{path}: grade id {grade_id!r} is used twice")
        seen.add(grade_id)
        points = float(meta.get("points", 0) or 0)
        if is_answer(cell):
            parsed.answer_ids.append(grade_id)
            first_answer_index[grade_id] = index
            if meta.get("grade"):  # graded by hand: free text, or code a person reads
                parsed.items.append(Item(grade_id, points, True, index, (grade_id,),
                                         title_above(notebook.cells, index), BY_PERSON))
            else:
                pending_answers.append(grade_id)
        elif is_test(cell):
            if keyed and "### BEGIN HIDDEN TESTS" not in cell.source:
                raise QuizError(f"{path}: test cell {grade_id!r} has no hidden tests with checks")
            if pending_answers:
                graded_answers, pending_answers = tuple(pending_answers), []
            start = first_answer_index[graded_answers[0]] if graded_answers else index
            parsed.items.append(Item(grade_id, points, False, index, graded_answers,
                                     title_above(notebook.cells, start),
                                     KEYED if keyed else IN_KERNEL))
        elif meta.get("task"):
            parsed.items.append(Item(grade_id, points, True, index,
                                     title=title_above(notebook.cells, index + 1),
                                     verdict=BY_PERSON))
    return parsed
