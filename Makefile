# unitylv: `make demo` sets everything up and cuts a release of the sample data; `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SOURCE ?= data/raw
RELEASES ?= data/releases
VERSION ?= 1.0.0
export DAGSTER_HOME := $(CURDIR)/data/dagster

.PHONY: setup demo test lint dev bench docs clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

setup: $(BIN)/.installed
	mkdir -p $(DAGSTER_HOME)
	cp dagster.yaml $(DAGSTER_HOME)/dagster.yaml

demo: setup
	$(BIN)/unitylv demo --source $(SOURCE) --releases $(RELEASES) --version $(VERSION)

test: setup
	$(BIN)/ruff check pipeline assets tests bench
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check pipeline assets tests bench
	$(BIN)/ruff format --check pipeline assets tests bench

dev: setup
	$(BIN)/dagster dev

bench: setup
	$(BIN)/python bench/bench_release.py

clean:  # published releases are read-only on disk: give the write bits back first
	chmod -R u+w data/releases 2>/dev/null || true
	rm -rf data/work data/releases data/dagster

docs: setup
	$(BIN)/python -m pipeline.docs
