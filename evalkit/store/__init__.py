"""evalkit.store."""
