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

# Two test processes (pytest-xdist), a test file per process at a time: the suite waits mostly on real
# servers and subprocesses. PYTEST_WORKERS=0 runs it in one process.
PYTEST_WORKERS ?= 2

test: lint
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# The house rules (docs/architecture.md): import contracts, lint and import order, types.
lint: $(VENV)/.test
	$(BIN)/lint-imports --no-cache
	$(BIN)/ruff check agents inventory collector dashboards bench tests
	$(BIN)/mypy

# Every benchmark prints Markdown; the summary is kept in var/bench.md.
bench: $(VENV)/.test
	@mkdir -p var
	@for b in bench/*.py; do echo "## $$b"; $(BIN)/python $$b || exit 1; echo; done | tee var/bench.md

$(BIN)/python:
	@$(PYTHON) -m venv $(VENV) || { echo "Cannot create a virtual environment: on Debian run 'apt-get install python3-venv' first." >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.collector: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[collector]'
	@touch $@

$(VENV)/.test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.collector

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache .hypothesis
