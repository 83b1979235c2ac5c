"""A minimal course for the grader's tests: one NumPy-only quiz whose numbers differ by student."""

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "varied"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.Grading.cell_timeout = 10
c.Grading.notebook_timeout = 120
