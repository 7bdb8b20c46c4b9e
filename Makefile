# Two commands for a new user on a machine with Python 3 and make:
#   make test   install into .venv, then each part of TEST_PARTS: unit, notebooks,
#               browser, homework, book, floor (homework and book side by side; each
#               also `make test-<part>`, below)
#   make lab    install into .venv, then open JupyterLab on notebooks/
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Test runs give every process they start a HOME of its own inside the venv, and keep
# Jupyter's, IPython's and matplotlib's state, the XDG folders and npm's cache there too, so
# they write nothing to the user's ~ (no kernelspec, connection files, IPython profile, font
# cache, Chromium crash reports or npm logs). `make test` then lists whatever the tests'
# own processes wrote into that HOME: only they see it, so nothing else running on the
# machine (an editor, a JupyterLab, a browser) can be mistaken for them.
TEST_HOME := $(abspath $(VENV))/test-home
TEST_TARGETS := test test-unit test-notebooks test-browser test-homework test-book test-floor notebooks
$(TEST_TARGETS): export HOME := $(TEST_HOME)/home
$(TEST_TARGETS): export JUPYTER_PLATFORM_DIRS := 1
$(TEST_TARGETS): export JUPYTER_CONFIG_DIR := $(TEST_HOME)/jupyter-config
$(TEST_TARGETS): export JUPYTER_DATA_DIR := $(TEST_HOME)/jupyter-data
$(TEST_TARGETS): export JUPYTER_RUNTIME_DIR := $(TEST_HOME)/jupyter-runtime
$(TEST_TARGETS): export IPYTHONDIR := $(TEST_HOME)/ipython
$(TEST_TARGETS): export MPLCONFIGDIR := $(TEST_HOME)/matplotlib
$(TEST_TARGETS): export XDG_CONFIG_HOME := $(TEST_HOME)/config
$(TEST_TARGETS): export XDG_CACHE_HOME := $(TEST_HOME)/cache
$(TEST_TARGETS): export XDG_DATA_HOME := $(TEST_HOME)/data
# JupyterLab asks npm for its global prefix at start, and npm logs that under its cache.
$(TEST_TARGETS): export NPM_CONFIG_CACHE := $(TEST_HOME)/npm
$(TEST_TARGETS): | $(TEST_HOME)/home
$(TEST_HOME)/home:
	mkdir -p $@

NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))

# Small matrix products on 2 OpenBLAS threads stall when the other core is busy (pytest,
# a kernel, a browser): the tests and notebooks run on one BLAS thread. `make bench`
# measures both settings itself.
TEST_ENV := OPENBLAS_NUM_THREADS=1

.PHONY: lab test test-unit test-notebooks test-browser bench figures notebooks lm install clean

install: $(STAMP)

# The installs go through uv (pinned here, put into .venv by pip first): the same pins and
# the same resolution as pip (`pip freeze` of both venvs is identical), in a fraction of the
# time: requirements.txt took 19 s with pip and 1.5 s with uv, caches warm, 7 s with uv's
# cache cold. Where uv cannot be installed (no wheel for the machine), pip does every
# install instead. $(call pip_install,PYTHON,ARGUMENTS): `pip install ARGUMENTS` into
# PYTHON's venv; $(call pip_check,PYTHON): `pip check` of it.
UV_VERSION := 0.13.10
UV := $(VENV)/bin/uv
pip_install = if [ -x $(UV) ]; then $(UV) pip install --quiet --python $(1) $(2); else $(1) -m pip install --quiet $(2); fi
pip_check = if [ -x $(UV) ]; then $(UV) pip check --quiet --python $(1); else $(1) -m pip check; fi

# Re-install only when the pins or the package metadata change.
$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet uv==$(UV_VERSION) || { echo "uv could not be installed: pip installs instead"; \
	  $(PY) -m pip install --quiet --upgrade pip; }
	$(call pip_install,$(PY),-r requirements.txt)
	$(call pip_install,$(PY),--no-deps -e .)
	touch $(STAMP)

# Jupyter refuses to serve as root unless told; containers and CI machines often are root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --ServerApp.root_dir=notebooks $(ROOT_FLAG)

# The parts in turn (tools/test_parts.sh), stopping at the first that fails (KEEP_GOING=1:
# run every part and fail at the end, for a full report); then each part's time, and every
# file the tests wrote into their HOME, which should be none. Under CI (CI=true) such a file
# fails the run. TEST_PARTS grows below, part by part: unit notebooks browser homework book
# floor. The parts of TEST_SIDE_BY_SIDE run at the same time, their installs first, and each
# prints its own output whole when both have ended: the homework part and the book part,
# their builds included, took 60 and 61 s together against 79 and 79 s one after the other
# (interleaved, 2026-12-07, 2-core Xeon).
# With the floor part beside them too, all three took 155 s against 95 s in turn (the
# grader's sandboxes and the floor's kernels crowd two cores), so the floor part runs alone,
# and so does the browser part, which times a student's Run All.
TEST_PARTS := unit notebooks browser homework
TEST_SIDE_BY_SIDE := homework book
KEEP_GOING ?=
test: $(STAMP)
	@mkdir -p $(TEST_HOME)/home && touch $(TEST_HOME)/.test-started; rc=0; \
	KEEP_GOING="$(KEEP_GOING)" SIDE_BY_SIDE="$(TEST_SIDE_BY_SIDE)" MAKE="$(MAKE)" \
	  bash tools/test_parts.sh $(TEST_HOME)/logs $(TEST_PARTS) || rc=$$?; \
	written=$$(find "$$HOME" -newer $(TEST_HOME)/.test-started -type f 2>/dev/null | head -20); \
	if [ -n "$$written" ]; then \
	  echo "make test: the tests wrote into their HOME ($$HOME), which stands for ~ (they must write nothing there):"; \
	  echo "$$written" | sed 's/^/  /'; \
	  if [ -n "$$CI" ] && [ $$rc = 0 ]; then rc=1; fi; \
	else echo "make test: nothing written under the tests' HOME ($$HOME), which stands for ~"; fi; \
	exit $$rc

# The unit part runs on both cores (pytest-xdist): one BLAS thread per worker. nbval is
# switched off there: importing it (through nbformat and jsonschema) costs each worker 2 s.
test-unit: $(STAMP)
	$(TEST_ENV) MPLBACKEND=Agg $(PY) -m pytest tests --ignore=tests/browser --ignore=tests/notebooks \
	  -n 2 --dist worksteal -q -p no:cacheprovider -p no:nbval

# nbval re-runs every notebook in a fresh kernel of this venv and compares the outputs
# of cells tagged nbval-check-output; tests/nbval_timing.py prints each notebook's run
# time. The kernel draws with the inline backend, as a student's does (no MPLBACKEND).
# Two notebooks at a time: `--dist loadfile` keeps each notebook's cells on one worker, in
# order, in one kernel (nbval's README, "Parallel execution").
# tests/notebooks then runs, two notebooks at a time: the run-order test (each notebook's cells
# re-run shuffled and reversed in one kernel: the checked outputs must not move, since a student
# re-runs cells in any order), under numpy without its AVX-512 loops and OpenBLAS's Haswell
# kernel with a 512 KiB L2; the portability test (tests/notebooks/portability.py), which re-runs
# each notebook under numpy's baseline SIMD loops and OpenBLAS's Sandybridge kernel; and the
# seed test (tests/notebooks/seeds.py), every notebook at seeds 17 and 29 (seed 41 is the floor
# part's run). The costliest runs start first (tests/notebooks/conftest.py) and an idle worker
# takes queued runs from the other (worksteal). Every checked output must print what is stored, on any correct machine:
# `$(PY) tests/notebooks/portability.py` surveys every setting one at a time.
# Without any notebook pytest would exit 5 ("no tests ran"): say so and pass instead.
test-notebooks: $(STAMP)
ifeq ($(NOTEBOOKS),)
	@echo "test-notebooks: notebooks/ holds no .ipynb yet: nothing to validate"
else
	$(TEST_ENV) $(PY) -m pytest $(NOTEBOOKS) --nbval-lax --nbval-current-env \
	  --nbval-sanitize-with tests/nbval_sanitize.cfg --nbval-cell-timeout=120 \
	  -n 2 --dist loadfile -p tests.nbval_timing -p no:cacheprovider -W default -q --durations=4
	$(TEST_ENV) $(PY) -m pytest tests/notebooks -n 2 --dist worksteal -p no:cacheprovider -q
endif

# Every notebook, Run All in JupyterLab in headless Chromium, one at a time, as a student runs
# it: the test's JupyterLab and kernels start without TEST_ENV's OPENBLAS_NUM_THREADS (nor any
# OPENBLAS_*, OMP_*, NPY_* or MPLBACKEND). Each notebook's Run All time (at most 45 s), a table
# of them (-rP), then the explorers' sliders and dropdowns moved.
test-browser: $(STAMP)
	$(TEST_ENV) $(PY) -m pytest tests/browser -p no:cacheprovider -rsP -q

# Homework (homework/README.md): otter-grader goes into .venv after the notebook stack, with
# requirements.txt as constraints, only for these targets. `make homework` builds the student
# notebooks, solutions and autograder bundles into build/homework (same masters, same bytes);
# `make grade SUBMISSIONS=dir` grades a folder into build/grades/gradebook.csv, offline, each
# submission in a bubblewrap sandbox (root and the Debian package bubblewrap needed; without
# them it refuses, unless GRADE_FLAGS=--unsafe for notebooks you trust).
.PHONY: homework grade test-homework test-homework-install
HOMEWORK_STAMP := $(VENV)/.homework-installed
HOMEWORK_MASTERS := $(sort $(wildcard homework/*/*.ipynb))
$(HOMEWORK_STAMP): $(STAMP) requirements-homework.txt requirements.txt
	$(call pip_install,$(PY),-r requirements-homework.txt)
	$(call pip_check,$(PY))
	touch $(HOMEWORK_STAMP)
build/homework/SHA256SUMS: $(HOMEWORK_STAMP) $(HOMEWORK_MASTERS) tools/homework_build.py
	$(TEST_ENV) $(PY) tools/homework_build.py --out build/homework
homework: build/homework/SHA256SUMS
grade: build/homework/SHA256SUMS
	@test -n "$(SUBMISSIONS)" || { echo "make grade: expected SUBMISSIONS=<folder of submissions>"; exit 2; }
	$(TEST_ENV) $(PY) tools/grade.py "$(SUBMISSIONS)" --build build/homework --out build/grades $(GRADE_FLAGS)
# Only otter's install comes first: the build (18 s, otter assign) runs inside test-homework,
# beside the book part's build.
test-homework-install: $(HOMEWORK_STAMP)
test-homework: export HOMEWORK_TESTS := 1
test-homework: build/homework/SHA256SUMS
	$(TEST_ENV) $(PY) -m pytest tests/homework -p no:cacheprovider -p no:nbval -q -rP --durations=5

bench: $(STAMP)
	$(PY) -m pip install --quiet -r requirements-bench.txt
	$(PY) benchmarks/run_all.py

figures: $(STAMP)
	MPLBACKEND=Agg $(PY) -m rnn_core.plots.gallery figures

# Re-execute the committed notebooks in place with the pinned stack (after editing one).
notebooks: $(STAMP)
	$(TEST_ENV) $(PY) tools/execute_notebooks.py

# The longer character-language-model run (minutes): what notebook 08's model reaches with more updates.
lm: $(STAMP)
	$(TEST_ENV) $(PY) tools/train_lm.py

clean:
	rm -rf $(VENV) $(FLOOR_VENV) .pytest_cache benchmarks/results
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The web book (README "Web book"): the committed, executed notebooks, docs/theory.md and a
# landing page, built by Sphinx + myst-nb (requirements-book.txt, installed into .venv only
# by these targets) into build/book, with MathJax fetched from the npm registry once into
# build/book-cache (tools/book.py). `make test-book` opens every page in Chromium with
# every other host blocked; it is the part of `make test` after test-homework.
TEST_PARTS += book
.PHONY: book test-book test-book-install
BOOK_STAMP := $(VENV)/.book-installed
$(BOOK_STAMP): $(STAMP) requirements-book.txt requirements-homework.txt requirements.txt
	$(call pip_install,$(PY),-r requirements-book.txt)
	$(call pip_check,$(PY))
	touch $(BOOK_STAMP)
book: $(BOOK_STAMP)
	$(PY) tools/book.py --out build/book --cache build/book-cache
test-book-install: $(BOOK_STAMP)
test-book: export BOOK_TESTS := 1
test-book: book
	$(TEST_ENV) $(PY) -m pytest tests/book -p no:cacheprovider -rsP -q

# The oldest stack pyproject.toml claims (requirements-floor.txt: numpy 2.0, matplotlib 3.8,
# ipywidgets 7.7, ipykernel 6.5, threadpoolctl 3.1, the versions of Colab-era runtimes), in a
# venv of its own: `make test-floor` runs every notebook there, explorers included, two at a
# time, and fails on any error or output on stderr. It runs them at the seed test's seed 41
# (tests/notebooks/seeds.py FLOOR_SEED), which test-notebooks leaves to it. It is the last part
# of `make test`.
TEST_PARTS += floor
.PHONY: test-floor test-floor-install
FLOOR_VENV := .venv-floor
FLOOR_STAMP := $(FLOOR_VENV)/.installed
$(FLOOR_STAMP): $(STAMP) requirements-floor.txt pyproject.toml
	test -x $(FLOOR_VENV)/bin/python || $(PYTHON) -m venv $(FLOOR_VENV)
	$(call pip_install,$(FLOOR_VENV)/bin/python,-r requirements-floor.txt)
	$(call pip_install,$(FLOOR_VENV)/bin/python,--no-deps -e .)
	touch $(FLOOR_STAMP)
test-floor-install: $(FLOOR_STAMP)
test-floor: export FLOOR_TESTS := 1
test-floor: $(FLOOR_STAMP)
	$(TEST_ENV) $(FLOOR_VENV)/bin/python -m pytest tests/floor -p no:cacheprovider -q -rP
