# Set-up and entry points.  Every target creates .venv/ when it is missing
# and installs into it; nothing is installed outside the repository.
#
#   make demo   - the main job on the embedded default (generated data, CPU)
#   make test   - the test suite
#
# On a GPU machine install the torch build for your CUDA into .venv first
# (.venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cu121)
# and then run the same commands: an installed torch is kept as it is.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The torch installed when .venv has none.  On this CPU machine 2.13.0 is a
# local CPU wheel; an unpinned "torch" would pull a multi-GB CUDA build.
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.mmtat-installed

.PHONY: install demo test lint clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) setup.py Makefile
	@# 1. torch, only when the venv has none (a CUDA build installed by hand is kept)
	$(PY) -c "import torch" 2>/dev/null || $(PIP) install "$(TORCH_SPEC)"
	@# 2. mmcv 2.1.0 with its compiled ops.  It has no wheel on PyPI: it is
	@#    compiled against the installed torch (--no-build-isolation) and needs
	@#    a setuptools that still ships pkg_resources.  pip caches the wheel.
	$(PY) -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null || { \
	    $(PIP) install "setuptools<70" wheel ninja && \
	    MMCV_WITH_OPS=1 MAX_JOBS=$${MAX_JOBS:-2} $(PIP) install --no-build-isolation "mmcv==2.1.0"; }
	@# 3. mmtat itself with the rest of the stack and the test tools.
	$(PIP) install -e ".[tests]"
	$(PY) -c "import mmtat, mmcv.ops, mmrazor.models, mmseg.models; print('mmtat stack OK')"
	touch $(STAMP)

install: $(STAMP)

# make demo ARGS=--quick  (a one-minute run); ARGS go to tools/demo.py
demo: $(STAMP)
	$(PY) tools/demo.py $(ARGS)

# Two test processes (pytest-xdist), a test file at a time (--dist loadfile:
# a file's module fixtures, such as a table's dry run or the built wheel, are
# built once); the training runs that several files read are built once per
# session for both processes (tests/test_tools/conftest.py: built_once).
# (xdist_group marks would be finer, but pytest-xdist 3.8 cannot apply them
# under pytest 9.)  TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests

lint: $(STAMP)
	$(PY) -m ruff check mmtat tools tests configs _mmtat_startup.py setup.py

clean-venv:
	rm -rf $(VENV)
