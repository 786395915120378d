# fabric-inspect: the targets a newcomer types. `make demo` and `make test` install when needed.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Same version as the opencv-python-headless that albumentations pulls in, so both share one ABI.
STAMP_BASE := $(VENV)/.installed-base
STAMP_FULL := $(VENV)/.installed-full
DEMO_OUT ?= demo-out

.PHONY: install install-base demo test lint model bench peers bench-peers clean

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

# Retrain the shipped model on synthetic fabric (the recorded recipe, docs/model-card.md): 150 epochs
# from scratch, then 40 with training defects anywhere in the crop, up to its edge (about 100 minutes
# on 2 cores in all).
model: $(STAMP_FULL)
	$(VENV)/bin/fabric-inspect train --synthetic --out runs/default --preset small --epochs 150 --patience 99 \
		--seed 3 --lr 3e-3 --keep last --model-version 4
	$(VENV)/bin/fabric-inspect train --synthetic --out runs/default-anywhere --preset anywhere \
		--init runs/default/weights.pt --epochs 40 --patience 99 --seed 4 --lr 1e-3 --keep last --model-version 5
	$(VENV)/bin/fabric-inspect calibrate --roll --synthetic --model runs/default-anywhere/model.onnx \
		--size 1280x720 --fps 30 --speed 20 --metres 20 --rolls 5 --out src/fabric_inspect/models/default.onnx
	cp runs/default-anywhere/weights.pt src/fabric_inspect/models/default.pt

bench: $(STAMP_BASE)
	$(VENV)/bin/fabric-inspect bench --synthetic --sizes 640x480,1280x720,1920x1080 --seconds 60 \
		--json benchmarks/results/bench.json --plot benchmarks/results/bench.png

# Side-by-side peers of the benchmark (issue #5): YOLOv8n and PaDiM-resnet18 exported to ONNX in their
# own venv (.venv-bench: ultralytics is AGPL-3.0 and never a dependency of fabric-inspect).
VENV_BENCH := .venv-bench
PEERS_DIR := benchmarks/peers/models

$(VENV_BENCH)/.installed: benchmarks/peers/requirements.txt benchmarks/peers/constraints.txt
	$(PYTHON) -m venv $(VENV_BENCH)
	$(VENV_BENCH)/bin/python -m pip install -q --upgrade pip
	$(VENV_BENCH)/bin/python -m pip install -q -r benchmarks/peers/requirements.txt -c benchmarks/peers/constraints.txt
	touch $@

$(PEERS_DIR)/peers.json: benchmarks/peers/export_peers.py $(VENV_BENCH)/.installed
	$(VENV_BENCH)/bin/python benchmarks/peers/export_peers.py --out $(PEERS_DIR)

peers: $(PEERS_DIR)/peers.json

bench-peers: $(STAMP_BASE) $(PEERS_DIR)/peers.json
	$(VENV)/bin/fabric-inspect bench --synthetic --sizes 640x480,1280x720 --frames 100 --threads 2 \
		--peers $(PEERS_DIR) --json benchmarks/results/peers.json

clean:
	rm -rf $(VENV) $(DEMO_OUT) .pytest_cache .ruff_cache
