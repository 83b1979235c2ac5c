"""What nbgrader's Validate button answers for a notebook, computed as its handler does.

``ValidateAssignmentHandler.validate_notebook`` (nbgrader's server extension) loads the
nbgrader config of the server's working directory (the course root, under ``make lab``)
and the Jupyter config path, makes a ``Validator`` with it and validates the notebook.
:func:`validate_like_the_button` does the same in a process of its own, so a pool can
validate many notebooks as many button presses would.
"""

from __future__ import annotations

import os


def validate_like_the_button(notebook: str, course_root: str) -> dict:
    from jupyter_core.paths import jupyter_config_path
    from nbgrader.apps import NbGrader
    from nbgrader.validator import Validator

    os.chdir(course_root)  # the Jupyter server's working directory
    paths = jupyter_config_path()
    paths.insert(0, os.getcwd())
    app = NbGrader()
    app.config_file_paths.append(paths)
    app.load_config_file()
    return Validator(config=app.config).validate(notebook)
