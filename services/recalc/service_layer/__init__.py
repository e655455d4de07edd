"""service_layer of the recalc service."""
