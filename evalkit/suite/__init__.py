"""evalkit.suite."""
