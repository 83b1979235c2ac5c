"""nbgrader as the course's JupyterLab sees it (the service ``dlcourse``, as ``dlcourse-grader``).

The course folder, its id and the exchange; a release puts the due date beside the
notebooks (``dlcourse_hub.ReleaseWithDueDate``). The course's own settings (gradebook,
late penalties, dlcourse's grading options, Validate grading as autograde does) stay in
the course folder's ``nbgrader_config.py``, which nbgrader also reads there.
"""

import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "dlcourse"
c.CourseDirectory.root = os.environ["DLCOURSE_COURSE_ROOT"]
c.Exchange.root = os.environ["DLCOURSE_EXCHANGE"]
c.ExchangeFactory.release_assignment = "dlcourse_hub.ReleaseWithDueDate"
