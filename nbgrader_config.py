"""The course's one configuration file.

nbgrader reads it (``nbgrader generate_assignment``, ``autograde``,
``formgrader``), and so does dlcourse: the ``c.Grading`` options at the end are
documented in ``dlcourse.config.Grading``. Paths are relative to this folder,
the course root.
"""

from pathlib import Path

c = get_config()  # noqa: F821  (traitlets provides get_config when it runs this file)

c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
c.CourseDirectory.submitted_directory = "submitted"
c.CourseDirectory.autograded_directory = "autograded"
c.CourseDirectory.feedback_directory = "feedback"
# The gradebook: SQLite by default; any SQLAlchemy URL nbgrader accepts works. The file
# is named from this config's own folder, not the working directory: on JupyterHub an
# instructor's server runs from their home, and the formgrader must find the same file.
c.CourseDirectory.db_url = f"sqlite:///{Path(__file__).resolve().parent / 'gradebook.db'}"

# What a student sees where a solution was.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# dlcourse's grader.
c.Grading.key_directory = "keys"
c.Grading.cell_timeout = 300
c.Grading.notebook_timeout = 1200

# nbgrader's Validate (the toolbar button, `nbgrader validate`) grades a quiz of this
# course as `dlcourse autograde` will: hidden tests and key included, stderr ignored
# (dlcourse.grading.validate).
from dlcourse.grading.validate import grade_on_validate  # noqa: E402

grade_on_validate()
