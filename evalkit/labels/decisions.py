"""The review decision log: append-only JSON lines (who, when, what, why), flushed and fsynced per decision.

It is the source of truth of a review: a review resumes from it after a crash, admission reads it. A line torn by
a crash mid-write is skipped on reading (the decision it held was never acknowledged) and fenced off by a newline
before the next append.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from evalkit.atomic import fsync_dir
from evalkit.vocab import ReviewAction

FINAL = (ReviewAction.APPROVE, ReviewAction.REJECT, ReviewAction.EDIT, ReviewAction.AUTO_APPROVE)
ADMITTED = (ReviewAction.APPROVE, ReviewAction.EDIT, ReviewAction.AUTO_APPROVE)


def utc_iso(t: float) -> str:
    """A decision's (and an admission's) time: ``t`` in seconds as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass
class Decision:
    """One decision on a candidate. ``truth`` is the reviewer's edit (``{"component", "fault_type"}``);
    ``spot_check``: an above-threshold candidate drawn for review."""

    candidate: str
    action: ReviewAction
    reviewer: str
    at: str
    reason: str = ""
    truth: dict | None = None
    spot_check: bool = False


class DecisionLog:
    """``append`` one decision durably; ``read`` them all; ``final`` the last final decision per candidate."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.torn = 0  # lines skipped by the last read

    def append(self, d: Decision) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps(asdict(d), sort_keys=True, separators=(",", ":")) + "\n"
        created = not self.path.exists()
        with open(self.path, "a+b") as fh:
            if fh.tell() > 0:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    fh.write(b"\n")  # fence off a line torn by a crash
            fh.write(line.encode("utf-8"))
            fh.flush()
            os.fsync(fh.fileno())
        if created:  # the log's own folder entry, so the first acknowledged decision survives a crash too
            fsync_dir(self.path.parent)

    def read(self) -> list[Decision]:
        if not self.path.is_file():
            return []
        out, self.torn = [], 0
        for raw in self.path.read_bytes().split(b"\n"):
            if not raw.strip():
                continue
            try:
                doc = json.loads(raw)
                doc["action"] = ReviewAction(doc["action"])
                out.append(Decision(**doc))
            except (ValueError, TypeError, KeyError):
                self.torn += 1
        return out

    def final(self) -> dict[str, Decision]:
        """The latest final (non-skip) decision of every decided candidate."""
        return {d.candidate: d for d in self.read() if d.action in FINAL}
