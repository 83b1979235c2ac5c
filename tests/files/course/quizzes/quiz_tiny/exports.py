"""Evaluators of the tiny quiz's exported files (see dlcourse.grading.run.exports)."""

from pathlib import Path

import numpy as np


def weights_file(path: Path):
    """Apply the student's saved matrix to inputs the student has not seen."""
    weights = np.load(path, allow_pickle=False)  # never unpickle what a student made
    hidden = np.random.default_rng(3).normal(size=(5, 4))
    return hidden @ weights
