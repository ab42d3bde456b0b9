# kontor: `make run` starts the API on an embedded PostgreSQL; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
RUN_STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck imports unit fuzz soak bench bench-ab verify migrate event-schemas clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(RUN_STAMP)

run: $(RUN_STAMP)
	$(BIN)/kontor serve

migrate: $(RUN_STAMP)
	$(BIN)/kontor migrate

verify: $(RUN_STAMP)
	$(BIN)/kontor verify

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest tests/unit -q

test: lint typecheck imports
	$(BIN)/pytest -q -p no:cacheprovider

soak: $(STAMP)
	KONTOR_SOAK=1 $(BIN)/pytest -q -m slow

event-schemas: $(RUN_STAMP)
	$(BIN)/python -m kontor.events.schemas docs/events

bench: $(STAMP)
	$(BIN)/python -m bench.run

# Two versions alternated on one database: the working tree against BENCH_AB_BASE (default HEAD~1).
bench-ab: $(STAMP)
	$(BIN)/python -m bench.ab

clean:
	rm -rf $(VENV) .kontor .pytest_cache .mypy_cache .ruff_cache
