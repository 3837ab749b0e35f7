# The two things people do here: run the server, and run every check.
# Each target makes its own virtualenv (.venv) and installs socialhub into it (a regular install,
# so twistd finds the plugin).

PYTHON ?= python3
# Two trial workers: the machine has two cores, and most tests wait on sockets and databases.
TRIAL_ARGS ?= -j2
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint layers typecheck trial install

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install --quiet '.[dev]'

run: install
	$(BIN)/twistd -n --pidfile= socialhub $(ARGS)

lint: install
	$(BIN)/ruff check socialhub trial_tests twisted examples bench setup.py
	$(BIN)/ruff format --check socialhub trial_tests twisted examples bench setup.py

# Calls go one way (pyproject.toml's contract): an import against the layers fails here.
layers: install
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

trial: install
	$(BIN)/python -m twisted.trial $(TRIAL_ARGS) trial_tests

test: lint layers typecheck trial
