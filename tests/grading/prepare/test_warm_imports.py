"""Which frameworks a warm worker imports, and which submissions may use it."""

import nbformat
import pytest

from dlcourse.grading.prepare.warm_imports import warm_modules, warm_usable


def notebook(*cells: str):
    return nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])


def test_the_source_s_fork_safe_imports_are_chosen_in_order():
    quiz = notebook("import os\nos.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')\n"
                    "os.environ['KERAS_BACKEND'] = 'tensorflow'\n"
                    "import numpy as np, torch\nimport keras\nfrom jax import numpy as jnp",
                    "import tensorflow as tf\nfrom dlcourse.checks import check")
    assert warm_modules(quiz) == ("numpy", "torch", "jax", "tensorflow")


def test_imports_after_a_variable_they_read_are_not_chosen():
    quiz = notebook("import numpy", "import os\nos.environ['OMP_NUM_THREADS'] = '1'",
                    "import torch")
    assert warm_modules(quiz) == ("numpy",)


@pytest.mark.parametrize("change", [
    "os.environ['JAX_ENABLE_X64'] = '1'",
    "os.environ.setdefault('OMP_NUM_THREADS', '1')",
    "os.environ.update({'MKL_NUM_THREADS': '1'})",
    "os.environ.update(settings)",
    "os.putenv('TF_ENABLE_ONEDNN_OPTS', '0')",
    "%env JAX_PLATFORMS=cpu",
    "environment = os.environ\nenvironment['X'] = '1'",
    "exec(code)",
    "del os.environ['TORCH_HOME']",
    "this cell does not parse (",
])
def test_a_submission_that_sets_what_an_import_reads_gets_a_cold_kernel(change):
    answer = notebook("import os", change, "import torch")
    assert not warm_usable(answer, ("torch",))


@pytest.mark.parametrize("harmless", [
    "os.environ['KERAS_BACKEND'] = 'torch'",
    "os.environ['XLA_FLAGS'] = os.environ.get('XLA_FLAGS', '') + ' --flag'",
    "os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')",
    "print(os.environ.get('HOME'), 'PATH' in os.environ)",
])
def test_variables_no_framework_reads_at_import_change_nothing(harmless):
    assert warm_usable(notebook("import os", harmless, "import torch"), ("torch",))


def test_a_change_after_the_last_warm_import_changes_nothing():
    answer = notebook("import os, torch", "os.environ['OMP_NUM_THREADS'] = '1'")
    assert warm_usable(answer, ("torch",))


def test_a_module_that_may_care_what_was_imported_before_ends_the_warm_ones():
    # TensorFlow imported before Triton crashes the process: quiz05 imports Triton first
    quiz = notebook("import sys, subprocess\nfrom dlcourse import checks",
                    "import numpy, torch\nimport triton\nimport tensorflow", "import torch")
    assert warm_modules(quiz) == ("numpy", "torch")
    assert warm_usable(quiz, ("numpy", "torch"))  # torch imported again: that does nothing


def test_a_submission_importing_another_module_before_a_warm_one_gets_a_cold_kernel():
    assert not warm_usable(notebook("import captum", "import numpy, torch"), ("torch",))
    assert warm_usable(notebook("import json, keras", "import torch"), ("torch",))
    assert warm_usable(notebook("import torch", "import captum"), ("torch",))
