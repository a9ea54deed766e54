"""Content hashes and git look-ups: how evalkit names what a build, a baseline or a run came from.

One implementation each, shared by the agent adapters (build ids), the store (baseline exports, run tags) and
the journal (file names).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path


def text_hash(text: str, n: int = 12) -> str:
    """Short sha256 of a string (command lines, prompts, build ids)."""
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's content (raises OSError when it cannot be read)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def run_git(directory: str | Path, *args: str, timeout_s: float = 10.0) -> bytes | None:
    """stdout of ``git -C directory args``, run without evalkit's GIT_* variables (a hook's GIT_DIR must not
    redirect it); None when git is missing, cannot run, times out or fails."""
    git = shutil.which("git")
    if git is None:
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    try:
        out = subprocess.run([git, "-C", str(directory), *args], capture_output=True, timeout=timeout_s, env=env,
                             check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None
