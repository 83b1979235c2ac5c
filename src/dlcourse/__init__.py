"""dlcourse: the helper package of the course, and the instructor's grader.

Lessons import what a second lesson needs from here, like d2l's ``d2l``
package::

    from dlcourse import data, devices, plotting, training

Importing ``dlcourse`` itself imports no deep-learning framework. Most helpers
import the framework they wrap when they are called; ``dlcourse.style`` (lesson
04's networks, plain ``nn.Module`` classes) imports PyTorch when it is imported.
"""

__version__ = "0.1.0"
