"""`python -m sync [--config FILE] [--once]`: the sync daemon (same as `gatepass sync`)."""
import sys

from sync.cli import main

sys.exit(main())
