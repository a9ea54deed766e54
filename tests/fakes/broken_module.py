"""A module that fails on import (for the spec error tests)."""

raise RuntimeError("broken at import time")
