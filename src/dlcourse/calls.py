"""``calls_to``: which library functions of given names a piece of code called.

A quiz that says "do not use a built-in softmax" has to grade it (DESIGN.md:
a quiz says nothing it does not grade). Its hidden test runs the student's
function inside ``calls_to`` and records what was called::

    ### BEGIN HIDDEN TESTS
    from dlcourse.calls import calls_to
    from dlcourse.checks import check
    with calls_to("softmax", "log_softmax", packages=("torch",)) as seen:
        out = softmax(hidden)
    check("softmax_builtin_free", seen.used, hint="the answer calls a built-in softmax")
    ### END HIDDEN TESTS

The key records ``[]`` (the solution calls none), so an answer that calls
one fails the check, however it reached the function: imported under another
name, bound as a method (``x.softmax(1)``), wrapped in a module
(``nn.Softmax``) or through another library layer (Keras calling
``tf.nn.softmax``). It works with :func:`sys.setprofile`, which sees every
Python and C function call of the thread that runs the block.

What it cannot do: code running in the same kernel can switch the profiler
off or replace this module; a replaced profiler is reported as the call
``"<profiler replaced>"``, but a student who rewrites the grading functions
themselves is outside what an in-kernel test can see (the README's "Grading
safely" says so; the graded notebook keeps their code for a person to read).
"""

from __future__ import annotations

import sys
from collections import Counter
from types import FrameType
from typing import Any

#: The libraries whose functions are watched unless a test names others.
FRAMEWORKS = ("torch", "tensorflow", "keras", "jax", "flax", "optax", "numpy", "scipy")
REPLACED = "<profiler replaced>"


def _package(name: str | None) -> str:
    return (name or "").split(".", 1)[0]


class calls_to:  # noqa: N801 (used as a context manager, like contextlib's)
    """Note each call, while the ``with`` block runs, to a function named one of
    ``names`` and defined in one of ``packages`` (top-level package names).

    A name matches a function's own name exactly or, unless ``exact``, as its
    last ``_`` part (``expit`` matches ``special_expit``). With ``direct``,
    only calls made from outside the watched packages count (the student's own
    code calling ``tape.gradient``, not TensorFlow calling it internally).
    :attr:`used` lists what was called, as ``module.function``, sorted and
    without repeats; :meth:`count` how often
    (a Hessian-vector product takes two ``gradient`` calls, forming the
    Hessian one per input).
    """

    def __init__(self, *names: str, packages: tuple[str, ...] = FRAMEWORKS,
                 exact: bool = False, direct: bool = False):
        if not names:
            raise ValueError("calls_to needs at least one function name")
        self.names = frozenset(names)
        self.packages = frozenset(packages)
        self.exact = exact
        self.direct = direct
        self._seen: Counter[str] = Counter()
        self._previous = None

    def _matches(self, name: str) -> bool:
        return name in self.names or (not self.exact and name.rsplit("_", 1)[-1] in self.names)

    def _from_outside(self, caller: FrameType | None) -> bool:
        if not self.direct:
            return True
        module = caller.f_globals.get("__name__", "") if caller is not None else ""
        return _package(module) not in self.packages

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            name = frame.f_code.co_name
            if self._matches(name) and self._from_outside(frame.f_back):
                module = frame.f_globals.get("__name__", "")
                if _package(module) in self.packages:
                    self._seen[f"{module}.{name}"] += 1
        elif event == "c_call":
            name = getattr(arg, "__name__", "") or ""
            if self._matches(name) and self._from_outside(frame):
                owner = getattr(arg, "__self__", None)
                candidates = (getattr(arg, "__module__", None), type(owner).__module__,
                              getattr(owner, "__name__", None))
                module = next((c for c in candidates
                               if isinstance(c, str) and c not in ("", "builtins")), "")
                if _package(module) in self.packages:
                    self._seen[f"{module}.{name}"] += 1

    def __enter__(self) -> calls_to:
        self._seen.clear()
        self._previous = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc_info) -> None:
        current = sys.getprofile()
        sys.setprofile(self._previous)
        # A bound method compares equal to another binding of the same method.
        if current != self._profile:
            self._seen[REPLACED] += 1

    @property
    def used(self) -> list[str]:
        """The watched functions that were called, sorted."""
        return sorted(self._seen)

    def count(self, name: str) -> int:
        """How many calls were made to watched functions named ``name`` (any module)."""
        return sum(n for called, n in self._seen.items() if called.rsplit(".", 1)[-1] == name)
