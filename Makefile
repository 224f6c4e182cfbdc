# Two commands set up everything on a fresh machine: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
# `make run` installs what the server needs; the checks also install the development tools
# (pyproject.toml's `dev` extra). Each install has its own stamp, redone when pyproject.toml
# changes; the dev install holds the runtime one, so it renews that stamp too.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck pytest bench bench-instructions bench-long soak clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUN_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(RUN_STAMP)

# The server prints the demo credentials, then lines to paste into another shell (the client
# CLI's NINJA_* variables and the PATH that holds `ninja-oauth`).
run: $(RUN_STAMP)
	$(BIN)/ninja-oauth serve --demo --access-log

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

pytest: $(DEV_STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

NEED_WRK = @command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk) || \
	  (echo "bench: wrk is needed (apt-get install wrk)" >&2; exit 1)

# `make bench LONG=1` also runs bench-long's measurement (below) after the others.
bench: $(DEV_STAMP)
	$(NEED_WRK)
	$(BIN)/python bench/run.py
	$(BIN)/python bench/queries.py
	$(if $(LONG),$(MAKE) bench-long)

# Instructions per token and per bearer GET, counted in-process under Valgrind (steady where
# the machine's speed drifts): for comparing two versions of the code (bench/instructions.py).
bench-instructions: $(DEV_STAMP)
	@command -v valgrind >/dev/null || (apt-get update -qq && apt-get install -y -qq valgrind) || \
	  (echo "bench: valgrind is needed (apt-get install valgrind)" >&2; exit 1)
	$(BIN)/python bench/instructions.py --only token
	$(BIN)/python bench/instructions.py --only get

# Not part of `make test`: minutes of load (about 1,000,000 tokens per store); each worker's RSS
# after them, against issue 13's 120 MB (bench/memory.py; MEMORY_ARGS, e.g. --tokens 200000).
bench-long: $(DEV_STAMP)
	$(NEED_WRK)
	$(BIN)/python bench/memory.py $(MEMORY_ARGS)

# Not part of `make test`: minutes of steady load (SOAK_SECONDS, default 600); fails on any
# error or on memory growth (bench/soak.py).
soak: $(DEV_STAMP)
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
