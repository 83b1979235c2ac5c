"""Per-student variants of a quiz: each student's own numbers, in one released notebook.

A quiz declares in its locked set-up cell the parameters that differ by student, as a
literal (so that ``dlcourse variant`` can read it without running anything)::

    from dlcourse.quiz import begin
    variant = begin("quiz07_production", dlcourse_modules=[], variant={
        "n_bins": ["integer", 5, 12],          # an integer, both ends included
        "shift": ["uniform", 0.5, 1.5, 2],     # a float, rounded to 2 decimals
        "threshold": ["choice", [0.1, 0.2]],   # one of these values
        "data_seed": ["seed"],                 # an integer seed for the item's data
    })

and its items use ``variant["n_bins"]`` and so on. Running the cell shows the student
their own parameters.

**Derived, never stored.** Each parameter comes from a generator seeded by an HMAC, keyed
by the course's secret, of the quiz, the student's id and the parameter's name: the same
student gets the same numbers on every run and every machine, another student other
numbers, and a parameter added later leaves the others as they were. Nothing per student
is written anywhere; the grader derives the submitter's parameters again from the id the
submission is filed under (:mod:`dlcourse.grading.variant_keys`).

**Who the student is** (:func:`student_id`): ``DLCOURSE_STUDENT`` where it is set (the
grader sets it to the submission's folder; in a course folder it is the README's setting),
else, under stock ``nbgrader autograde``, the folder it grades in, else JupyterHub's user
(``JUPYTERHUB_USER``), else the Unix user.

**The course's secret** (:func:`course_secret`): ``DLCOURSE_COURSE_SECRET``, else
:data:`DEFAULT_SECRET`. The student's own kernel derives its numbers, so the secret is
readable by the class: it makes one year's variants differ from another's, and is not a
password. What a student cannot do is change the numbers they are graded on: the key is
derived outside their kernel from the id nbgrader filed the submission under.
"""

from __future__ import annotations

import ast
import getpass
import hashlib
import hmac
import math
import os
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

STUDENT_VARIABLE = "DLCOURSE_STUDENT"
SECRET_VARIABLE = "DLCOURSE_COURSE_SECRET"
DEFAULT_SECRET = "dlcourse"
#: The kinds of parameter a quiz can declare, with the arguments each takes.
KINDS = {"integer": "low, high", "uniform": "low, high, decimals", "choice": "[options]",
         "seed": "nothing"}
SEED_LIMIT = 2**31 - 1


class VariantError(ValueError):
    """A quiz's variant declaration that cannot be drawn from."""


def student_id() -> str:
    """The id whose variant this process shows: ``DLCOURSE_STUDENT``; else, in a kernel
    that stock ``nbgrader autograde`` runs (``NBGRADER_EXECUTION=autograde``, in
    ``autograded/<student>/<quiz>/``), the student the submission is filed under; else
    JupyterHub's user; else the Unix user."""
    if os.environ.get(STUDENT_VARIABLE):
        return os.environ[STUDENT_VARIABLE]
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        here = Path.cwd()
        if here.parent.parent.name == "autograded" and here.parent.name:
            return here.parent.name
    if os.environ.get("JUPYTERHUB_USER"):
        return os.environ["JUPYTERHUB_USER"]
    try:
        return getpass.getuser()
    except Exception:  # no user name to be had (a container without one in /etc/passwd)
        return str(os.getuid()) if hasattr(os, "getuid") else "student"


def course_secret() -> str:
    """The course's secret: ``DLCOURSE_COURSE_SECRET``, else :data:`DEFAULT_SECRET`."""
    return os.environ.get(SECRET_VARIABLE) or DEFAULT_SECRET


def _generator(secret: str, quiz: str, student: str, name: str) -> random.Random:
    message = "\0".join((quiz, student, name)).encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def validate_spec(spec: Any, quiz: str = "the quiz") -> dict[str, list]:
    """``spec`` checked: a dict of parameter names to ``[kind, arguments...]`` as
    :data:`KINDS` lists them. Raises :class:`VariantError` naming the parameter."""
    if not isinstance(spec, dict):
        raise VariantError(f"{quiz}'s variant must be a dict of parameters, not "
                           f"{type(spec).__name__}")
    for name, declared in spec.items():
        where = f"{quiz}'s variant parameter {name!r}"
        if not isinstance(name, str) or not name.isidentifier():
            raise VariantError(f"{where}: a parameter's name must be an identifier")
        if not isinstance(declared, (list, tuple)) or not declared or \
                declared[0] not in KINDS:
            raise VariantError(f"{where}: declare it as [kind, ...] with kind one of "
                               f"{', '.join(KINDS)}")
        kind, arguments = declared[0], list(declared[1:])
        usage = f"{where}: {kind} takes {KINDS[kind]}"
        if kind == "integer" and not (len(arguments) == 2 and
                                      all(isinstance(a, int) and not isinstance(a, bool)
                                          for a in arguments) and
                                      arguments[0] < arguments[1]):
            raise VariantError(f"{usage} (integers, low < high)")
        if kind == "uniform" and not (len(arguments) == 3 and
                                      all(_is_number(a) for a in arguments[:2]) and
                                      arguments[0] < arguments[1] and
                                      isinstance(arguments[2], int) and arguments[2] >= 0):
            raise VariantError(f"{usage} (numbers, low < high, decimals >= 0)")
        if kind == "choice" and not (len(arguments) == 1 and
                                     isinstance(arguments[0], (list, tuple)) and
                                     len(set(map(repr, arguments[0]))) >= 2):
            raise VariantError(f"{usage} (at least two different options)")
        if kind == "seed" and arguments:
            raise VariantError(usage)
    return {name: list(declared) for name, declared in spec.items()}


def draw(spec: dict, *, quiz: str, student: str, secret: str | None = None) -> dict[str, Any]:
    """The parameters of ``student``'s variant of ``quiz``, in the order declared."""
    spec = validate_spec(spec, quiz)
    secret = course_secret() if secret is None else secret
    parameters = {}
    for name, (kind, *arguments) in spec.items():
        generator = _generator(secret, quiz, student, name)
        if kind == "integer":
            parameters[name] = generator.randint(arguments[0], arguments[1])
        elif kind == "uniform":
            low, high, decimals = arguments
            parameters[name] = round(generator.uniform(low, high), decimals)
        elif kind == "choice":
            parameters[name] = generator.choice(list(arguments[0]))
        else:
            parameters[name] = generator.randint(0, SEED_LIMIT)
    return parameters


class Variant(Mapping):
    """One student's parameters of a quiz, read like a dict: ``variant["n_bins"]``."""

    def __init__(self, quiz: str, student: str, parameters: dict[str, Any]):
        self.quiz, self.student, self.parameters = quiz, student, dict(parameters)

    def __getitem__(self, name: str) -> Any:
        try:
            return self.parameters[name]
        except KeyError:
            raise KeyError(f"{self.quiz}'s variant has no parameter {name!r} (it has: "
                           f"{', '.join(self.parameters)})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    def __repr__(self) -> str:
        return f"Variant({self.quiz!r}, {self.student!r}, {self.parameters!r})"

    def describe(self, whose: str = "Your") -> str:
        """What the student reads when the set-up cell runs (``whose="The"``: what
        ``dlcourse variant`` prints for the instructor)."""
        lines = [f"{whose} variant of {self.quiz} (student {self.student!r}): the items use "
                 "these numbers; another student's are different."]
        lines += [f"  {name} = {value!r}" for name, value in self.parameters.items()]
        return "\n".join(lines)


#: The quizzes whose set-up declared a variant in this process (:func:`dlcourse.quiz.begin`),
#: by quiz id: stock nbgrader's in-kernel comparison then needs the student's own key.
declared_here: dict[str, str] = {}


def variant(quiz: str, spec: dict, *, student: str | None = None,
            secret: str | None = None) -> Variant:
    """``student``'s variant of ``quiz`` (default: :func:`student_id`)."""
    student = student_id() if student is None else student
    return Variant(quiz, student, draw(spec, quiz=quiz, student=student, secret=secret))


def spec_of(cells_source: list[str], quiz: str = "the quiz") -> dict[str, list] | None:
    """The variant a quiz's code cells declare: the literal ``variant=`` of its call to
    ``begin``, or None where it declares none. Raises :class:`VariantError` for a
    declaration that is not a literal, or declared twice."""
    from .notebooks import without_magics  # the grader's and the CLI's, not the kernel's

    found = None
    for source in cells_source:
        try:
            tree = ast.parse(without_magics(source))
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and _called(node) == "begin"):
                continue
            for keyword in node.keywords:
                if keyword.arg != "variant":
                    continue
                if found is not None:
                    raise VariantError(f"{quiz} declares its variant twice")
                try:
                    found = ast.literal_eval(keyword.value)
                except ValueError:
                    raise VariantError(f"{quiz}'s variant must be written as a literal "
                                       "(numbers, strings, lists, a dict)") from None
    return None if found is None else validate_spec(found, quiz)


def _called(call: ast.Call) -> str:
    function = call.func
    if isinstance(function, ast.Attribute):
        return function.attr
    return function.id if isinstance(function, ast.Name) else ""
