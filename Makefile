# chatgate — `make run` starts the server, `make test` runs everything.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest bench bench-replicas bench-workers clean

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

pytest: install
	$(BIN)/pytest -q

test: lint typecheck pytest

bench: install
	$(BIN)/python bench/gateway.py

bench-replicas: install
	$(BIN)/python -m bench.replicas

bench-workers: install
	$(BIN)/python -m bench.workers

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
