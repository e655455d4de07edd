"""The pure pricing core: rates, reference data, project state, the finance book."""
