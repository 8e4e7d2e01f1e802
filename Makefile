# unitylv: `make demo` sets everything up and cuts a release of the sample data; `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
SOURCE ?= data/raw
RELEASES ?= data/releases
VERSION ?= 1.0.0
export DAGSTER_HOME := $(CURDIR)/data/dagster
# The review page's browser test drives Debian's chromium: browser downloads from other hosts
# are not possible here, so `make test` installs the distribution's package when it is missing.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: setup demo test lint dev bench docs clean chromium

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

chromium:
	@test -x $(CHROMIUM) || { $(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium; }

test: setup chromium
	$(BIN)/ruff check pipeline assets tests bench
	$(BIN)/pytest -n 2 --dist loadgroup  # two workers; the 100-study release is cut once (tests/conftest.py)

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
