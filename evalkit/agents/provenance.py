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
from dataclasses import dataclass
from pathlib import Path


def text_hash(text: str, n: int = 12) -> str:
    """Short sha256 of a string (command lines, prompts)."""
    return hashlib.sha256(text.encode()).hexdigest()[:n]


@functools.lru_cache(maxsize=256)
def _file_sha256(path: str, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_sha256(path: str | Path) -> str | None:
    """sha256 of a file's content (None if unreadable); cached on (path, mtime, size)."""
    try:
        st = os.stat(path)
        return _file_sha256(str(path), st.st_mtime_ns, st.st_size)
    except OSError:
        return None


def _git(directory: str, *args: str, text: bool = False) -> subprocess.CompletedProcess | None:
    """``git -C directory args`` without evalkit's GIT_* variables; None when git is missing, cannot run or
    fails."""
    git = shutil.which("git")
    if git is None:
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        out = subprocess.run([git, "-C", directory, *args], capture_output=True, text=text, timeout=10, env=env,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out if out.returncode == 0 else None


@functools.lru_cache(maxsize=256)
def _git_sha(directory: str) -> str | None:
    out = _git(directory, "rev-parse", "HEAD", text=True)
    sha = out.stdout.strip() if out else ""
    return sha if len(sha) >= 40 else None


@dataclass(frozen=True)
class GitState:
    """The git state of an agent's folder: HEAD, whether files there differ from it (modified, staged or
    untracked), and a content hash of those files (so two different uncommitted edits are two builds)."""

    sha: str | None
    dirty: bool = False
    changes_sha256: str | None = None


@functools.lru_cache(maxsize=256)
def _changed_files(directory: str, mtimes_ns: tuple[int, int]) -> tuple[Path, ...] | None:
    """Files that ``git status`` lists under ``directory`` (modified, staged, deleted or untracked); None when
    not in a repository. Cached on the agent file's and the folder's mtimes: load_agent runs in every worker."""
    top = _git(directory, "rev-parse", "--show-toplevel", text=True)
    out = _git(directory, "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames", "--", ".") \
        if top else None
    if top is None or out is None:
        return None
    root = Path(top.stdout.strip())
    entries = [e for e in out.stdout.decode("utf-8", "surrogateescape").split("\0") if e]
    return tuple(sorted(root / e[3:] for e in entries))


def with_git_state(config: dict, path: str | Path | None) -> tuple[dict, str | None, bool]:
    """(config, git sha, dirty) of a build whose code is the file at ``path``: the config gains the content hash
    of the uncommitted files when there are any (so the build id says which edit ran)."""
    state = git_state(path)
    if state.dirty:
        config = {**config, "uncommitted_sha256": state.changes_sha256}
    return config, state.sha, state.dirty


def git_state(path: str | Path | None) -> GitState:
    """HEAD and uncommitted changes of the folder holding ``path`` (an agent's script or module): a build from
    a dirty tree or from untracked files is flagged and hashed, not passed off as the HEAD commit."""
    if path is None:
        return GitState(None)
    p = Path(path)
    directory = p if p.is_dir() else p.parent
    try:
        directory = directory.resolve()
        mtimes = (os.stat(p).st_mtime_ns, os.stat(directory).st_mtime_ns)
    except OSError:
        return GitState(None)
    changed = _changed_files(str(directory), mtimes)
    sha = _git_sha(str(directory))
    if not changed:
        return GitState(sha)
    h = hashlib.sha256()
    for path in changed:
        h.update(f"{path.relative_to(directory)}\0{file_sha256(path) or 'deleted'}\0".encode())
    return GitState(sha, True, h.hexdigest()[:16])
