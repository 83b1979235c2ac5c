"""nbgrader as an instructor's JupyterLab sees it: the course folder, its id, and the exchange.

The course's own settings (the gradebook, dlcourse's grading options) stay in the
course folder's ``nbgrader_config.py``, which nbgrader also reads there.
"""

import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.root = os.environ["DLCOURSE_COURSE_ROOT"]
c.Exchange.root = os.environ["DLCOURSE_EXCHANGE"]
