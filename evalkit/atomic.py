"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Every file evalkit writes for someone else to read (results, trajectories, reports, exports, the
dashboard) goes through here: a temporary file in the same folder, fsynced, renamed into place, then the
folder fsynced so that the rename itself survives a power loss. A set of files read together (a run folder,
a report folder) is written inside :func:`write_together`: a full disk part-way through leaves the old set
whole. Files get the mode any new file would (0666 less the umask), not mkstemp's 0600.
"""

from __future__ import annotations

import contextlib
import os
from contextvars import ContextVar
from pathlib import Path
from typing import Iterator

from evalkit.errors import UserError

#: the renames an open :func:`write_together` block holds back: (temporary file, final path)
_held: ContextVar[list[tuple[Path, Path]] | None] = ContextVar("evalkit_atomic_held", default=None)


@contextlib.contextmanager
def atomic_path(path: str | Path, durable: bool = True) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; moved onto ``path`` when the block ends without error,
    removed otherwise. Creates the parent folder. ``durable=False`` skips the fsync (derived data such as
    caches, whose readers check what they read: still never half a file, but possibly lost on power loss)."""
    path = Path(path)
    fd, tmp = new_temp_file(path)
    os.close(fd)
    held, handed_on = _held.get(), False
    try:
        yield tmp
        if durable:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        if held is not None:  # renamed with the rest of its set when the write_together block ends
            held.append((tmp.absolute(), path.absolute()))  # absolute: a chdir in the block moves nothing
            handed_on = True
            return
        os.replace(tmp, path)
        if durable:
            fsync_dir(path.parent)  # the new directory entry, not only the file's bytes
    finally:
        if not handed_on:
            tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def write_together() -> Iterator[None]:
    """Write a set of files as one: the atomic writes inside the block land only when every one of them was
    written in full (disk full, a render error: none lands, the old set stays whole). Then they are renamed
    into place one after another, which cannot run out of space. A block inside another joins its set."""
    if _held.get() is not None:  # the outer block renames these files with the rest of its set
        yield
        return
    held: list[tuple[Path, Path]] = []
    token = _held.set(held)
    try:
        yield
    except BaseException:
        for tmp, _ in held:
            tmp.unlink(missing_ok=True)
        raise
    finally:
        _held.reset(token)
    try:
        for tmp, path in held:
            os.replace(tmp, path)
    finally:  # a rename that failed leaves no temporary file behind (the renamed ones are gone already)
        for tmp, _ in held:
            tmp.unlink(missing_ok=True)
    for folder in dict.fromkeys(path.parent for _, path in held):
        fsync_dir(folder)


def new_temp_file(path: Path) -> tuple[int, Path]:
    """A new empty hidden file beside ``path``, open for writing, and its path; creates the parent folder when
    missing. Its mode is the one any new file gets (0666 less the umask, applied by the kernel), not mkstemp's
    0600: a file others read (CI artifact upload, a served dashboard) must be readable by them."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    made_parent = False
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{os.urandom(5).hex()}"
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # a name another writer drew: draw again
            continue
        except FileNotFoundError:
            if made_parent:
                raise
            path.parent.mkdir(parents=True, exist_ok=True)
            made_parent = True
    raise FileExistsError(f"no free temporary name beside {path}")


def fsync_dir(path: str | Path) -> None:
    """fsync a folder (its entries: a rename or a new file in it). Best effort where folders cannot be
    opened or synced (some network and FUSE file systems)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def new_dir_mode() -> int:
    """The mode ``mkdir`` gives a new folder: 0777 less the process umask (``mkdtemp`` gives 0700)."""
    return 0o777 & ~_umask()


def _umask() -> int:
    """The process umask: from /proc on Linux (no change to process state), else read by setting and at once
    restoring it."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, data: bytes | str, durable: bool = True) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` atomically; ``durable=False`` as in :func:`atomic_path`."""
    with atomic_path(path, durable) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def writable_problem(folder: str | Path) -> str | None:
    """Why files could not be written into ``folder`` (created if missing), or None: the nearest existing
    folder on its path is not a folder, or is not writable. Asked before work whose output would be lost."""
    folder = Path(folder).absolute()
    while not folder.exists() and folder != folder.parent:
        if folder.is_symlink():  # a link to nothing: mkdir would fail on it
            return f"{folder} is a link to a missing path"
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is not a folder"
    return None if os.access(folder, os.W_OK | os.X_OK) else f"{folder} is not writable"


def require_writable(folder: str | Path, field: str) -> None:
    """UserError (``field``: the option naming ``folder``) when files could not be written into ``folder``."""
    if problem := writable_problem(folder):
        raise UserError.at(field, "", str(folder), f"{problem}; choose a folder evalkit can write")


def check_targets(paths: list[Path], field: str) -> None:
    """UserError naming the first of ``paths`` that cannot be replaced by a file (a folder stands there, or its
    folder cannot be written), before any of them is written: a set of outputs is never left half old, half new."""
    for path in paths:
        if path.exists() and not path.is_file():
            raise UserError.at(field, "", str(path.parent), f"{path} is a folder; choose a folder evalkit can write")
        require_writable(path.parent, field)
