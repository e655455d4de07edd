"""The ledger's pure write model: no I/O, rebuilt from the log, validates new events."""
