# Two commands for a fresh machine:
#   make demo   install into .venv, train configs/demo/demo_synthetic.py on the CPU, print its table
#   make test   install into .venv (with test extras) and run the test suite
# EXTRAS=tests,demo also installs the browser demo's gradio (CI does, for the browser tests).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
EXTRAS ?= tests
STAMP := $(VENV)/.install-stamp-$(EXTRAS)
DEMO_CONFIG := configs/demo/demo_synthetic.py
DEMO_DIR ?= work_dirs/demo/$(shell date +%Y%m%d_%H%M%S)
PYTEST_ARGS ?=
# The suite runs in TEST_WORKERS processes (pytest-xdist), whole files per worker; each worker
# gives torch its share of the cores (tests/conftest.py). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2

.PHONY: install demo test lint clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip 'setuptools<82' wheel

# Re-install only when the package metadata or the requirement lists change.
# Then remove bitsandbytes: pyiqa declares it for its 4-bit LLM metrics, which mmhaze never
# uses (NIQE and PI do not need it), and mmengine's optimizer builder imports it whenever it is
# installed, pulling in torch._dynamo and inductor: ~2 s of every tool's start-up
# (docs/speed.md). `pip check` then reports it missing for pyiqa; that is expected.
$(STAMP): $(PY) setup.py setup.cfg pyproject.toml requirements/*.txt
	$(PIP) install -c requirements/constraints.txt -e '.[$(EXTRAS)]'
	$(PIP) uninstall -y -q bitsandbytes
	touch $(STAMP)

install: $(STAMP)

# The test run keeps its images (--save-images); the montage of a few test scenes (hazy input,
# IR, dehazed, fused, clear) is drawn from that run folder into it, and its path printed.
demo: install
	$(PY) tools/train.py $(DEMO_CONFIG) --work-dir $(DEMO_DIR)
	$(PY) tools/test.py $(DEMO_CONFIG) $$(cat $(DEMO_DIR)/last_checkpoint) --work-dir $(DEMO_DIR) --save-images
	run=$$(dirname $$(ls -t $(DEMO_DIR)/*/summary.json | head -1)) && \
	$(PY) tools/analysis_tools/plot_results.py $$run --out $$run/montage --num-images 3 \
		--formats png --metrics MI

test: install
	$(PY) -m pytest tests --durations=15 -q -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check mmhaze tools tests configs demo

clean-venv:
	rm -rf $(VENV)
