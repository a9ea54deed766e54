"""evalkit.run."""
