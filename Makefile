# gatepass: `make run` and `make test` do all set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
VAR    ?= var
# Debian packages the Python stack loads at run time: zbar for pyzbar, a CJK font
# for the kiosk's Chinese text, fontconfig to find it.
SYSTEM_PACKAGES := libzbar0 fonts-noto-cjk fontconfig
# Only a gate needs these (docs/install.md, step 2): the Mesa libraries SDL's kmsdrm driver
# loads to draw without a desktop; gcc and the kernel's input headers to build python-evdev
# (keyboard-wedge readers), which has no aarch64 wheel; swig to build lgpio, which has none for
# CPython 3.13 (Trixie). `sudo make gate-sysdeps` on the Pi.
GATE_PACKAGES := libgbm1 libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri libdrm2 libudev1 gcc python3-dev linux-libc-dev swig
# Only the tests need these: Chromium renders the office console's pages to PNG;
# systemd-analyze checks the shipped unit files (tests/test_units.py); bubblewrap runs them
# sandboxed as a non-root user (tests/test_deployment.py).
TEST_PACKAGES := chromium systemd bubblewrap

.PHONY: run office test test-profiles lint test-all bench bench-office faults sysdeps gate-sysdeps test-sysdeps venv venv-test gate-lock pi-install-check clean

run: venv
	$(PY) -m kiosk.cli kiosk --demo

# The demo office and its staff console on http://127.0.0.1:8080/console (sign-in printed at start).
office: venv-test
	$(PY) -m kiosk.cli office demo

# Two pytest-xdist workers (the suite waits on servers, browsers and subprocesses as much as it
# computes); a test file's tests stay together on one worker. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: venv-test test-sysdeps lint
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow and not faults"

# The import contracts, ruff and mypy, each configured in pyproject.toml.
lint: venv-test
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Each install profile in a venv pip made with only that profile's extras: tests/test_profiles.py
# runs every gate command in .venv-gate ('.[gate]') and every office command in .venv-office
# ('.[office]'), a gate syncing with an office between them. (`make test` runs the same module in
# the test venv, with the other side's libraries made unimportable.)
PROFILE_VENVS := .venv-gate .venv-office
test-profiles: venv-test test-sysdeps .venv-gate/.installed .venv-office/.installed
	GATEPASS_GATE_VENV=$(CURDIR)/.venv-gate GATEPASS_OFFICE_VENV=$(CURDIR)/.venv-office \
	    $(PY) -m pytest -q -p no:cacheprovider tests/test_profiles.py

.venv-%/.installed: pyproject.toml
	rm -rf .venv-$*
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/python -m pip install -q --upgrade pip
	.venv-$*/bin/python -m pip install -q -e '.[$*]'
	touch $@

test-all: venv-test test-sysdeps
	$(PY) -m pytest -q -m "not faults"

bench: venv-test
	$(PY) -m bench $(if $(QUICK),--quick,)

# The office under 2,000 gates in 20 estates on PostgreSQL, 4 server processes (bench/office.py):
# starts the local PostgreSQL (scripts/postgres.sh), recreates the database gatepass_bench_office
# and writes bench/office-report.json. QUICK=1: 100 gates, a compressed 12 s.
bench-office: venv-test
	url=$$(bash scripts/postgres.sh) && $(PY) -m bench.office --pg-url "$$url" --database gatepass_bench_office $(if $(QUICK),--quick,)

faults: venv-test
	$(PY) -m pytest -q -m faults

sysdeps:
	@bash scripts/sysdeps.sh $(SYSTEM_PACKAGES)

gate-sysdeps:
	@bash scripts/sysdeps.sh $(GATE_PACKAGES)

test-sysdeps:
	@bash scripts/sysdeps.sh $(TEST_PACKAGES)

# A gate needs only '.[gate]'; the tests need both sides. Each stamp names what it installed,
# so `make test` after `make run` adds the office and test extras (and `make run` after
# `make test` installs nothing).
venv: sysdeps $(VENV)/.installed-gate

venv-test: sysdeps $(VENV)/.installed-test

$(VENV)/.python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "gatepass needs Python 3.11 or newer, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	touch $@

# pygame-ce replaced pygame (its SDL has KMSDRM); both install the package `pygame`, so a venv
# made before the switch loses both and gets pygame-ce alone, never a mix of the two's files.
DROP_PYGAME := if $(PY) -m pip show -q pygame >/dev/null 2>&1; then $(PY) -m pip uninstall -y -q pygame pygame-ce; fi

$(VENV)/.installed-gate: pyproject.toml $(VENV)/.python
	@$(DROP_PYGAME)
	$(PY) -m pip install -q -e '.[gate]'
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.python
	@$(DROP_PYGAME)
	$(PY) -m pip install -q -e '.[gate,pi,office,test,postgres]'
	touch $@ $(VENV)/.installed-gate

# The gate's lock files: exact versions and hashes for a Pi (aarch64), one per Raspberry Pi OS
# release, whose CPython and glibc differ: Bookworm (Debian 12: CPython 3.11, glibc 2.36) and
# Trixie (Debian 13, Raspberry Pi OS since October 2025: CPython 3.13, glibc 2.41; uv's newest
# aarch64 tag is manylinux_2_40, so a wheel needing 2.41 would be left out, never one that
# cannot load). Wheels only but for what PyPI has no wheel of: evdev everywhere, and on Trixie
# lgpio (no cp313 aarch64 wheel of 0.2.2.0): their sources are locked with their hashes and
# built on the Pi (GATE_PACKAGES: gcc, the kernel headers, swig). docs/install.md picks the
# lock by /etc/os-release's VERSION_CODENAME. Run after changing a range in pyproject.toml;
# needs uv (e.g. `python3 -m venv /tmp/uvenv && /tmp/uvenv/bin/pip install uv`, then
# UV=/tmp/uvenv/bin/uv). tests/test_gate_lock.py checks both against pyproject.toml.
UV ?= uv
# gate_lock: 1 = CPython version, 2 = manylinux tag, 3 = release (the lock's name), 4 = more --no-binary packages
define gate_lock
	$(UV) pip compile pyproject.toml --extra gate --extra pi \
	    --python-platform aarch64-manylinux_$(2) --python-version $(1) \
	    --only-binary :all: --no-binary evdev $(4) --generate-hashes --custom-compile-command 'make gate-lock' \
	    -o requirements/gate-aarch64-$(3).lock
endef
gate-lock:
	mkdir -p requirements
	$(call gate_lock,3.11,2_36,bookworm,)
	$(call gate_lock,3.13,2_40,trixie,--no-binary lgpio)

# The emulated Pi install (scripts/pi-install/check.py): Debian arm64 roots for each Raspberry Pi
# OS release, built with debootstrap + qemu-user-static and cached in PI_ROOTS; in each, the marked
# command blocks of docs/install.md, then the kiosk's headless walk and a sync round with an office
# on this machine. Prints a table of step times and writes var/pi-install-report.json. As root;
# slow (tens of minutes a release), so not part of `make test`. DIST=bookworm or DIST=trixie: one.
DIST ?= bookworm trixie
PI_ROOTS ?= /var/cache/gatepass-pi-roots
PI_INSTALL_PACKAGES := debootstrap qemu-user-static binfmt-support git
pi-install-check: venv-test
	@bash scripts/sysdeps.sh $(PI_INSTALL_PACKAGES)
	$(PY) scripts/pi-install/check.py --cache $(PI_ROOTS) $(DIST)

clean:
	rm -rf $(VENV) $(PROFILE_VENVS) $(VAR) build *.egg-info
