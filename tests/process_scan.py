"""Find processes by a token in their command line: how containment tests see what a run left behind."""

from __future__ import annotations

import os
import time
import uuid


def new_token() -> str:
    """A marker no other process on the machine carries."""
    return f"evalkit-test-{uuid.uuid4().hex}"


def running_with(token: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line contains ``token``."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as fh:
                cmdline = fh.read()
            with open(f"/proc/{name}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if token.encode() in cmdline and state != "Z":
            out.append(int(name))
    return out


def left_running(token: str, settle_s: float = 5.0) -> list[int]:
    """Processes carrying ``token`` that are still alive after up to ``settle_s`` (kills are asynchronous)."""
    end = time.monotonic() + settle_s
    while True:
        pids = running_with(token)
        if not pids or time.monotonic() >= end:
            return pids
        time.sleep(0.05)
