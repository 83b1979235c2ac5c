"""``dlcourse similarity``: pairs of students whose answers look copied, as evidence to judge.

For every answer cell of a quiz, each student's answer is reduced to what a
copier cannot cheaply change, then fingerprinted as MOSS does:

1. **Normalise.** Code is read with Python's :mod:`tokenize` and :mod:`ast`:
   comments, docstrings, whitespace and layout go; names the answer binds
   (variables, functions, parameters) become one placeholder, while the names
   a copier cannot rename stay (keywords, builtins, the modules the quiz's
   set-up imports, attributes such as ``.amax``, keyword arguments such as
   ``axis=``); numbers and strings become placeholders too. Within every block,
   statements that do not depend on each other (neither reads or writes what
   the other writes) are put into one canonical order, so swapping independent
   lines changes nothing. Free-text answers are compared as lower-case words.
2. **Fingerprint.** Hashes of every ``k`` consecutive tokens, winnowed (the
   smallest hash of each window of ``window`` k-grams is kept; Schleimer,
   Wilkerson and Aiken, SIGMOD 2003): any passage of ``k + window - 1`` tokens
   two answers share yields a shared fingerprint, and there are few enough to
   compare a thousand students.
3. **Subtract what everyone has.** Every k-gram of the release (starter code,
   visible tests) and of the lessons (``notebooks/*.ipynb``) is dropped, and so
   is any passage held by more than ``max(10, common * students)`` students.
4. **Chance baseline.** A fingerprint held by ``df`` of the ``n`` students
   weighs ``log(1 + (n - 1) / (df - 1))``: a passage two students alone share
   says more than one five share. A random classmate holds it with
   probability ``(df - 1) / (n - 1)``, which gives the weight two answers
   would share by chance. A cell's score is ``(shared - expected) / (smaller
   answer - expected)`` in weight: 0 at chance, 1 when one answer is contained
   in the other. A cell scoring at least ``cell_threshold`` (with at least
   ``min_shared`` shared fingerprints) is a *shared cell*. A pair's score is
   the same ratio summed over all answer cells, so that a short answer two
   people wrote alike weighs little against everything else they wrote; each
   cell's share of it is capped at the weight of ``saturation`` fingerprints
   that only the two of them hold (``saturation * log(n)``), so that one long
   answer (a paragraph of free text) neither drowns what the rest of the quiz
   shows nor makes up for it: copying shows in many cells at once, and two
   honest students who wrote a few short answers alike (the quiz's boilerplate,
   the few ways there are to write them) share in fewer.

Pairs are ranked by score (so those at or above ``threshold`` come first), then
by shared cells. The HTML page shows the pairs
at or above ``threshold`` side by side with the shared lines marked. It is
evidence for a person to judge, never a verdict: short correct answers and
common idioms do coincide, and the page says so.

Answers are read from ``submitted/<student>/<quiz>/<quiz>.ipynb`` (no grading
needed); a code cell a student added after an answer cell counts with it. For a quiz
whose numbers differ by student, the graded values that fit another student's variant
are listed first, as strong evidence (:mod:`.variant_matches`: that needs autograde).
"""

from __future__ import annotations

import ast
import bisect
import builtins
import heapq
import html
import io
import json
import keyword
import math
import re
import tokenize
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from ...config import find_course_root, validate_identifier
from ...files import write_atomically
from ...notebooks import without_magics
from .variant_matches import VariantMatch, variant_matches

CODE, TEXT = "code", "text"
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENDMARKER, tokenize.ENCODING}
_BARRIERS = (ast.Return, ast.Raise, ast.Break, ast.Continue, ast.Global, ast.Nonlocal)
_EFFECT = "<effects>"  # a pseudo-name: statements with side effects keep their order
_WORD = re.compile(r"[a-z0-9]+")
#: the most of one answer compared (an answer cell padded with megabytes is cut)
MAX_ANSWER_CHARACTERS = 100_000


class NothingToCompare(ValueError):
    """No submission of the quiz (``dlcourse similarity`` says so and exits 1)."""


@dataclass(frozen=True)
class Token:
    text: str  # normalised
    line: int  # in the original answer, 1-based


# ---------------------------------------------------------------- normalisation


def _raw_tokens(code: str) -> list[tokenize.TokenInfo]:
    tokens = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type not in _SKIPPED:
                tokens.append(tok)
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass  # an unfinished answer: compare what could be read
    return tokens


def _normalise(tokens: list[tokenize.TokenInfo], kept: frozenset[str]) -> list[str]:
    """Each token as a copier cannot change it (see the module's docstring)."""
    out, depth = [], 0
    for index, tok in enumerate(tokens):
        text = tok.string
        if tok.type == tokenize.NAME:
            previous = tokens[index - 1].string if index else ""
            following = tokens[index + 1].string if index + 1 < len(tokens) else ""
            if not (keyword.iskeyword(text) or keyword.issoftkeyword(text) or text in kept
                    or previous == "." or (depth and following == "=")):
                text = "V"
        elif tok.type == tokenize.NUMBER:
            text = "N"
        elif tok.type == tokenize.STRING or tok.type == getattr(tokenize, "FSTRING_START", -1):
            text = "S"
        elif tok.type == tokenize.OP:
            depth += text in "([{"
            depth -= text in ")]}" and depth > 0
        out.append(text)
    return out


class _Statements:
    """Canonical order of one parsed answer's tokens: independent statements sorted."""

    def __init__(self, code: str, tokens: list[tokenize.TokenInfo], normal: list[str]):
        self.lines = code.split("\n")
        self.tokens, self.normal = tokens, normal
        self.starts = [tok.start for tok in tokens]

    def _position(self, line: int, byte_col: int) -> tuple[int, int]:
        # ast counts columns in UTF-8 bytes, tokenize in characters
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return line, len(text.encode()[:byte_col].decode(errors="ignore"))

    def _span(self, node) -> range:
        first = min([node, *getattr(node, "decorator_list", [])], key=lambda n: (n.lineno,
                                                                                n.col_offset))
        start = self._position(first.lineno, first.col_offset)
        end = self._position(node.end_lineno, node.end_col_offset)
        return range(bisect.bisect_left(self.starts, start), bisect.bisect_left(self.starts, end))

    def block(self, statements: list[ast.stmt]) -> list[int]:
        """The token indices of a block, its independent statements in canonical order."""
        parts = [self.statement(s) for s in statements
                 if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
                         and isinstance(s.value.value, str))]  # docstrings
        kept = [s for s in statements if not (isinstance(s, ast.Expr) and isinstance(
            s.value, ast.Constant) and isinstance(s.value.value, str))]
        effects = [_effects(s) for s in kept]
        after: list[set[int]] = [set() for _ in kept]  # j in after[i]: j must follow i
        waiting = [0] * len(kept)
        for j, (reads_j, writes_j, barrier_j) in enumerate(effects):
            for i in range(j):
                reads_i, writes_i, barrier_i = effects[i]
                if (barrier_i or barrier_j or writes_i & (reads_j | writes_j)
                        or reads_i & writes_j):
                    after[i].add(j)
                    waiting[j] += 1
        keys = [" ".join(self.normal[t] for t in part) for part in parts]
        ready = [(keys[j], j) for j in range(len(kept)) if not waiting[j]]
        heapq.heapify(ready)
        order: list[int] = []
        while ready:
            _, i = heapq.heappop(ready)
            order.extend(parts[i])
            for j in after[i]:
                waiting[j] -= 1
                if not waiting[j]:
                    heapq.heappush(ready, (keys[j], j))
        return order

    def statement(self, node: ast.stmt) -> list[int]:
        blocks = []
        for name, value in ast.iter_fields(node):
            if name == "decorator_list" or not isinstance(value, list) or not value:
                continue
            if isinstance(value[0], ast.stmt):
                blocks.append(value)
            elif isinstance(value[0], (ast.excepthandler, ast.match_case)):
                blocks.extend(v.body for v in value)
        inner = {t for b in blocks for s in b for t in self._span(s)}
        items = [(t, [t]) for t in self._span(node) if t not in inner]
        items += [(self._span(b[0]).start, self.block(b)) for b in blocks]
        return [t for _, part in sorted(items, key=lambda item: item[0]) for t in part]


def _root_name(node) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Starred)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _jumps(node) -> bool:
    """Whether control can leave the block at ``node`` (a return, raise, break, yield...)."""
    if isinstance(node, (*_BARRIERS, ast.Yield, ast.YieldFrom, ast.Await)):
        return True
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
        return False  # what happens inside a definition happens when it is called
    return any(_jumps(child) for child in ast.iter_child_nodes(node))


def _effects(node: ast.stmt) -> tuple[set[str], set[str], bool]:
    """Names a statement reads and writes, and whether nothing may move across it."""
    reads, writes = set(), set()
    barrier = _jumps(node)
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name):
            (reads if isinstance(sub.ctx, ast.Load) else writes).add(sub.id)
        elif isinstance(sub, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            writes.add(sub.name)
        elif isinstance(sub, ast.alias):
            writes.add((sub.asname or sub.name).split(".")[0])
        elif isinstance(sub, (ast.Attribute, ast.Subscript)) and not isinstance(sub.ctx, ast.Load):
            if (root := _root_name(sub)) is not None:
                writes.add(root)
        elif isinstance(sub, ast.Call):
            reads.add(_EFFECT)
            writes.add(_EFFECT) if isinstance(node, ast.Expr) else None
            if isinstance(sub.func, ast.Attribute) and (root := _root_name(sub.func)):
                if isinstance(node, ast.Expr):  # a bare method call may change its object
                    writes.add(root)
    if not isinstance(node, ast.Expr):
        reads.discard(_EFFECT)
    return reads, writes, barrier


def code_tokens(code: str, kept: frozenset[str] = frozenset()) -> list[Token]:
    """A code answer as normalised tokens, independent statements in canonical order."""
    code = without_magics(code)
    raw = _raw_tokens(code)
    normal = _normalise(raw, kept | _BUILTINS)
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        order = list(range(len(raw)))  # not Python (yet): the tokens in the order written
    else:
        order = _Statements(code, raw, normal).block(tree.body)
    return [Token(normal[i], raw[i].start[0]) for i in order]


def text_tokens(text: str) -> list[Token]:
    """A free-text answer as lower-case words."""
    return [Token(word, number) for number, line in enumerate(text.split("\n"), 1)
            for word in _WORD.findall(line.lower())]


_BUILTINS = frozenset(dir(builtins))


def bound_names(code: str) -> set[str]:
    """The names a piece of code binds at its top level (the quiz's set-up: ``np``, ``torch``)."""
    try:
        tree = ast.parse(without_magics(code))
    except SyntaxError:
        return set()
    names = set()
    for node in tree.body:
        names |= _effects(node)[1]
    return names - {_EFFECT}


# ---------------------------------------------------------------- fingerprints


def kgram_hashes(tokens: list[Token], k: int) -> list[int]:
    """A stable 32-bit hash of each run of ``k`` tokens."""
    texts = [t.text.encode() for t in tokens]
    return [zlib.crc32(b"\x00".join(texts[i:i + k])) for i in range(len(texts) - k + 1)]


def winnow(hashes: list[int], window: int) -> dict[int, list[int]]:
    """Robust winnowing: each hash kept, with the k-gram positions where it was selected."""
    selected: dict[int, list[int]] = defaultdict(list)
    if not hashes:
        return selected
    if len(hashes) <= window:
        position = min(range(len(hashes)), key=lambda i: (hashes[i], -i))
        selected[hashes[position]].append(position)
        return selected
    last = -1
    for start in range(len(hashes) - window + 1):
        frame = hashes[start:start + window]
        smallest = min(frame)
        position = start + max(i for i, h in enumerate(frame) if h == smallest)
        if position != last:
            selected[smallest].append(position)
            last = position
    return selected


@dataclass
class Answer:
    """One student's answer to one cell, fingerprinted."""

    source: str
    tokens: list[Token]
    prints: dict[int, list[int]]  # hash -> k-gram start positions

    def lines_of(self, hashes: set[int], k: int) -> set[int]:
        return {self.tokens[p + i].line for h in hashes for p in self.prints.get(h, ())
                for i in range(k) if p + i < len(self.tokens)}


# ---------------------------------------------------------------- comparison


@dataclass
class CellMatch:
    grade_id: str
    score: float  # 0 at chance, 1 when the smaller answer is inside the other
    shared: int  # fingerprints the two answers share
    expected: float  # the weight of fingerprints a random classmate would share
    lines_a: set[int] = field(default_factory=set)
    lines_b: set[int] = field(default_factory=set)


@dataclass
class Pair:
    a: str
    b: str
    score: float
    cells: list[CellMatch]  # the shared cells, best first

    @property
    def shared_cells(self) -> int:
        return len(self.cells)


@dataclass
class SimilarityReport:
    quiz: str
    students: list[str]
    cells: list[str]
    threshold: float
    pairs: list[Pair]  # every pair with a shared cell, ranked
    answers: dict[str, dict[str, Answer]]
    ignored: int  # k-grams of the release and the lessons
    html: Path | None = None  # the page, once written
    #: students whose graded values fit another student's variant (:mod:`.variant_matches`)
    variant_matches: list[VariantMatch] = field(default_factory=list)

    @property
    def above(self) -> list[Pair]:
        return [pair for pair in self.pairs if pair.score >= self.threshold]


def compare(answers: dict[str, dict[str, Answer]], cells: list[str], *, k: int,
            cell_threshold: float, min_shared: int, common: float,
            saturation: float = 10.0) -> list[Pair]:
    """Rank every pair of students with a shared cell (pure: fingerprints in, pairs out).

    A fingerprint held by ``df`` of ``n`` students weighs ``log(1 + (n - 1) / (df - 1))``
    (1 for the unshared): a passage two students alone share says more than one
    that five share. A random classmate holds it with probability ``(df - 1) / (n - 1)``,
    which gives each pair's weight expected by chance. A cell counts in a pair's score
    up to the weight of ``saturation`` fingerprints the two alone hold.
    """
    students = sorted(answers)
    n = len(students)
    cap = max(10, math.ceil(common * n))
    most = saturation * math.log(1 + max(1, n - 1))  # a cell's share of a pair's score
    weight: dict[str, dict[int, float]] = {}
    usable: dict[str, dict[str, set[int]]] = {}
    mass: dict[str, dict[str, tuple[float, float]]] = {}  # (weight, expected shared weight)
    candidates: dict[tuple[str, str], set[str]] = defaultdict(set)
    for cell in cells:
        holders: dict[int, list[str]] = defaultdict(list)
        for student in students:
            answer = answers[student].get(cell)
            for h in (answer.prints if answer else ()):
                holders[h].append(student)
        rare = {h: who for h, who in holders.items() if len(who) <= cap}
        weight[cell] = {h: math.log(1 + (n - 1) / max(1, len(who) - 1)) for h, who in rare.items()}
        usable[cell] = {s: {h for h in answers[s][cell].prints if h in rare}
                        for s in students if cell in answers[s]}
        mass[cell] = {s: (sum(weight[cell][h] for h in prints),
                          sum(weight[cell][h] * (len(rare[h]) - 1) / max(1, n - 1)
                              for h in prints))
                      for s, prints in usable[cell].items()}
        counts: dict[tuple[str, str], int] = defaultdict(int)
        for who in rare.values():
            for i, a in enumerate(who):
                for b in who[i + 1:]:
                    counts[a, b] += 1
        for pair, shared in counts.items():
            if shared >= min_shared:
                candidates[pair].add(cell)

    pairs = []
    for (a, b), shared_in in candidates.items():
        matches, excess, room = [], 0.0, 0.0
        for cell in cells:
            if a not in mass[cell] or b not in mass[cell]:
                continue
            (mass_a, chance_a), (mass_b, chance_b) = mass[cell][a], mass[cell][b]
            smaller = min(mass_a, mass_b)
            expected = min(smaller, (chance_a + chance_b) / 2)
            cell_room = min(most, max(0.0, smaller - expected))
            room += cell_room
            if cell not in shared_in:
                continue
            common_prints = usable[cell][a] & usable[cell][b]
            observed = sum(weight[cell][h] for h in common_prints)
            excess += min(cell_room, max(0.0, observed - expected))
            score = (max(0.0, min(1.0, (observed - expected) / (smaller - expected)))
                     if smaller > expected else 0.0)
            if score >= cell_threshold:
                matches.append(CellMatch(cell, score, len(common_prints), expected,
                                         answers[a][cell].lines_of(common_prints, k),
                                         answers[b][cell].lines_of(common_prints, k)))
        if matches:
            matches.sort(key=lambda m: -m.score)
            pairs.append(Pair(a, b, excess / room if room else 0.0, matches))
    return pairs


# ---------------------------------------------------------------- reading a course


def _cells_of(path: Path) -> list[dict]:
    """A notebook's cells, read as plain JSON (fast; nbformat validation is not needed here)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return []
    cells = document.get("cells") if isinstance(document, dict) else None
    out = []
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        if isinstance(source, str):
            out.append({"cell_type": cell.get("cell_type"), "source": source,
                        "metadata": cell.get("metadata") if isinstance(cell.get("metadata"),
                                                                       dict) else {}})
    return out


def submitted_answers(notebook: Path, answer_kinds: dict[str, str]) -> dict[str, str]:
    """The text of each answer cell of a submission, by grade id (added code cells included)."""
    from ..prepare.source import nbgrader_meta

    answers: dict[str, list[str]] = {}
    anchor = None
    for cell in _cells_of(notebook):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answer_kinds and grade_id not in answers:
            answers[grade_id] = [cell["source"]]
            anchor = grade_id
        elif grade_id is not None:
            anchor = None
        elif (cell["cell_type"] == "code" and anchor is not None
              and answer_kinds[anchor] == CODE):
            answers[anchor].append(cell["source"])
    return {grade_id: "\n".join(parts)[:MAX_ANSWER_CHARACTERS]
            for grade_id, parts in answers.items()}


def _tokens(kind: str, text: str, kept: frozenset[str]) -> list[Token]:
    return code_tokens(text, kept) if kind == CODE else text_tokens(text)


def similarity(quiz: str, *, root: str | Path | None = None, threshold: float = 0.5,
               html: str | Path | None = None, top: int = 20, k: int = 7, window: int = 4,
               cell_threshold: float = 0.5, min_shared: int = 3,
               common: float = 0.05, saturation: float = 10.0) -> SimilarityReport:
    """Compare every pair of submissions of ``quiz``, cell by cell; write the HTML page.

    ``threshold`` is the pair score from which a pair is shown side by side;
    ``html`` the page (default ``autograded/similarity-<quiz>.html``, with the
    instructor's files); ``top`` the most pairs shown. ``k``, ``window``,
    ``cell_threshold``, ``min_shared``, ``common`` and ``saturation`` tune the fingerprints
    (see the module's docstring). Raises :class:`NothingToCompare` when the
    quiz has no submission.
    """
    from ..prepare.source import is_answer, load_source, nbgrader_meta

    root = Path(root) if root else find_course_root()
    validate_identifier(quiz, "quiz id")
    source = load_source(root, quiz)
    kinds = {nbgrader_meta(c)["grade_id"]: (CODE if c.cell_type == "code" else TEXT)
             for c in source.notebook.cells if is_answer(c)}
    cells = [grade_id for grade_id in source.answer_ids if grade_id in kinds]
    kept = frozenset().union(*(bound_names(c.source) for c in source.notebook.cells
                               if c.cell_type == "code" and not is_answer(c)))
    notebooks = sorted((root / "submitted").glob(f"*/{quiz}/{quiz}.ipynb"))
    if not notebooks:
        raise NothingToCompare(f"no submission of {quiz} under {root / 'submitted'}; "
                               "collect them first (nbgrader collect)")

    ignored: dict[str, set[int]] = {CODE: set(), TEXT: set()}
    starters = [root / "release" / quiz / f"{quiz}.ipynb", *sorted(root.glob("notebooks/*.ipynb"))]
    for notebook in starters:
        for cell in _cells_of(notebook):
            kind = CODE if cell["cell_type"] == "code" else TEXT
            ignored[kind].update(kgram_hashes(_tokens(kind, cell["source"], kept), k))

    answers: dict[str, dict[str, Answer]] = {}
    for notebook in notebooks:
        student = notebook.parents[1].name
        answers[student] = {}
        for grade_id, text in submitted_answers(notebook, kinds).items():
            tokens = _tokens(kinds[grade_id], text, kept)
            prints = {h: p for h, p in winnow(kgram_hashes(tokens, k), window).items()
                      if h not in ignored[kinds[grade_id]]}
            answers[student][grade_id] = Answer(text, tokens, prints)
    pairs = compare(answers, cells, k=k, cell_threshold=cell_threshold, min_shared=min_shared,
                    common=common, saturation=saturation)
    pairs.sort(key=lambda p: (-p.score, -p.shared_cells, p.a, p.b))
    result = SimilarityReport(quiz, sorted(answers), cells, threshold, pairs, answers,
                              len(ignored[CODE]) + len(ignored[TEXT]),
                              variant_matches=variant_matches(root, quiz))
    target = Path(html) if html else root / "autograded" / f"similarity-{quiz}.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(target, page(result, top=top))
    result.html = target
    return result


# ---------------------------------------------------------------- output

NOTICE = ("This page is evidence for a person to judge, not a verdict. Similar answers "
          "also come from short correct solutions, shared idioms, the lessons, working "
          "together where that is allowed, or chance. Read the answers side by side, and "
          "talk to the students, before concluding anything.")

VARIANTS = ("Each student's numbers in this quiz are their own. These values are wrong for "
            "the student's own numbers and right for a classmate's, on several items at once: "
            "what an answer worked out for the classmate's numbers gives. Strong evidence, "
            "still for a person to judge (working together on one variant looks the same).")

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 80rem; margin: 2rem auto;
       padding: 0 1rem; }}
table {{ border-collapse: collapse; }}
th, td {{ border-bottom: 1px solid #ddd; padding: .3rem .6rem; text-align: left;
          vertical-align: top; }}
.notice {{ background: #fff8e1; border-left: 4px solid #f0b400; padding: .6rem 1rem; }}
.side {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }}
pre {{ background: #f6f8fa; padding: .5rem; overflow-x: auto; font-size: 85%; margin: 0;
       white-space: pre-wrap; }}
mark {{ background: #ffe08a; }}
h3 {{ margin-bottom: .3rem; }}
</style></head><body>
<h1>{title}</h1>
<p class="notice"><b>Evidence, not a verdict.</b> {notice}</p>
<p>{summary}</p>
{table}
{details}
</body></html>
"""


def _marked(source: str, lines: set[int]) -> str:
    out = []
    for number, line in enumerate(source.split("\n"), 1):
        text = html.escape(line) or " "
        out.append(f"<mark>{text}</mark>" if number in lines else text)
    return "<pre>" + "\n".join(out) + "</pre>"


def page(result: SimilarityReport, *, top: int = 20) -> str:
    """The similarity page: the ranked pairs, then the pairs above the threshold side by side."""
    shown = result.pairs[:top]
    rows = "\n".join(
        f"<tr><td>{i}</td><td>{html.escape(p.a)}</td><td>{html.escape(p.b)}</td>"
        f"<td>{p.shared_cells}</td><td>{p.score:.2f}</td>"
        f"<td>{'yes' if p.score >= result.threshold else ''}</td>"
        f"<td>{html.escape(', '.join(m.grade_id for m in p.cells))}</td></tr>"
        for i, p in enumerate(shown, 1))
    table = ("<table><thead><tr><th>#</th><th>student</th><th>student</th><th>shared cells</th>"
             "<th>score</th><th>at or above threshold</th><th>cells</th></tr></thead>"
             f"<tbody>{rows}</tbody></table>" if shown else
             "<p>No pair of students shares an answer cell beyond chance.</p>")
    details = []
    for pair in [p for p in shown if p.score >= result.threshold]:
        details.append(f"<h2>{html.escape(pair.a)} and {html.escape(pair.b)}: "
                       f"{pair.shared_cells} shared cell(s), score {pair.score:.2f}</h2>")
        for match in pair.cells:
            a = result.answers[pair.a][match.grade_id]
            b = result.answers[pair.b][match.grade_id]
            details.append(
                f"<h3>{html.escape(match.grade_id)}: cell score {match.score:.2f} "
                f"({match.shared} shared fingerprints)"
                f"</h3><div class=\"side\"><div><b>{html.escape(pair.a)}</b>"
                f"{_marked(a.source, match.lines_a)}</div><div><b>{html.escape(pair.b)}</b>"
                f"{_marked(b.source, match.lines_b)}</div></div>")
    if result.variant_matches:
        rows = "\n".join(
            f"<tr><td>{html.escape(m.student)}</td><td>{html.escape(m.owner)}</td>"
            f"<td>{html.escape(', '.join(m.checks))}</td></tr>" for m in result.variant_matches)
        details.insert(0, f"<h2>Answers that fit another student's variant</h2><p>{VARIANTS}"
                          "</p><table><thead><tr><th>student</th><th>whose variant the values "
                          "fit</th><th>checks</th></tr></thead>"
                          f"<tbody>{rows}</tbody></table>")
    summary = (f"{len(result.students)} submissions, {len(result.cells)} answer cells; "
               f"{len(result.pairs)} pair(s) share at least one cell beyond chance, "
               f"{len(result.above)} at or above the threshold {result.threshold:g}. "
               "Marked lines hold passages the two answers share; code from the release and "
               "the lessons, and passages common to many students, are ignored.")
    return PAGE.format(title=html.escape(f"Similar answers in {result.quiz}"), notice=NOTICE,
                       summary=summary, table=table, details="\n".join(details))


def table(result: SimilarityReport, *, top: int = 20) -> str:
    """The ranked pairs as a terminal table."""
    lines = [f"{result.quiz}: {len(result.students)} submissions, {len(result.cells)} answer "
             f"cells, {len(result.above)} pair(s) at or above the threshold "
             f"{result.threshold:g}"]
    for match in result.variant_matches:
        lines.append(f"strong evidence: {match.student}'s values fit {match.owner}'s variant, "
                     f"not their own ({', '.join(match.checks)})")
    if not result.pairs:
        return "\n".join(lines + ["no pair shares an answer cell beyond chance"])
    width = max(7, *(len(p.a) for p in result.pairs[:top]), *(len(p.b) for p in result.pairs[:top]))
    lines.append(f"{'#':>3}  {'student':<{width}}  {'student':<{width}}  cells  score  shared")
    for i, p in enumerate(result.pairs[:top], 1):
        flag = "*" if p.score >= result.threshold else " "
        lines.append(f"{i:>3}  {p.a:<{width}}  {p.b:<{width}}  {p.shared_cells:>5}  "
                     f"{p.score:>5.2f}{flag} {', '.join(m.grade_id for m in p.cells)}")
    lines.append("* at or above the threshold. Evidence for a person to judge, not a verdict.")
    return "\n".join(lines)
