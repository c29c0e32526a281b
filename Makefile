# Two commands set everything up on a fresh machine: `make demo` and `make test`.
SHELL := bash
.SHELLFLAGS := -eo pipefail -c
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.livetrain-installed
# pip's notes about the machine's unused extra index folders are noise
PIP := $(BIN)/python -m pip install -q
QUIET := 2>&1 | { grep -v "is ignored: it is neither a file nor a directory" || true; }

.PHONY: install demo test bench clean

install: $(STAMP)

# torch first and pinned: an unpinned torch (or a package needing it) would pull GBs of CUDA wheels.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0 $(QUIET)
	$(PIP) -e '.[dev]' torch==2.13.0 $(QUIET)
	# fastai's torchvision dependency: no usable CPU build here, and Lightning and transformers fail to import with it
	$(BIN)/python -m pip uninstall -y -q torchvision $(QUIET)
	touch $@

# The quickstart, then the post's two notebooks, which also write its GIFs to fig/, then the guides' views.
demo: install
	$(BIN)/python scripts/run_demo.py
	$(BIN)/python scripts/run_demo.py --notebook notebooks/02_classifier.ipynb --epochs 12
	$(BIN)/python scripts/run_demo.py --notebook notebooks/03_vae_images.ipynb --epochs 12
	$(BIN)/python scripts/run_demo.py --notebook notebooks/06_guide_views.ipynb

# ruff over the tree and mypy over the core layer first (seconds), then the whole suite on two workers, a test
# file each at a time (a file's kernel or Jupyter servers are started once); much of it waits on kernels and pages.
test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile

bench: install
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_updates.py
	$(BIN)/python benchmarks/bench_images.py
	$(BIN)/python benchmarks/bench_frames.py
	$(BIN)/python benchmarks/bench_overhead.py
	$(BIN)/python benchmarks/bench_views.py
	$(BIN)/python benchmarks/bench_watch.py
	$(BIN)/python benchmarks/bench_adapters.py

clean:
	rm -rf $(VENV) build notebooks/executed .pytest_cache .hypothesis
