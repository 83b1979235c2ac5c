"""The import graph of src/dlcourse: no cycle, and the grader's phases in order.

Imports inside functions count too. The grader's folders are the path of a submission
(``dlcourse/grading/__init__.py``): a module of a phase imports from its own phase or an
earlier one, never from a later one nor from a command (``grading.release``, ``.grade``,
``.autograde``, ``.validate``); the student's side (``checks``, ``calls``, ``protocol``) imports
nothing of the grader's but the stock-nbgrader path of ``checks.check_file``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import dlcourse

PACKAGE = Path(dlcourse.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, modules: set[str]) -> set[str]:
    """The dlcourse modules ``path`` imports anywhere in its code."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "dlcourse"}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                origin = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and node.module.split(".")[0] == "dlcourse":
                origin = node.module
            else:
                continue
            found.add(origin)
            found |= {f"{origin}.{a.name}" for a in node.names}
    return {m for m in found if m in modules and m != name}


def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    modules = set(files)
    # a package's __init__ is not an edge to everything below it
    return {name: {m for m in imports(path, modules) if not name.startswith(m + ".")}
            for name, path in files.items()}


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                found = visit(target)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(edges):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_the_cycle_finder_finds_a_cycle():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_relative_and_function_level_imports():
    edges = graph()
    assert "dlcourse.protocol.values" in edges["dlcourse.checks"]  # from .grading import values
    assert "dlcourse.grading.prepare.package_view" in edges["dlcourse.grading.run.execute"]


def test_dlcourse_has_no_import_cycle():
    found = cycle(graph())
    assert found is None, " -> ".join(found)


#: The grader's layers in the order a submission meets them; a module may import only
#: modules of its own layer or an earlier one.
PHASES = ["dlcourse.protocol", "dlcourse.grading.result", "dlcourse.grading.prepare",
          "dlcourse.grading.run", "dlcourse.grading.judge", "dlcourse.grading.store",
          "dlcourse.grading.reports"]
COMMANDS = ["dlcourse.grading.release", "dlcourse.grading.variant_keys",
            "dlcourse.grading.grade", "dlcourse.grading.autograde", "dlcourse.grading.validate"]
STUDENT_SIDE = ["dlcourse.checks", "dlcourse.calls", "dlcourse.protocol"]
#: The one way the student's side reaches the grader: under stock nbgrader (no grader to
#: evaluate an exported file), ``check_file`` evaluates it in the kernel.
STOCK_NBGRADER_PATH = {("dlcourse.checks", "dlcourse.grading.run.exports")}


def layer(module: str, layers: list[str]) -> int | None:
    for index, prefix in enumerate(layers):
        if module == prefix or module.startswith(prefix + "."):
            return index
    return None


def later_phase_imports(edges: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(edges.items()):
        own = layer(module, PHASES)
        if own is None:
            continue
        for target in sorted(targets):
            theirs = layer(target, PHASES)
            if (theirs is not None and theirs > own) or layer(target, COMMANDS) is not None:
                found.append(f"{module} imports {target}")
    return found


def test_the_phase_rule_catches_an_import_from_a_later_phase():
    edges = {"dlcourse.grading.run.execute": {"dlcourse.grading.judge.verdict"},
             "dlcourse.grading.judge.verdict": {"dlcourse.grading.run.records",
                                                "dlcourse.grading.grade"},
             "dlcourse.grading.prepare.source": {"dlcourse.grading.result"}}
    assert later_phase_imports(edges) == [
        "dlcourse.grading.judge.verdict imports dlcourse.grading.grade",
        "dlcourse.grading.run.execute imports dlcourse.grading.judge.verdict"]


def test_the_grader_is_laid_out_by_phase_and_no_module_imports_a_later_phase():
    edges = graph()
    grading = [m for m in edges if m.startswith("dlcourse.grading.")]
    unplaced = [m for m in grading if layer(m, PHASES) is None and layer(m, COMMANDS) is None]
    assert not unplaced, f"modules of the grader in no phase: {unplaced}"
    found = later_phase_imports(edges)
    assert not found, "imports from a later phase:\n" + "\n".join(found)


def test_the_student_side_imports_nothing_of_the_grader():
    edges = graph()
    found = [(module, target) for module, targets in edges.items()
             if layer(module, STUDENT_SIDE) is not None
             for target in targets if target.startswith("dlcourse.grading")]
    assert set(found) <= STOCK_NBGRADER_PATH, found
