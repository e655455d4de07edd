# Tally: `make run` runs the whole system on this machine, `make test` checks it.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install run test lint typecheck unit integration e2e bench bench-quick chaos clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/tally dev

lint: install
	$(BIN)/ruff check services shared tests bench chaos
	$(BIN)/ruff format --check services shared tests bench chaos

typecheck: install
	$(BIN)/mypy services shared

unit: install
	$(BIN)/pytest -q tests/unit

integration: install
	$(BIN)/pytest -q tests/integration

e2e: install
	$(BIN)/pytest -q tests/e2e

test: install lint typecheck
	$(BIN)/pytest -q tests

bench: install
	$(BIN)/python -m bench

bench-quick: install
	$(BIN)/python -m bench --quick

# make chaos [MINUTES=2] [ARGS="--seed 3 --out /tmp/R.md"]: faults under load, RELIABILITY.md
chaos: install
	$(BIN)/python -m chaos --minutes $(or $(MINUTES),10) $(ARGS)

clean:
	rm -rf $(VENV) .tally .pytest_cache .mypy_cache .ruff_cache
