"""Notice a subprocess agent that waits for evalkit while evalkit waits for it: a protocol deadlock.

The classic bug of a hand-written agent is a message that never reaches stdout (printed inside ``$(...)``,
to a file or to stderr): the agent then blocks reading stdin for a reply that cannot come, and without
help the investigation burns its whole timeout. Linux shows what each thread is blocked in
(``/proc/<pid>/task/<tid>/syscall``), so the adapter can tell, after a short idle spell, that every thread
of the agent's process tree is either reading the pipe evalkit writes to or waiting on one that is
(a futex, a child). A thread in any other call — a network read, poll, sleep — means the agent may still be
working, and nothing is concluded. Off where /proc or the architecture's syscall numbers are unknown.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

#: syscall numbers of (reads, waits) per machine: reads of a pipe, and calls that wait on another thread/child.
_SYSCALLS = {
    "x86_64": ({0, 17, 19, 295}, {202, 61, 247}),     # read pread64 readv preadv | futex wait4 waitid
    "aarch64": ({63, 67, 65, 69}, {98, 260, 95}),      # read pread64 readv preadv | futex wait4 waitid
}
READS, WAITS = _SYSCALLS.get(platform.machine(), (set(), set()))
SUPPORTED = bool(READS) and os.path.isdir("/proc/self/task")


def _task_files(pid: int, name: str) -> list[str] | None:
    """The contents of ``/proc/<pid>/task/<tid>/<name>`` for each thread; None if any is unreadable."""
    try:
        return [Path(f"/proc/{pid}/task/{tid}/{name}").read_text() for tid in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return None


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (through /proc/<pid>/task/<tid>/children)."""
    seen, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.append(pid)
        todo += [int(c) for text in _task_files(pid, "children") or [] for c in text.split()]
    return seen


def _thread_states(pid: int) -> list[tuple[int, int]] | None:
    """(syscall number, first argument) of each thread of ``pid``; None if a thread is running or unreadable."""
    texts = _task_files(pid, "syscall")
    if texts is None:
        return None
    out = []
    for text in texts:
        fields = text.split()
        if not fields or fields[0] in ("running", "-1"):
            return None
        out.append((int(fields[0]), int(fields[1], 16) if len(fields) > 1 else -1))
    return out


def _is_pipe(pid: int, fd: int, inode: int) -> bool:
    try:
        return os.stat(f"/proc/{pid}/fd/{fd}").st_ino == inode
    except OSError:
        return False


def _exe(pid: int) -> str:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def waiting_on_stdin(root: int, stdin_inode: int, ignore_exe: str | None = None) -> bool:
    """True when the agent's whole process tree waits for evalkit: at least one thread reads the pipe whose
    inode is ``stdin_inode`` and every other thread waits on a futex or a child. False when unsure.
    Processes running ``ignore_exe`` (the sandbox's own bwrap processes) are left out."""
    if not SUPPORTED:
        return False
    reading = False
    for pid in process_tree(root):
        if ignore_exe and _exe(pid) == ignore_exe:
            continue
        states = _thread_states(pid)
        if states is None:
            return False
        for nr, arg in states:
            if nr in READS and _is_pipe(pid, arg, stdin_inode):
                reading = True
            elif nr not in WAITS:
                return False
    return reading


__all__ = ["waiting_on_stdin", "process_tree", "SUPPORTED"]
