"""What crosses between office and gate: signed slip tokens, API messages, the sync daemon."""
