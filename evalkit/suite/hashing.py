"""Suite content hash: the version identity of a suite, stable across machines and checkouts.

SHA-256 over every file (sorted relative POSIX paths; hidden files and caches skipped), text files with
line endings normalised to ``\\n`` so a Windows checkout hashes the same.
"""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

TEXT_SUFFIXES = {".json", ".jsonl", ".toml", ".csv", ".md", ".txt", ".yaml", ".yml"}


def skipped(name: str) -> bool:
    """Whether a file or folder name is no part of a suite: hidden ('.' first) or ``__pycache__``."""
    return name.startswith(".") or name == "__pycache__"


#: the fix of a symlink in a suite that points at itself (found by the walk and by validate's link check)
LOOP_FIX = "is a loop; replace it with the file it should name"

def walk_suite(root: str | Path) -> list[tuple[str, os.DirEntry]]:
    """Files that make up a suite as (relative POSIX path, directory entry), sorted by that path.

    Skips names starting with '.' and ``__pycache__`` folders; a symlinked file counts, a symlinked folder
    is not entered. One ``os.scandir`` pass (the suite hash and the index's stat signature both read it).
    """
    out: list[tuple[str, os.DirEntry]] = []
    _walk(str(root), "", out)
    out.sort(key=lambda e: e[0])
    return out


def _walk(folder: str, prefix: str, out: list[tuple[str, os.DirEntry]]) -> None:
    with os.scandir(folder) as it:
        for entry in it:
            if skipped(entry.name):
                continue
            if entry.is_dir(follow_symlinks=False):
                _walk(entry.path, prefix + entry.name + "/", out)
            else:
                try:
                    is_file = entry.is_file()
                except OSError as exc:  # a symlink loop (ELOOP) or an entry this user may not look at
                    from evalkit.errors import UserError

                    if exc.errno != errno.ELOOP:
                        raise UserError.at(entry.path, "", exc.strerror or type(exc).__name__,
                                           "make it readable by this user or remove it from the suite") from None
                    raise UserError.at(entry.path, "symlink", os.readlink(entry.path), LOOP_FIX) from None
                if is_file:
                    out.append((prefix + entry.name, entry))


def relative_posix(path: Path, root: Path) -> str:
    """``path.relative_to(root).as_posix()`` without pathlib's parsing where ``path`` was built under ``root``."""
    p, prefix = path.as_posix(), root.as_posix().rstrip("/") + "/"
    return p[len(prefix):] if p.startswith(prefix) else path.relative_to(root).as_posix()


def suite_files(root: Path) -> list[Path]:
    """Files that make up a suite, sorted by relative path (see :func:`walk_suite`)."""
    return [Path(entry.path) for _, entry in walk_suite(root)]


def suite_hash(path: str | Path, read: Mapping[str, bytes] | None = None) -> str:
    """Hex SHA-256 of the suite folder's content (paths + normalised bytes).

    ``read`` holds files the caller has just read, by relative path, so they are not opened twice.
    """
    h = hashlib.sha256()
    for rel, entry in walk_suite(path):
        data = read.get(rel) if read else None
        if data is None:
            try:
                with open(entry.path, "rb") as fh:
                    data = fh.read()
            except FileNotFoundError:  # removed since the walk listed it: the suite as it is now
                continue
        if os.path.splitext(rel)[1].lower() in TEXT_SUFFIXES:
            data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        name = rel.encode()
        h.update(len(name).to_bytes(4, "big") + name + len(data).to_bytes(8, "big") + data)
    return h.hexdigest()
