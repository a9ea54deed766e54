"""evalkit's per-user cache folder (suite indexes of read-only suites, replayed worlds).

``EVALKIT_CACHE_DIR`` wins; otherwise ``$XDG_CACHE_HOME/evalkit`` or ``~/.cache/evalkit``. Everything in it
is derived data: deleting the folder only costs time.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """The user cache folder of evalkit (not created here)."""
    explicit = os.environ.get("EVALKIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "evalkit"
