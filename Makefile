# Set-up and entry points.  Every target creates .venv/ when it is missing
# and installs into it; nothing is installed outside the repository.
#
#   make demo   - the main job on the embedded default (generated data, CPU)
#   make test   - the test suite
#
# On a GPU machine install the torch and torchvision builds for your CUDA into
# .venv first (.venv/bin/pip install torch torchvision --index-url
# https://download.pytorch.org/whl/cu126) and then run the same commands: an
# installed torch is kept as it is.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The torch and torchvision installed when .venv has no torch (pip takes the
# CUDA build, which also runs on a machine without a GPU).
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
STAMP := $(VENV)/.mmtat-installed

.PHONY: install demo test lint clean-venv

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch/torchvision (an installed torch is kept), mmcv compiled with its ops
# against that torch, then mmtat with the rest of the stack: see the script.
$(STAMP): $(PY) setup.py Makefile tools/install/install_stack.sh \
          tools/install/matching_torchvision.py
	TORCH_SPEC="$(TORCH_SPEC)" bash tools/install/install_stack.sh $(PY) tests
	touch $(STAMP)

install: $(STAMP)

# make demo ARGS=--quick  (a one-minute run); ARGS go to tools/demo.py
demo: $(STAMP)
	$(PY) tools/demo.py $(ARGS)

# Two test processes (pytest-xdist), a test file at a time (--dist loadfile:
# a file's module fixtures, such as a table's dry run or the built wheel, are
# built once); the training runs that several files read are built once per
# pytest session for both processes (tests/test_tools/conftest.py: built_once).
# (xdist_group marks would be finer, but pytest-xdist 3.8 cannot apply them
# under pytest 9.)  TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 2
test: $(STAMP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests

lint: $(STAMP)
	$(PY) -m ruff check mmtat tools tests configs .dev_scripts _mmtat_startup.py setup.py

clean-venv:
	rm -rf $(VENV)
