"""dlcourse: the helper package of the course, and the instructor's grader.

Lessons import what a second lesson needs from here, like d2l's ``d2l``
package::

    from dlcourse import data, devices, plotting, training

Importing ``dlcourse`` itself imports no deep-learning framework; each helper
imports the framework it wraps when it is called.
"""

__version__ = "0.1.0"
