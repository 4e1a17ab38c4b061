# Fresh machine, two commands: `make bench` and `make test`. Each installs first if needed.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SUITE   ?= standard
JOBS    ?= 2
PYTEST_ARGS ?=

.PHONY: install bench test test-all lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

bench: $(STAMP)
	$(BIN)/bench run suites/$(SUITE).yaml --jobs $(JOBS)

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check benchmark tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info
