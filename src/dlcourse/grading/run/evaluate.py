"""The child process of :mod:`.exports`: load an evaluator, run it on one file.

    python -m dlcourse.grading.run.evaluate EXPORTS_PY EVALUATOR INPUT RESULT_JSON

Writes ``{"value": <encoded>}``, ``{"refused": "<reason>"}`` or
``{"error": "<type>: <message>"}`` to RESULT_JSON. An evaluator refuses a file
by raising :class:`Refused` with a reason written for the student ("the
weights are in a separate file; the task asks for one file"): that reason is
shown in feedback. Any other exception shows only as its type, since its text
may quote hidden inputs. Anything the evaluator prints is ignored: ONNX Runtime and
TensorFlow write to stderr, and the verdict must not depend on it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from ...protocol import values


class Refused(ValueError):
    """Raised by an evaluator in ``quizzes/<quiz>/exports.py``: the file does not
    meet the task, for the reason given (shown to the student)."""


MAX_REASON_CHARACTERS = 300


def main(argv: list[str]) -> int:
    exports_py, evaluator, exported, result = argv
    # Run as ``-m``, this file is ``__main__``, whose Refused nobody raises: evaluators
    # import the one of ``dlcourse.grading.run.evaluate``.
    from dlcourse.grading.run.evaluate import Refused as refused_by_evaluator

    try:
        spec = importlib.util.spec_from_file_location("quiz_exports", exports_py)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        function = getattr(module, evaluator)
        document = {"value": values.encode(function(Path(exported)))}
    except refused_by_evaluator as refusal:
        document = {"refused": str(refusal)[:MAX_REASON_CHARACTERS]}
    except Exception as error:  # the student's file may break the evaluator in any way
        document = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
    Path(result).write_text(json.dumps(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
