# Everything a fresh machine needs, from the project's own files.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: demo test bench lint format catalogs wheel clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed  ## the whole loop in this terminal, on a temporary SQLite database
	$(BIN)/furikaeri demo $(DEMO_ARGS)

test: $(VENV)/.installed-dev  ## the whole suite (PostgreSQL too when FURIKAERI_TEST_DATABASE_URL is set)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo
	$(BIN)/pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed-dev  ## throughput of the engine and the outbox, printed, never asserted
	$(BIN)/python -m benchmarks

lint: $(VENV)/.installed-dev  ## ruff, format check, mypy, import contracts
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-logo

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

catalogs: $(VENV)/.installed-dev  ## extract strings, update every catalog, fill English
	$(BIN)/python -m bot.catalogs

wheel: $(VENV)/.installed-dev
	$(BIN)/python -m build --wheel --outdir dist .

clean:
	rm -rf $(VENV) dist build .pytest_cache .ruff_cache .mypy_cache
