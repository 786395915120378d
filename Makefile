# fabric-inspect: the targets a newcomer types. `make demo` and `make test` install when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Same version as the opencv-python-headless that albumentations pulls in, so both share one ABI.
STAMP_BASE := $(VENV)/.installed-base
STAMP_FULL := $(VENV)/.installed-full
DEMO_OUT ?= demo-out

.PHONY: install install-base demo test lint model bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip

# Base install: the inference stack only (what a mill's inspection PC needs).
$(STAMP_BASE): pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e .
	$(PY) scripts/fix_opencv.py
	touch $@

# Full install: training and development extras, torch pinned to 2.14.1 / torchvision 0.29.1.
$(STAMP_FULL): pyproject.toml | $(VENV)/bin/python
	$(PIP) install -q -e '.[train,dev]'
	$(PY) scripts/fix_opencv.py
	touch $(STAMP_BASE) $@

install-base: $(STAMP_BASE)
install: $(STAMP_FULL)

demo: $(STAMP_BASE)
	$(VENV)/bin/fabric-inspect demo --out $(DEMO_OUT)

test: $(STAMP_FULL)
	$(PY) -m pytest -q

lint: $(STAMP_FULL)
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts

# Retrain the shipped model on synthetic fabric (the recorded recipe).
model: $(STAMP_FULL)
	$(VENV)/bin/fabric-inspect train --synthetic --out runs/default --preset default
	cp runs/default/model.onnx src/fabric_inspect/models/default.onnx
	cp runs/default/weights.pt src/fabric_inspect/models/default.pt

bench: $(STAMP_BASE)
	$(VENV)/bin/fabric-inspect bench --synthetic --json benchmarks/results/bench.json --plot benchmarks/results/bench.png

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache
