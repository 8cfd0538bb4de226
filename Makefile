# chatgate — `make run` starts the server, `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Line-coverage floors of the core packages (package:percent), checked after pytest. Set a
# little under what the suite reaches, so a change that leaves new code untested fails.
COVERAGE_FLOORS := resolve:98 gateway:92 upstream:91 crypto:94

.PHONY: install run test lint typecheck pytest coverage-floors bench bench-replicas bench-workers soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/chatgate serve

lint: install
	$(BIN)/ruff check chatgate tests bench
	$(BIN)/ruff format --check chatgate tests bench

typecheck: install
	$(BIN)/mypy

# COVERAGE=0 skips measuring (and the floors) for a quicker local run.
COVERAGE ?= 1

# Four workers on two cores: the suite spends much of its time waiting on servers,
# subprocesses and the browser, and each worker has its own databases (PYTEST_XDIST=-n0
# runs it in one process).
PYTEST_XDIST ?= -n 4
# The slowest tests are listed after every run, to see where the time goes.
PYTEST_REPORT := --durations=25

pytest: install
ifeq ($(COVERAGE),1)
	$(BIN)/pytest -q $(PYTEST_XDIST) $(PYTEST_REPORT) --cov --cov-report=
	$(MAKE) --no-print-directory coverage-floors
else
	$(BIN)/pytest -q $(PYTEST_XDIST) $(PYTEST_REPORT)
endif

coverage-floors: install
	@for floor in $(COVERAGE_FLOORS); do \
		package=$${floor%%:*}; minimum=$${floor##*:}; \
		echo "chatgate/$$package/: line coverage, floor $$minimum%"; \
		$(BIN)/coverage report --include="chatgate/$$package/*" --fail-under=$$minimum \
			|| exit 1; \
	done

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/gateway.py

bench-replicas: install
	$(BIN)/python -m bench.replicas

bench-workers: install
	$(BIN)/python -m bench.workers

# Not part of `make test`: two minutes of mixed traffic against a real server, reporting
# latency, errors and RSS over time (docs/reliability.md). SOAK_SECONDS shortens it;
# SOAK_ARGS passes options, e.g. SOAK_ARGS="--backend postgresql".
SOAK_ARGS ?=
soak: install
	$(BIN)/python -m bench.soak $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .coverage
