# The README's two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000
PYTEST_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-test chromium lint simulator bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

## Serve the app on SQLite at http://127.0.0.1:5000 (migrations applied first).
run: install
	$(FLASK) db upgrade
	$(FLASK) first-run
	$(FLASK) run --host $(HOST) --port $(PORT)

## Chromium for the browser tests, from Debian's packages, when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Chromium (Debian package chromium) for the browser tests"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

## Install what the tests need and run the whole suite, browser tests included.
test: install-test chromium
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-test
	$(BIN)/ruff check .

## The provider simulator on 127.0.0.1:8900, for trying failover offline.
simulator: install
	$(BIN)/python -m webapp.simulator --host 127.0.0.1 --port 8900

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-artifacts
