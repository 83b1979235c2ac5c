"""nbgrader as a person's JupyterLab on the hub sees it: the course, the exchange, Validate.

Students (and instructors, in their own servers) fetch and submit through the exchange;
a submission is readable by its author and the grader only (``dlcourse_hub.PrivateSubmit``,
in the class's environment). Validate runs the notebook as stock nbgrader does, except
that stderr never fails a cell (TensorFlow's ``E0000 ... cuInit`` line on a hub without
a GPU), and allows a cell as long as the course's grading does.
"""

import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "dlcourse"
c.Exchange.root = os.environ["DLCOURSE_EXCHANGE"]
c.ExchangeFactory.submit = "dlcourse_hub.PrivateSubmit"
c.Execute.timeout = 300  # the course's c.Grading.cell_timeout

from dlcourse.grading.validate import grade_on_validate  # noqa: E402

grade_on_validate()
