# Two commands do all set-up: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The suite's tests are independent (own schema, own queues, own ports): one worker per core.
TEST_WORKERS ?= 2
# OSRM's own server and tools for the OSRM client's tests: the osrm-bindings wheel ships them as
# executables (its Python module needs 3.12, the programs do not), unpacked beside the venv.
OSRM_DIR := $(VENV)/osrm
OSRM_WHEEL := osrm-bindings==26.10.0

.PHONY: demo test lint install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps --only-binary=:all: --python-version 3.12 \
		--platform manylinux_2_28_$(shell uname -m) --target $(OSRM_DIR) --upgrade '$(OSRM_WHEEL)' \
		|| echo "no OSRM wheel for this machine: the OSRM client's tests will be skipped"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/tsync demo

test: $(STAMP)
	$(BIN)/pytest -n $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) demo-out bench-out test-output territory-sync.db
