"""The child process of :mod:`.exports`: load an evaluator, run it on one file.

    python -m dlcourse.grading.evaluate EXPORTS_PY EVALUATOR INPUT RESULT_JSON

Writes ``{"value": <encoded>}`` or ``{"error": "<type>: <message>"}`` to
RESULT_JSON. Anything the evaluator prints is ignored: ONNX Runtime and
TensorFlow write to stderr, and the verdict must not depend on it.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from . import values


def main(argv: list[str]) -> int:
    exports_py, evaluator, exported, result = argv
    try:
        spec = importlib.util.spec_from_file_location("quiz_exports", exports_py)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        function = getattr(module, evaluator)
        document = {"value": values.encode(function(Path(exported)))}
    except Exception as error:  # the student's file may break the evaluator in any way
        document = {"error": f"{type(error).__name__}: {str(error)[:300]}"}
    Path(result).write_text(json.dumps(document))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
