# Fresh machine, two commands: `make bench` and `make test`. Each installs first if needed.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
SUITE   ?= standard
JOBS    ?= 2
PYTEST_ARGS ?=

.PHONY: install bench bench-large bench-overhead bench-ci bench-ci-baseline test test-all lint clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev,mlflow]"
	touch $(STAMP)

install: $(STAMP)

bench: $(STAMP)
	$(BIN)/bench run suites/$(SUITE).yaml --jobs $(JOBS)

# Two big real datasets at full size (254,654 and 53,940 rows), learning curves: scaling and memory (~6 min).
bench-large: $(STAMP)
	$(BIN)/bench run suites/large.yaml --jobs $(JOBS)

# Harness overhead vs plain scikit-learn, 1 vs 2 workers, `bench --help` cold start (~6 min);
# add ARGS=--large for the large suite's peak memory.
bench-overhead: $(STAMP)
	$(BIN)/python benchmarks/overhead.py $(ARGS)

# CI regression check (docs/ci.md): run suites/ci.yaml, compare with the committed baseline.
# Exit code 1 = a real regression, 2 = not comparable (data, splits or suite protocol changed).
bench-ci: $(STAMP)
	rm -rf reports/ci-latest
	$(BIN)/bench run suites/ci.yaml --out reports/ci-latest --jobs $(JOBS) --no-progress
	$(BIN)/bench regress reports/baselines/ci.json reports/ci-latest --markdown reports/ci-latest/regress.md --junit reports/ci-latest/junit.xml

# Remake the committed baseline from a fresh run of suites/ci.yaml (then commit reports/baselines/ci.json).
bench-ci-baseline: $(STAMP)
	rm -rf reports/ci-latest
	$(BIN)/bench run suites/ci.yaml --out reports/ci-latest --jobs $(JOBS) --no-progress
	$(BIN)/bench baseline reports/ci-latest --out reports/baselines/ci.json

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" $(PYTEST_ARGS)

test-all: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# Style (ruff) and the layer contract of docs/architecture.md (import-linter, configured in pyproject.toml).
lint: $(STAMP)
	$(BIN)/ruff check benchmark tests benchmarks
	$(BIN)/lint-imports

clean:
	rm -rf $(VENV) build *.egg-info
