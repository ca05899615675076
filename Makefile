# Moot's chores. `make help` lists them.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8536
PG_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432
# Test workers: most of the suite waits on real servers and sockets, so more workers than cores pays; each
# worker takes whole files (--dist loadfile), so a file's module-scoped servers start once.
WORKERS ?= 4

.DEFAULT_GOAL := help
.PHONY: help install install-run install-dev test-deps screenshots run demo test test-sqlite test-postgres lint typecheck format clean

help: ## list the chores
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 16

# `make run` installs only what running needs; the test, lint and type targets add the development tools.
# pip runs without --quiet: its "Collecting ..." lines are the progress of a first install.
DEV_STAMP := $(VENV)/.dev-installed

$(BIN)/moot: pyproject.toml
	@echo "moot: installing Moot and what it needs to run into $(VENV) (a minute or two the first time)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --progress-bar off -e .
	@touch $@
	@echo "moot: installed"

$(DEV_STAMP): $(BIN)/moot
	@echo "moot: installing the development tools (pytest, ruff, mypy, playwright, ...) into $(VENV)"
	$(BIN)/pip install --progress-bar off -e '.[dev]'
	@touch $@

install-run: $(BIN)/moot ## create .venv and install what running Moot needs
install-dev: $(DEV_STAMP) ## add the development tools (tests, lint, types) to .venv
install: install-run install-dev ## both: Moot and its development tools

# Test-only JavaScript: lemmy-js-client (API tests) and axe-core (accessibility checks), from npm.
test-deps: install-dev ## the test suite's npm packages, Debian's chromium and nginx (when run as root)
	@for dir in tests/js tests/web; do \
	  if [ -f $$dir/package-lock.json ] && command -v npm >/dev/null; then (cd $$dir && npm ci --silent --no-audit --no-fund); fi; \
	done
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get install -y -q chromium >/dev/null || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null); \
	fi
	@# nginx runs docs/deploy/nginx.conf in tests/test_reverse_proxy.py.
	@if [ ! -x /usr/sbin/nginx ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get install -y -q nginx >/dev/null || (apt-get update -q >/dev/null && apt-get install -y -q nginx >/dev/null); \
	fi

run: install-run ## start Moot on SQLite at http://$(HOST):$(PORT) (DEMO=1 loads the example thread first)
	@if [ -n "$(DEMO)" ]; then $(BIN)/moot demo; fi
	$(BIN)/moot serve --host $(HOST) --port $(PORT)

demo: install-run ## load the example thread into the configured database
	$(BIN)/moot demo

test: install-dev test-deps lint typecheck test-sqlite test-postgres ## everything CI runs: lint, types, the suite on SQLite and on PostgreSQL

test-sqlite: install-dev ## the test suite on SQLite
	MOOT_TEST_DB=sqlite $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadfile

test-postgres: install-dev ## the test suite on PostgreSQL (127.0.0.1:5432, or MOOT_TEST_PG)
	MOOT_TEST_DB=postgres MOOT_TEST_PG=$(PG_URL) $(BIN)/python -m pytest -q -n $(WORKERS) --dist loadfile

lint: install-dev ## ruff, and the layers' import contract (.importlinter)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/lint-imports

typecheck: install-dev ## mypy --strict
	$(BIN)/mypy

format: install-dev ## apply ruff's formatting and fixes
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

screenshots: install-dev test-deps ## regenerate docs/screenshots (the example thread at 1280 and 390 px, light and dark)
	$(BIN)/python tests/web/screenshots.py

clean: ## remove the virtualenv and caches (not your data)
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
