"""A minimal course for the grader's tests: one tiny NumPy-only quiz."""

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "tiny"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
c.Grading.cell_timeout = 10
c.Grading.notebook_timeout = 120
