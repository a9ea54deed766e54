"""evalkit: catch cross-category quality regressions of incident-investigation agents before they merge."""

__version__ = "0.1.0"
