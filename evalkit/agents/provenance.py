"""Where a build comes from: git sha of a directory, content hashes of files and command lines.

Used by the adapters to give a build a stable id that changes when its code changes. All look-ups are
read-only and cached per process (``load_agent`` must stay cheap: it runs again in every worker).
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

from evalkit.provenance import run_git, sha256_file, text_hash

__all__ = ["file_sha256", "text_hash", "with_git_state"]


@functools.lru_cache(maxsize=256)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    return sha256_file(path)


def file_sha256(path: str | Path) -> str | None:
    """sha256 of a file's content (None if unreadable); cached on (path, mtime, size)."""
    try:
        st = os.stat(path)
        return _file_sha256(str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return None


@functools.lru_cache(maxsize=256)
def _git_sha(directory: str) -> str | None:
    out = run_git(directory, "rev-parse", "HEAD")
    sha = out.decode().strip() if out else ""
    return sha if len(sha) >= 40 else None


@functools.lru_cache(maxsize=256)
def _changed_files(directory: str, mtimes_ns: tuple[int, int]) -> tuple[Path, ...] | None:
    """Files that ``git status`` lists under ``directory`` (modified, staged, deleted or untracked); None when
    not in a repository. Cached on the agent file's and the folder's mtimes: load_agent runs in every worker."""
    top = run_git(directory, "rev-parse", "--show-toplevel")
    out = run_git(directory, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--", ".") \
        if top else None
    if top is None or out is None:
        return None
    root = Path(top.decode("utf-8", "surrogateescape").strip())
    entries = [e for e in out.decode("utf-8", "surrogateescape").split("\0") if e]
    return tuple(sorted(root / e[3:] for e in entries))


def _agent_files(changed: tuple[Path, ...] | None) -> tuple[Path, ...] | None:
    """``changed`` without the files in evalkit's own folders (suites, baselines, ``.evalkit``, reports): no
    agent sees them (:func:`evalkit.agents.sandbox.default_protected`), so writing a baseline export or a
    report does not make the agent a new build."""
    if not changed:
        return changed
    from evalkit.agents.sandbox import default_protected

    hidden = [p.resolve() for p in default_protected()]
    return tuple(f for f in changed if not any(f.is_relative_to(h) for h in hidden))


def with_git_state(config: dict, path: str | Path | None) -> tuple[dict, str | None, bool]:
    """(config, git sha, dirty) of a build whose code is the file at ``path`` (an agent's script or module): HEAD
    of its folder, and whether files there differ from it (modified, staged or untracked). A build from a dirty
    tree or from untracked files is flagged, not passed off as the HEAD commit, and its config gains a content
    hash of those files (so the build id says which edit ran: two different uncommitted edits are two builds)."""
    if path is None:
        return config, None, False
    p = Path(path)
    directory = p if p.is_dir() else p.parent
    try:
        directory = directory.resolve()
        mtimes = (os.stat(p).st_mtime_ns, os.stat(directory).st_mtime_ns)
    except OSError:
        return config, None, False
    changed = _agent_files(_changed_files(str(directory), mtimes))
    sha = _git_sha(str(directory))
    if not changed:
        return config, sha, False
    h = hashlib.sha256()
    for f in changed:
        h.update(f"{f.relative_to(directory)}\0{file_sha256(f) or 'deleted'}\0".encode())
    return {**config, "uncommitted_sha256": h.hexdigest()[:16]}, sha, True
