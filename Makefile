# Two commands a new machine needs: `make demo` and `make test`.
# Each creates its own virtual environment in .venv and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: demo test lint bench clean

# make demo PORT=8081 when 8080 is taken.
PORT ?= 8080

demo: $(VENV)/.collector
	$(BIN)/hdc-collector demo --port $(PORT)

# Two test processes (pytest-xdist), a test file per process at a time, the files of minutes first
# (tests/conftest.py): the suite waits mostly on real servers and subprocesses. PYTEST_WORKERS=0 runs it in
# one process.
PYTEST_WORKERS ?= 2

# First the house rules (lint), then the system packages the tests start for real, where this run may install
# them (root, apt-get); elsewhere the run names the missing ones at its start and end
# (tests/support/missing_components.py).
test: lint $(VENV)/wheelhouse/.done
	@sh tests/system-packages.sh --if-root
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder --durations=25 $(PYTEST_ARGS)

# The house rules (docs/architecture.md): import contracts, lint and import order, types.
lint: $(VENV)/.test
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check agents inventory collector dashboards bench tests
	$(BIN)/mypy

# Every benchmark prints Markdown; the summary is kept in var/bench.md.
bench: $(VENV)/.test
	@mkdir -p var
	@for b in bench/*.py; do echo "## $$b"; $(BIN)/python $$b || exit 1; echo; done | tee var/bench.md

# An editable install, so the console scripts, the tests and `python -m collector.cli` all run this checkout.
# setuptools then prints an "Editable installation." notice about folders named like the packages: that is
# this layout on purpose (and `python -m` from here needs it), so that one notice is filtered out.
PIP_INSTALL = PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet --disable-pip-version-check

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { echo "Cannot create a virtual environment: on Debian run 'apt-get install python3-venv' first." >&2; exit 1; }
	@echo "Updating pip in $(VENV)..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip

$(VENV)/.collector: pyproject.toml | $(BIN)/python
	@echo "Installing hdc-readiness with the collector's dependencies into $(VENV) (a minute or so the first time)..."
	@$(PIP_INSTALL) -e '.[collector]'
	@touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	@echo "Installing hdc-readiness with every test dependency into $(VENV) (a few minutes the first time)..."
	@$(PIP_INSTALL) -e '.[test]'
	@touch $@ $(VENV)/.collector

# The wheels tests install into Debian's python3 (the Ansible roles' dependencies, snmpsim's), fetched here so that
# the tests themselves talk only to this machine (tests/support/wheelhouse.py).
$(VENV)/wheelhouse/.done: tests/support/wheelhouse.py $(VENV)/.test
	@echo "Fetching the wheels the Ansible and SNMP tests install offline into $(VENV)/wheelhouse..."
	@$(BIN)/python tests/support/wheelhouse.py
	@touch $@

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .hypothesis
