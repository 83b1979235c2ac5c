"""Which frameworks a grading worker may import before a submission's kernel starts.

A warm worker (:mod:`..run.warm`) imports a quiz's frameworks once and forks each
submission's kernel from that process, so a kernel finds them already imported.
That changes nothing a notebook can see, with one exception: a framework reads some
environment variables when it is imported (``OMP_NUM_THREADS``, ``JAX_ENABLE_X64``,
``TF_ENABLE_ONEDNN_OPTS``, ...), and a variable a notebook sets before its import
would come too late. So:

- :func:`warm_modules`: the modules of :data:`FORK_SAFE` that the quiz's source
  notebook imports first, before it sets a variable they read and before it imports
  anything else whose import might care what was imported before (not the standard
  library, the ``dlcourse`` package or Keras: :func:`_neutral`);
- :func:`warm_usable`: whether a submission (its assembled notebook, students' cells
  included) does either before its last import of one of those modules; if it does,
  that submission gets a cold kernel, as every submission did before.

Order matters: TensorFlow imported before Triton crashes the process (``python -c
"import tensorflow; import triton"``), so quiz05, which imports Triton first on
purpose, gets only NumPy and PyTorch warm.

The reading is static (Python's ``ast``, after IPython's own transformation of
magics): a change it cannot name (``os.environ.update(x)``, ``exec``, a cell that
does not parse, a cell magic) counts as a change of every variable. This keeps the
grade of an honest notebook what a cold kernel gives; a notebook bent on hiding a
change only changes how its own frameworks were set up.
"""

from __future__ import annotations

import ast
import sys

#: Modules a warm worker may import before a fork: each was checked to start no
#: Python thread, to hold nothing open for writing, and to run in forked children
#: (tests/grading/run/test_zygote.py). Not keras: it picks its backend from
#: ``KERAS_BACKEND`` when imported, which the quizzes set; not onnxruntime: its
#: import opens a database in the home folder for writing.
FORK_SAFE = ("numpy", "scipy", "pandas", "torch", "torchvision", "tensorflow", "jax",
             "sklearn", "matplotlib")

#: Prefixes of the environment variables the modules of :data:`FORK_SAFE` (or the
#: native libraries they load) read when imported. ``XLA_FLAGS`` is not among them:
#: XLA reads it when JAX or TensorFlow first starts a backend, after the import.
READ_AT_IMPORT = ("OPENBLAS", "GOTO", "OMP_", "MKL_", "KMP_", "NPY_", "NUMPY_", "SCIPY_",
                  "PANDAS_", "TORCH", "PYTORCH_", "CUDA", "NVIDIA_", "TF_", "JAX_", "SKLEARN_",
                  "MPL", "MATPLOTLIB", "LD_", "PYTHON", "HOME", "TMPDIR", "XDG_", "LANG",
                  "LC_")
#: Variables among those that change only what is logged to stderr, which never
#: changes a grade.
LOG_ONLY = ("TF_CPP_MIN_LOG_LEVEL", "TF_CPP_MAX_VLOG_LEVEL")

#: A change of a variable that cannot be named.
ANY = None

_ENVIRON_METHODS = ("setdefault", "update", "pop", "popitem", "clear", "__setitem__",
                    "__delitem__")


def _is_environ(node: ast.AST) -> bool:
    return ((isinstance(node, ast.Attribute) and node.attr == "environ")
            or (isinstance(node, ast.Name) and node.id == "environ"))


def _constant(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else ANY


def _changes(tree: ast.AST) -> list[str | None]:
    """The variables a piece of code may set or remove (:data:`ANY` where unnamed)."""
    changed: list[str | None] = []
    read_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Delete)):
            targets = node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
            for target in targets:
                if isinstance(target, ast.Subscript) and _is_environ(target.value):
                    changed.append(_constant(target.slice))
                    read_only.add(id(target.value))
        elif isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Attribute) and _is_environ(function.value):
                read_only.add(id(function.value))
                if function.attr in ("setdefault", "pop", "__setitem__", "__delitem__"):
                    changed.append(_constant(node.args[0]) if node.args else ANY)
                elif function.attr == "update" and not node.args:
                    changed += [k.arg for k in node.keywords]
                elif function.attr == "update" and isinstance(node.args[0], ast.Dict):
                    changed += [_constant(k) for k in node.args[0].keys]
                elif function.attr in _ENVIRON_METHODS:
                    changed.append(ANY)
            elif isinstance(function, ast.Attribute) and function.attr in ("putenv", "unsetenv"):
                changed.append(_constant(node.args[0]) if node.args else ANY)
            elif isinstance(function, ast.Name) and function.id in ("exec", "eval", "putenv",
                                                                     "unsetenv"):
                changed.append(ANY)
            elif isinstance(function, ast.Attribute) and function.attr in ("run_line_magic",
                                                                           "run_cell_magic"):
                magic = _constant(node.args[0]) if node.args else ANY
                if function.attr == "run_cell_magic" or magic in ("env", "set_env", ANY):
                    argument = _constant(node.args[1]) if len(node.args) > 1 else ANY
                    name = argument.replace("=", " ").split()[0] if argument else ANY
                    changed.append(name if function.attr == "run_line_magic" else ANY)
        elif isinstance(node, ast.Subscript) and _is_environ(node.value):
            read_only.add(id(node.value))  # os.environ[...] read
        elif isinstance(node, ast.Compare):
            read_only.update(id(c) for c in node.comparators if _is_environ(c))
    # os.environ read through .get, .keys, ... is fine; anywhere else (passed along,
    # aliased) it could be changed unseen
    reads = {id(node.value) for node in ast.walk(tree)
             if isinstance(node, ast.Attribute) and _is_environ(node.value)
             and node.attr in ("get", "keys", "items", "values", "copy")}
    changed += [ANY for node in ast.walk(tree)
                if _is_environ(node) and id(node) not in read_only | reads]
    return changed


def _reads_at_import(name: str | None) -> bool:
    if name is ANY:
        return True
    return name not in LOG_ONLY and name.startswith(READ_AT_IMPORT)


def _position(node: ast.AST) -> tuple[int, int]:
    return getattr(node, "lineno", 0), getattr(node, "col_offset", 0)


def _imports(tree: ast.AST) -> list[tuple[tuple[int, int], str]]:
    """Each top-level module imported, with where, in the order of the source."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(_position(node), alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((_position(node), node.module.split(".")[0]))
    return sorted(found)


def _parsed(source: str) -> ast.AST | None:
    from IPython.core.inputtransformer2 import TransformerManager

    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):
        return None


#: An event: an import of a module (its name), or a change of a variable read at import.
CHANGE = ""


def _events(notebook) -> list[str]:
    """What the code cells do that matters here, in order: each import (the module's
    name) and each change of a variable read at import (:data:`CHANGE`). A change
    counts from the start of its cell, before the cell's imports (a function that
    changes a variable counts where it is defined, before any call). A cell that does
    not parse imports nothing (it never runs) but counts as a change: IPython may read
    it otherwise."""
    events: list[str] = []
    for cell in notebook.cells:
        if cell.get("cell_type") != "code":
            continue
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        tree = _parsed(source)
        if tree is None:
            events.append(CHANGE)
            continue
        if any(_reads_at_import(name) for name in _changes(tree)):
            events.append(CHANGE)
        events += [name for _, name in _imports(tree)]
    return events


def _neutral(name: str) -> bool:
    """Whether importing ``name`` after the warm modules instead of before them changes
    nothing: the standard library, the course's own package, and Keras (which imports
    its backend, one of the warm modules, and reads ``KERAS_BACKEND`` when it is
    imported itself, in the kernel). Any other module might care: Triton, imported
    after TensorFlow, crashes the process."""
    return name in sys.stdlib_module_names or name in ("dlcourse", "keras", "__future__")


def warm_modules(source_notebook) -> tuple[str, ...]:
    """The modules of :data:`FORK_SAFE` a warm worker imports for this quiz: those its
    source notebook imports before its first change of a variable they read and
    before its first import of a module that is not :func:`_neutral`."""
    chosen: list[str] = []
    for event in _events(source_notebook):
        if event == CHANGE:
            break
        if event in FORK_SAFE:
            chosen.append(event)
        elif not _neutral(event):
            break
    return tuple(dict.fromkeys(chosen))


def warm_usable(notebook, modules: tuple[str, ...]) -> bool:
    """Whether ``notebook`` runs the same in a kernel that has ``modules`` imported
    already: up to the first import of the last of them, it changes no variable they read
    when imported and imports nothing else but :func:`_neutral` modules."""
    events = _events(notebook)
    # only a module's first import does anything
    last = max((events.index(name) for name in modules if name in events), default=-1)
    return all(event in modules or (event != CHANGE and _neutral(event))
               for event in events[:last + 1])
