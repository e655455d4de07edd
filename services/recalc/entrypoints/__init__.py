"""entrypoints of the recalc service."""
