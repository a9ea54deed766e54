"""Suite content hash: the version identity of a suite, stable across machines and checkouts.

SHA-256 over every file (sorted relative POSIX paths; hidden files and caches skipped), text files with
line endings normalised to ``\\n`` so a Windows checkout hashes the same.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

TEXT_SUFFIXES = {".json", ".jsonl", ".toml", ".csv", ".md", ".txt", ".yaml", ".yml"}


def suite_files(root: Path) -> list[Path]:
    """Files that make up a suite, sorted by relative path (skips dot-files, dot-dirs and __pycache__)."""
    out = []
    for p in root.rglob("*"):
        rel = p.relative_to(root)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if p.is_file():
            out.append(p)
    return sorted(out, key=lambda p: p.relative_to(root).as_posix())


def suite_hash(path: str | Path) -> str:
    """Hex SHA-256 of the suite folder's content (paths + normalised bytes)."""
    root = Path(path)
    h = hashlib.sha256()
    for p in suite_files(root):
        data = p.read_bytes()
        if p.suffix.lower() in TEXT_SUFFIXES:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        rel = p.relative_to(root).as_posix().encode()
        h.update(len(rel).to_bytes(4, "big") + rel + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()
