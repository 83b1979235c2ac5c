# The course's two everyday commands (see README.md):
#   make lab    create the environment if it is missing, then open the course in JupyterLab
#   make test   create the environment if it is missing, then run the whole test suite
# Other targets: make env, make release, make clean-notebooks, make lint.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# The environment is rebuilt when requirements.txt or pyproject.toml change.
STAMP  := $(VENV)/.installed

.PHONY: lab test env release clean-notebooks lint

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Jupyter refuses to run as root unless told; containers often run as root.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(BIN)/jupyter lab $(LAB_ROOT) $(LAB_ARGS) --notebook-dir=. notebooks/01_frameworks.ipynb

test: $(STAMP)
	$(BIN)/python -m pytest

release: $(STAMP)
	$(BIN)/dlcourse release

clean-notebooks: $(STAMP)
	$(BIN)/python -m dlcourse.notebooks notebooks/*.ipynb source/*/*.ipynb quizzes/*/calibration/*.ipynb

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
