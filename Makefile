# gatepass: `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
VAR    ?= var
# Debian packages the Python stack loads at run time: zbar for pyzbar, a CJK font
# for the kiosk's Chinese text, fontconfig to find it.
SYSTEM_PACKAGES := libzbar0 fonts-noto-cjk fontconfig
# Only the tests need these: Chromium renders the office console's pages to PNG.
TEST_PACKAGES := chromium

.PHONY: run test test-all bench faults sysdeps test-sysdeps venv clean

run: venv
	$(PY) -m kiosk.cli kiosk --demo

test: venv test-sysdeps
	$(VENV)/bin/lint-imports
	$(PY) -m pytest -q -m "not slow and not faults"

test-all: venv test-sysdeps
	$(PY) -m pytest -q -m "not faults"

bench: venv
	$(PY) -m bench $(if $(QUICK),--quick,)

faults: venv
	$(PY) -m pytest -q -m faults

sysdeps:
	@bash scripts/sysdeps.sh $(SYSTEM_PACKAGES)

test-sysdeps:
	@bash scripts/sysdeps.sh $(TEST_PACKAGES)

venv: sysdeps $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "gatepass needs Python 3.11 or newer, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,postgres]'
	touch $@

clean:
	rm -rf $(VENV) $(VAR) build *.egg-info
