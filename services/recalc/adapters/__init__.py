"""adapters of the recalc service."""
