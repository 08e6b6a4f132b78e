# The two commands a newcomer needs: `make run` and `make test`. Both set everything up on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Every install takes its versions from the lock, so a new release upstream cannot turn main red between two runs.
LOCK   := requirements.lock
LOCKER  = $(BIN)/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 --custom-compile-command "make lock" -o $(LOCK)

.PHONY: run test lint typecheck schema bench bench-quick lock lock-upgrade clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet -c $(LOCK) -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/hookgate serve

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n auto

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

schema: $(STAMP)
	$(BIN)/hookgate schema > schema.graphql

bench: $(STAMP)
	$(BIN)/python -m bench.run

bench-quick: $(STAMP)
	$(BIN)/python -m bench.run --quick

lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(LOCKER)

lock-upgrade: | $(BIN)/python
	$(BIN)/python -m pip install --quiet uv
	$(LOCKER) --upgrade

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache build *.egg-info
