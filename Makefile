# Two commands for a new user on a machine with Python 3 and make:
#   make test   install into .venv, then unit tests, notebook validation, browser test
#   make lab    install into .venv, then open JupyterLab on notebooks/
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Test runs keep Jupyter's, IPython's and matplotlib's state inside the venv, and the XDG
# folders and npm's cache with it, so they write nothing to ~ (no kernelspec, connection
# files, IPython profile, font cache, Chromium crash reports or npm logs): `make test`
# lists anything that changed there all the same.
TEST_HOME := $(abspath $(VENV))/test-home
test test-unit test-notebooks test-browser notebooks: export JUPYTER_PLATFORM_DIRS := 1
test test-unit test-notebooks test-browser notebooks: export JUPYTER_CONFIG_DIR := $(TEST_HOME)/jupyter-config
test test-unit test-notebooks test-browser notebooks: export JUPYTER_DATA_DIR := $(TEST_HOME)/jupyter-data
test test-unit test-notebooks test-browser notebooks: export JUPYTER_RUNTIME_DIR := $(TEST_HOME)/jupyter-runtime
test test-unit test-notebooks test-browser notebooks: export IPYTHONDIR := $(TEST_HOME)/ipython
test test-unit test-notebooks test-browser notebooks: export MPLCONFIGDIR := $(TEST_HOME)/matplotlib
test test-unit test-notebooks test-browser notebooks: export XDG_CONFIG_HOME := $(TEST_HOME)/config
test test-unit test-notebooks test-browser notebooks: export XDG_CACHE_HOME := $(TEST_HOME)/cache
test test-unit test-notebooks test-browser notebooks: export XDG_DATA_HOME := $(TEST_HOME)/data
# JupyterLab asks npm for its global prefix at start, and npm logs that under its cache.
test test-unit test-notebooks test-browser notebooks: export NPM_CONFIG_CACHE := $(TEST_HOME)/npm

NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))

# Small matrix products on 2 OpenBLAS threads stall when the other core is busy (pytest,
# a kernel, a browser): the tests and notebooks run on one BLAS thread. `make bench`
# measures both settings itself.
TEST_ENV := OPENBLAS_NUM_THREADS=1

.PHONY: lab test test-unit test-notebooks test-browser bench figures notebooks lm install clean

install: $(STAMP)

# Re-install only when the pins or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Jupyter refuses to serve as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(ROOT_FLAG)

# The parts in turn, stopping at the first that fails; then each part's time, and
# every file under ~ (outside this folder) that changed during the run, which should be
# none. Under CI (CI=true) such a file fails the run.
TEST_PARTS := unit notebooks browser homework
test: $(STAMP)
	@mkdir -p $(TEST_HOME) && touch $(TEST_HOME)/.test-started; rc=0; times=""; \
	for part in $(TEST_PARTS); do \
	  t0=$$(date +%s); $(MAKE) --no-print-directory test-$$part || rc=$$?; \
	  times="$$times, test-$$part $$(( $$(date +%s) - t0 )) s"; \
	  if [ $$rc != 0 ]; then times="$$times (failed)"; break; fi; \
	done; \
	echo "make test: $${times#, }"; \
	written=$$(find "$$HOME" -xdev -newer $(TEST_HOME)/.test-started -type f 2>/dev/null \
	  | grep -v -F "$(CURDIR)/" | head -20); \
	if [ -n "$$written" ]; then \
	  echo "make test: files under ~ changed during the run (tests must write nothing there):"; \
	  echo "$$written" | sed 's/^/  /'; \
	  if [ -n "$$CI" ] && [ $$rc = 0 ]; then rc=1; fi; \
	else echo "make test: nothing written under ~ ($$HOME)"; fi; \
	exit $$rc

# The unit part runs on both cores (pytest-xdist): one BLAS thread per worker. nbval is
# switched off there: importing it (through nbformat and jsonschema) costs each worker 2 s.
test-unit: $(STAMP)
	$(TEST_ENV) MPLBACKEND=Agg $(PY) -m pytest tests --ignore=tests/browser --ignore=tests/notebooks \
	  -n 2 --dist worksteal -q -p no:cacheprovider -p no:nbval

# nbval re-runs every notebook in a fresh kernel of this venv and compares the outputs
# of cells tagged nbval-check-output; tests/nbval_timing.py prints each notebook's run
# time. The kernel draws with the inline backend, as a student's does (no MPLBACKEND).
# tests/notebooks then re-runs each notebook's cells shuffled and reversed in one kernel and
# checks that the checked outputs do not move (a student re-runs cells in any order), two
# notebooks at a time.
# Without any notebook pytest would exit 5 ("no tests ran"): say so and pass instead.
test-notebooks: $(STAMP)
ifeq ($(NOTEBOOKS),)
	@echo "test-notebooks: notebooks/ holds no .ipynb yet: nothing to validate"
else
	$(TEST_ENV) $(PY) -m pytest $(NOTEBOOKS) --nbval-lax --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=120 \
	  -p tests.nbval_timing -p no:cacheprovider -W default -q --durations=4
	$(TEST_ENV) $(PY) -m pytest tests/notebooks -n 2 --dist load -p no:cacheprovider -q
endif

test-browser: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest tests/browser -p no:cacheprovider -rsP -q

# Homework (homework/README.md): otter-grader goes into .venv after the notebook stack, with
# requirements.txt as constraints, only for these targets. `make homework` builds the student
# notebooks, solutions and autograder bundles into build/homework (same masters, same bytes);
# `make grade SUBMISSIONS=dir` grades a folder into build/grades/gradebook.csv, offline, each
# submission in a bubblewrap sandbox (root and the Debian package bubblewrap needed; without
# them it refuses, unless GRADE_FLAGS=--unsafe for notebooks you trust).
.PHONY: homework grade test-homework
HOMEWORK_STAMP := $(VENV)/.homework-installed
HOMEWORK_MASTERS := $(sort $(wildcard homework/*/*.ipynb))
$(HOMEWORK_STAMP): $(STAMP) requirements-homework.txt requirements.txt
	$(PY) -m pip install --quiet -r requirements-homework.txt
	$(PY) -m pip check
	touch $(HOMEWORK_STAMP)
build/homework/SHA256SUMS: $(HOMEWORK_STAMP) $(HOMEWORK_MASTERS) tools/homework_build.py
	$(TEST_ENV) $(PY) tools/homework_build.py --out build/homework
homework: build/homework/SHA256SUMS
grade: build/homework/SHA256SUMS
	@test -n "$(SUBMISSIONS)" || { echo "make grade: expected SUBMISSIONS=<folder of submissions>"; exit 2; }
	$(TEST_ENV) $(PY) tools/grade.py "$(SUBMISSIONS)" --build build/homework --out build/grades $(GRADE_FLAGS)
test-homework: export HOMEWORK_TESTS := 1
test-homework: export JUPYTER_PLATFORM_DIRS := 1
test-homework: export JUPYTER_CONFIG_DIR := $(TEST_HOME)/jupyter-config
test-homework: export JUPYTER_DATA_DIR := $(TEST_HOME)/jupyter-data
test-homework: export JUPYTER_RUNTIME_DIR := $(TEST_HOME)/jupyter-runtime
test-homework: export IPYTHONDIR := $(TEST_HOME)/ipython
test-homework: export MPLCONFIGDIR := $(TEST_HOME)/matplotlib
test-homework: export XDG_CONFIG_HOME := $(TEST_HOME)/config
test-homework: export XDG_CACHE_HOME := $(TEST_HOME)/cache
test-homework: export XDG_DATA_HOME := $(TEST_HOME)/data
test-homework: build/homework/SHA256SUMS
	$(TEST_ENV) $(PY) -m pytest tests/homework -p no:cacheprovider -p no:nbval -q -rP --durations=5

bench: $(STAMP)
	$(PY) -m pip install --quiet -r requirements-bench.txt
	$(PY) benchmarks/run_all.py

figures: $(STAMP)
	MPLBACKEND=Agg $(PY) -m rnn_core.gallery figures

# Re-execute the committed notebooks in place with the pinned stack (after editing one).
notebooks: $(STAMP)
	$(TEST_ENV) $(PY) tools/execute_notebooks.py

# The longer character-language-model run (minutes): what notebook 08's model reaches with more updates.
lm: $(STAMP)
	$(TEST_ENV) $(PY) tools/train_lm.py

clean:
	rm -rf $(VENV) .pytest_cache benchmarks/results
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
