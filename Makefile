# The course's two everyday commands (see README.md):
#   make lab    create the environment if it is missing, then open the course in JupyterLab
#   make test   create the environment if it is missing, then run the whole test suite
# Other targets: make env, make release, make clean-notebooks, make lint, make site,
# make hub (the course on JupyterHub for a class: README.md, "Running a class").

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
# The environment is brought up to date when requirements.txt, pyproject.toml or
# this file change (pip installs nothing that is already there).
STAMP  := $(VENV)/.installed

.PHONY: lab test env release clean-notebooks lint site hub

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml Makefile deploy/jupyterhub/package-lock.json
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps --no-build-isolation -e .
	# nbgrader's Assignment List and Course List need an exchange folder (a shared
	# nbgrader hub set-up), which this course does not use; without one they only show
	# errors, so they are off in this environment. Validate, Create Assignment and
	# Formgrader stay on.
	$(BIN)/jupyter labextension disable --level=sys_prefix \
	    @jupyter/nbgrader:assignment-list @jupyter/nbgrader:course-list
	$(BIN)/jupyter server extension disable --sys-prefix \
	    nbgrader.server_extensions.assignment_list nbgrader.server_extensions.course_list
	# JupyterLab's announcements ask to fetch "official Jupyter news" and check for
	# updates over the network: an offline course has no use for either.
	$(BIN)/jupyter labextension disable --level=sys_prefix \
	    @jupyterlab/apputils-extension:announcements
	# JupyterHub's proxy, from the npm registry at set-up time (never at run time); only
	# `make hub` and its test use it, so a machine without npm skips it.
	if command -v npm >/dev/null; then \
	    npm ci --prefix deploy/jupyterhub --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: skipping JupyterHub's proxy (only make hub needs it)"; fi
	touch $(STAMP)

# Jupyter refuses to run as root unless told; containers often run as root.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# nbgrader's formgrader runs `alembic` by name: the environment's bin must be on PATH.
lab: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab $(LAB_ROOT) $(LAB_ARGS) \
	    --notebook-dir=. notebooks/01_frameworks.ipynb

test: $(STAMP)
	$(BIN)/python -m pytest

release: $(STAMP)
	$(BIN)/dlcourse release

clean-notebooks: $(STAMP)
	$(BIN)/python -m dlcourse.notebooks notebooks/*.ipynb source/*/*.ipynb quizzes/*/calibration/*.ipynb

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks website

# The course as a static website in build/site/ (open build/site/index.html): every lesson
# with its outputs, from the copies `make test` executed, or executed here if stale.
site: $(STAMP)
	$(BIN)/python -m website.build

# The course on JupyterHub, in the foreground (needs root: each person's server runs as
# their Unix user). Set-up and users first: README.md, "Running a class".
HUB_URL ?= http://127.0.0.1:8000
hub: $(STAMP)
	$(BIN)/python deploy/jupyterhub/hub.py setup
	$(BIN)/python deploy/jupyterhub/hub.py start --url $(HUB_URL)
