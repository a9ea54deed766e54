"""evalkit.score."""
