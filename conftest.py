"""Plugins for every pytest run in this repository, whatever paths it is given.

``tests/conftest.py`` holds the fixtures of tests/; this file registers what must also
apply when only lessons are run (``pytest notebooks/03_training.ipynb``).
"""

from tests.exercise_probes import ExerciseProbes


def pytest_configure(config):
    config.pluginmanager.register(ExerciseProbes(), "dlcourse-exercise-probes")
