"""evalkit.compare."""
