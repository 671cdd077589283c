# Every install step lives here: a machine with only Python 3.11 and pip is enough.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
export PATH := $(abspath $(BIN)):$(PATH)

.PHONY: run test test-fast test-reliability ui backoffice browser lint format lock bench bench-smoke wheel clean

run: $(VENV)/.installed  ## Ingest the last days from the sandbox, build snapshots, print costs
	@$(BIN)/simbiosia run
	@echo "See them in the backoffice: make backoffice   (or $(BIN)/simbiosia backoffice), then open http://127.0.0.1:8501"

# Whole modules per worker (their module-scoped sandboxes and warehouses are built once), the
# modules with `slow` tests first (conftest.py orders them; xdist must not reorder by size).
test: $(VENV)/.installed browser  ## The whole suite (what CI runs), on 4 workers: most of it waits
	$(BIN)/pytest -n 4 --dist loadscope --no-loadscope-reorder

test-reliability: $(VENV)/.installed  ## The fault matrix alone (also part of `make test`)
	$(BIN)/pytest simbiosia_pipeline_tests/reliability

ui: $(VENV)/.installed  ## Dagster UI on http://127.0.0.1:3000 with workspace.yaml
	$(BIN)/simbiosia ui

backoffice: $(VENV)/.installed  ## The cost dashboard on http://127.0.0.1:8501 (the embedded warehouse; after make run)
	$(BIN)/simbiosia backoffice

# The backoffice's browser test drives Debian's chromium through its chromedriver: installed here
# (as root, or through sudo) when either is missing, and left alone otherwise.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then \
	    $(SUDO) apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends \
	        chromium chromium-driver fonts-dejavu-core; \
	fi

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(VENV)/.installed  ## Benchmarks of issue 7 at seed scale (~33 min on a quiet machine): table + benchmarks/results/latest.json
	$(BIN)/python -m benchmarks

bench-smoke: $(VENV)/.installed  ## The benchmark harness on a tiny workload, correctness only (in CI via make test)
	$(BIN)/pytest benchmarks

lock: $(VENV)/.installed  ## Re-resolve requirements.lock from pyproject.toml
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
	    -o requirements.lock --generate-hashes -q --custom-compile-command "make lock"

# --compile-bytecode: uv does not compile by default, and where PYTHONDONTWRITEBYTECODE is set (as
# on CI) every process — each Dagster step, each test subprocess — would otherwise compile Dagster
# and dbt from source again: seconds per process start.
# Quiet: `make run` on a fresh checkout should show its answer, not the install's command lines.
$(VENV)/.installed: requirements.lock pyproject.toml Makefile
	@echo "installing $(VENV) from requirements.lock (hash-pinned, uv)..."
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --require-hashes --compile-bytecode -r requirements.lock
	@$(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	@$(BIN)/python -m simbiosia_pipeline.dbt.project
	@touch $@

wheel: $(VENV)/.installed  ## The package as a wheel in dist/, the dbt project and its manifest inside
	$(BIN)/python -m simbiosia_pipeline.dbt.project package
	$(BIN)/uv build --offline --wheel --no-build-isolation --python $(BIN)/python -o dist .

clean:
	rm -rf $(VENV) .simbiosia dbt_project/target dbt_project/logs simbiosia_pipeline/dbt/dbt_project dist build
