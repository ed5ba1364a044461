# `make demo` sets up and profiles MobileNet V2; `make test` sets up and runs the tests (CI runs it too).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.costlab-installed

.PHONY: setup demo test bench coverage clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt torch
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -c constraints.txt torchvision timm
	touch $(STAMP)

demo: setup
	$(BIN)/costlab profile mobilenet_v2

test: setup
	$(BIN)/python -m pytest -q -n auto

bench: setup
	$(BIN)/python benchmarks/bench_profile.py

coverage: setup
	$(BIN)/python benchmarks/bench_coverage.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
