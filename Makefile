# The course's two everyday commands (see README.md):
#   make lab    create the environment if it is missing, then open the course in JupyterLab
#   make test   create the environments if they are missing, then run the whole test suite
#               in the locked environment, and every lesson and quiz calibration again in
#               the oldest one (Python 3.13, Colab's versions)
# Other targets: make env, make env-oldest, make test-locked, make test-oldest, make lock,
# make cuda, make release, make clean-notebooks, make lint, make site,
# make hub (the course on JupyterHub for a class: README.md, "Running a class").

# The newest supported Python that runs (3.13, then 3.12, then 3.11.5 or later), unless
# PYTHON=/path/to/python says which. Each candidate is run, not looked up: a pyenv shim
# stands on PATH for every version pyenv has, selected or not, and fails when run.
PYTHONS_TRIED := python3.13 python3.12 python3.11 python3
PYTHON ?= $(shell for p in $(PYTHONS_TRIED); do \
    $$p -c 'import sys; sys.exit(not (3, 11, 5) <= sys.version_info[:3] < (3, 14))' \
    >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV   := .venv
BIN    := $(VENV)/bin
# The environment is brought up to date when requirements.txt, pyproject.toml or
# this file change (pip installs nothing that is already there).
STAMP  := $(VENV)/.installed
# uv (from requirements.txt) never downloads a Python of its own here.
UV     := UV_PYTHON_DOWNLOADS=never $(BIN)/uv
# What the GPU builds replace (make cuda): every extra of requirements.txt, with `cuda`
# instead of `lessons`, exactly as locked.
UV_SYNC_CUDA := $(UV) sync --frozen --python $(BIN)/python --extra cuda --extra lab \
    --extra grader --extra hub --extra site --extra dev

# The second environment: Python 3.13 with every package at its lower bound, which is
# Colab's version (constraints/oldest.txt). Python 3.13 is a working python3.13 on PATH,
# else pyenv's or uv's 3.13, unless PYTHON_OLDEST=/path/to/python3.13 says which.
PYTHON_OLDEST ?= $(shell for p in python3.13 \
    $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.13*/bin/python3.13) \
    $(wildcard $(HOME)/.local/share/uv/python/cpython-3.13*/bin/python3.13); do \
    $$p -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' \
    >/dev/null 2>&1 && { echo $$p; break; }; done)
OLDEST       := .venv-oldest
OLDEST_STAMP := $(OLDEST)/.installed
# What the oldest environment runs: every lesson under nbval, every quiz's calibrations
# graded, and each lesson's Colab install beside Colab's packages. Its lessons' outputs
# are not kept: build/executed (the website's copies) stays what the locked environment ran.
OLDEST_TESTS := notebooks tests/test_quizzes.py tests/test_colab.py
# Validate's agreement with autograde is the grader's behaviour, tested once (locked run).
OLDEST_SKIP  := not validate_predicts and not prints_what_validate

.PHONY: lab test test-locked test-oldest env env-oldest lock cuda release clean-notebooks \
    lint site hub

env: $(STAMP)

$(STAMP): requirements.txt pyproject.toml Makefile deploy/jupyterhub/package-lock.json \
        deploy/browser/package-lock.json
	@test -x $(BIN)/python || test -n "$(PYTHON)" || { \
	    echo "No Python 3.11.5 to 3.13 found (tried $(PYTHONS_TRIED)):"; \
	    echo "install one, or run make PYTHON=/path/to/python3.13"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r requirements.txt
	$(BIN)/python -m pip install --no-deps --no-build-isolation -e .
	# After `make cuda`, the GPU builds stay (the CPU ONNX Runtime above goes again).
	if test -f $(VENV)/.cuda; then $(UV_SYNC_CUDA); fi
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
	# Lesson 05's page in the browser: ONNX Runtime Web from the npm registry at set-up
	# time (never at run time); without npm, the lesson's browser cells say so and skip.
	if command -v npm >/dev/null; then \
	    npm ci --prefix deploy/browser --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: skipping lesson 05's browser page (its cells skip without it)"; fi
	touch $(STAMP)

env-oldest: $(OLDEST_STAMP)

$(OLDEST_STAMP): constraints/oldest.txt pyproject.toml Makefile | $(STAMP)
	@test -x $(OLDEST)/bin/python || test -n "$(PYTHON_OLDEST)" || { \
	    echo "No Python 3.13 found (a python3.13 that runs, pyenv's or uv's): make test"; \
	    echo "runs the lessons again on Python 3.13 with Colab's versions. Install Python"; \
	    echo "3.13, or run make PYTHON_OLDEST=/path/to/python3.13 (make test-locked runs"; \
	    echo "the rest alone)."; exit 1; }
	test -x $(OLDEST)/bin/python || $(UV) venv --python $(PYTHON_OLDEST) $(OLDEST)
	$(UV) pip sync --python $(OLDEST)/bin/python constraints/oldest.txt
	$(UV) pip install --python $(OLDEST)/bin/python --no-deps -e .
	touch $(OLDEST_STAMP)

# Jupyter refuses to run as root unless told; containers often run as root.
LAB_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

# nbgrader's formgrader runs `alembic` by name: the environment's bin must be on PATH.
lab: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/jupyter lab $(LAB_ROOT) $(LAB_ARGS) \
	    --notebook-dir=. lessons/01_frameworks.ipynb

# Both runs at once, each to the end even when the other fails; make test fails when
# either does. Much of each run waits (kernels starting, sandboxes, servers), so the two
# together take far less than one after the other. The oldest run keeps its own temporary
# folder and writes to a log, printed after the locked run's output.
test: $(STAMP) $(OLDEST_STAMP)
	@locked=0; oldest=0; log=$$(mktemp); tmp=$$(mktemp -d); \
	TMPDIR=$$tmp $(MAKE) --no-print-directory test-oldest >$$log 2>&1 & pid=$$!; \
	$(MAKE) --no-print-directory test-locked || locked=$$?; \
	wait $$pid || oldest=$$?; \
	echo "==== make test-oldest (Python 3.13, Colab's versions), run alongside ===="; \
	cat $$log; rm -rf $$log $$tmp; \
	test $$locked = 0 || echo "make test: the locked environment's run FAILED (above)"; \
	test $$oldest = 0 || echo "make test: the oldest environment's run FAILED (above)"; \
	test $$locked = 0 && test $$oldest = 0

test-locked: $(STAMP)
	$(BIN)/python -m pytest

test-oldest: $(OLDEST_STAMP)
	$(OLDEST)/bin/python -m pytest -p no:dlcourse-lesson-outputs $(OLDEST_TESTS) \
	    -k "$(OLDEST_SKIP)"

# After editing pyproject.toml's dependencies: the universal lock, then the files made from
# it (requirements.txt, constraints/colab.txt, constraints/oldest.txt). Never edit those.
lock: $(STAMP)
	$(UV) lock
	$(BIN)/python constraints/lock.py

# Linux with an NVIDIA GPU: the GPU builds of every framework that has one for PyTorch's
# CUDA (the cuda extra instead of lessons), then the check that each takes the GPU.
cuda: $(STAMP)
	$(UV_SYNC_CUDA)
	touch $(VENV)/.cuda
	$(BIN)/python benchmarks/gpu_check.py

release: $(STAMP)
	$(BIN)/dlcourse release

clean-notebooks: $(STAMP)
	$(BIN)/python -m dlcourse.notebooks notebooks/*.ipynb source/*/*.ipynb quizzes/*/calibration/*.ipynb

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks website constraints

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
