"""The recalc service: projections of the log, finance reads."""
