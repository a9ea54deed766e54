"""evalkit's per-user cache folder (suite indexes of read-only suites, replayed worlds).

``EVALKIT_CACHE_DIR`` wins; otherwise ``$XDG_CACHE_HOME/evalkit`` or ``~/.cache/evalkit``. Everything in it
is derived data: deleting the folder only costs time.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path


def cache_dir() -> Path:
    """The user cache folder of evalkit (not created here)."""
    explicit = os.environ.get("EVALKIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "evalkit"


def source_fingerprint(head: str, files: Iterable[Path]) -> str:
    """SHA-256 of ``head`` and each file's name and bytes: what keys derived data to the code that derived it
    (the replay cache to the generator, the suite index to the suite checks)."""
    h = hashlib.sha256(head.encode())
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()
