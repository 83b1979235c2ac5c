"""An instructor's own nbgrader course, as nbgrader's documentation sets one up.

It knows nothing of dlcourse: no ``c.Grading``, so dlcourse's defaults apply.
"""

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "example_course"
c.CourseDirectory.db_url = "sqlite:///gradebook.db"
