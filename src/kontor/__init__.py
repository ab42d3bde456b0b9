"""kontor: a double-entry core-banking ledger with a Midaz-compatible HTTP API."""

__version__ = "0.1.0"
