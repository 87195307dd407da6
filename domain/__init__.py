"""The shared domain of gatepass: what a permit, a slip, a release and a log row are,
and the rules and contracts every part of the system agrees on.

Gate (kiosk), drivers, sync and office all import from here; nothing here imports
any of them (pyproject's import-linter contracts check it). Apart from the key files
(`keyfiles`), nothing here does I/O or reads the clock: time comes in as an argument
or through a `Clock`.
"""
