"""Where a build comes from: git sha of a directory, content hashes of files and command lines.

Used by the adapters to give a build a stable id that changes when its code changes. All look-ups are
read-only and cached per process (``load_agent`` must stay cheap: it runs again in every worker).
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
from pathlib import Path


def text_hash(text: str, n: int = 12) -> str:
    """Short sha256 of a string (command lines, prompts)."""
    return hashlib.sha256(text.encode()).hexdigest()[:n]


@functools.lru_cache(maxsize=256)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_sha256(path: str | Path) -> str | None:
    """sha256 of a file's content (None if unreadable); cached on (path, mtime, size)."""
    try:
        st = os.stat(path)
        return _file_sha256(str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return None


@functools.lru_cache(maxsize=256)
def _git_sha(directory: str) -> str | None:
    git = shutil.which("git")
    if git is None:
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        out = subprocess.run([git, "-C", directory, "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, env=env, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and len(sha) >= 40 else None


def git_sha(path: str | Path | None) -> str | None:
    """HEAD commit of the git repository containing ``path`` (a file or directory), or None."""
    if path is None:
        return None
    p = Path(path)
    directory = p if p.is_dir() else p.parent
    try:
        directory = directory.resolve()
    except OSError:
        return None
    if not directory.is_dir():
        return None
    return _git_sha(str(directory))
