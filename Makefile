# The two commands of the contract: `make run` and `make test`. Both work on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: run test lint typecheck bench clean-data

$(PY):
	python3 -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PIP) install -e '.[dev]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(VENV)/bin/stemme migrate && $(VENV)/bin/stemme demo --if-empty && $(VENV)/bin/stemme serve

test: $(VENV)/.installed-dev
	$(PY) -m pytest -q -n auto --maxprocesses=4

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

bench: $(VENV)/.installed-dev
	$(PY) bench/storage_bench.py
