"""Pure gate core: no I/O, no clock; time comes in as an argument."""
