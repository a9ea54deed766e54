"""Resumable run journal: append-only, fsync'd JSON lines, one record per finished trial.

Line 1 is a header (suite, suite hash, build id, agent spec, run seed, trials); every other line is
``{"key": "<suite_hash>/<scenario_id>/<trial>/<build_id>", "row": {...}, "trajectory": {...}}``.
Records are acknowledged only after ``fsync``; a torn last line (crash mid-write) is truncated on open.
Rerunning the same command skips journaled trials; a journal of another build, suite version, seed or
trial count is refused with a :class:`~evalkit.errors.UserError`.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from evalkit.atomic import fsync_dir
from evalkit.errors import Problem, UserError
from evalkit.vocab import Status

JOURNAL_VERSION = 1
HEADER_FIELDS = ("suite", "suite_hash", "build_id", "seed", "trials")


def build_hash(build_id: str) -> str:
    return hashlib.sha256(build_id.encode()).hexdigest()[:12]


def default_journal_path(journal_dir: str | Path | None, suite: str, build_id: str, seed: int) -> Path:
    """``<journal_dir or .evalkit/journal>/<suite>-<build-hash>-<seed>.jsonl``."""
    base = Path(journal_dir) if journal_dir else Path(".evalkit") / "journal"
    safe_suite = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in suite)
    return base / f"{safe_suite}-{build_hash(build_id)}-{seed}.jsonl"


def record_key(suite_hash: str, scenario_id: str, trial: int, build_id: str) -> str:
    return f"{suite_hash}/{scenario_id}/{int(trial)}/{build_id}"


@dataclass
class JournalHeader:
    suite: str
    suite_hash: str
    build_id: str
    agent_spec: str
    seed: int
    trials: int

    def to_doc(self) -> dict:
        return {"journal": JOURNAL_VERSION, "suite": self.suite, "suite_hash": self.suite_hash,
                "build_id": self.build_id, "agent_spec": self.agent_spec, "seed": self.seed,
                "trials": self.trials, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


class Journal:
    """An open journal: ``records`` holds what earlier runs finished; ``append`` adds and fsyncs a batch."""

    def __init__(self, path: str | Path, header: JournalHeader, fresh: bool = False):
        """Open (and lock) the journal at ``path``; ``fresh`` discards what it holds, under the lock."""
        self.path = Path(path)
        self.header = header
        self.fresh = fresh
        self.records: dict[str, dict] = {}
        self.truncated_bytes = 0
        self._fh = None
        self._unsynced = 0
        self._open()

    # --- opening ----------------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError.at(str(self.path.parent), "", str(self.path.parent),
                               f"cannot create the journal directory ({exc.strerror}); pass a writable --journal-dir") from None
        try:
            self._fh = open(self.path, "ab")
        except OSError as exc:
            raise UserError.at(str(self.path), "", str(self.path),
                               f"cannot write the journal ({exc.strerror}); pass a writable --journal-dir") from None
        try:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.close()
            self._fh = None
            raise UserError.at(str(self.path), "", "locked", "another evalkit run is using this journal; wait for "
                               "it to finish or pass another --journal-dir") from None
        size = self.path.stat().st_size
        if size and not self.fresh:
            self._load_existing()
        else:
            if size:
                self._truncate(0)  # fresh: discarded under the lock, so a concurrent run cannot be cut short
            self._write_header()
            fsync_dir(self.path.parent)

    def _load_existing(self) -> None:
        data = self.path.read_bytes()
        good_end = data.rfind(b"\n") + 1
        lines = data[:good_end].split(b"\n")[:-1]
        if not lines:
            # Only a torn header: nothing was ever acknowledged; start the journal afresh.
            self._truncate(0)
            self._write_header()
            return
        try:
            head = json.loads(lines[0])
            if not isinstance(head, dict) or "journal" not in head:
                raise ValueError("no header")
        except ValueError:
            raise UserError.at(str(self.path), "header", lines[0][:60].decode(errors="replace"),
                               "not an evalkit journal; delete it or pass another --journal-dir") from None
        self._check_header(head)
        for number, raw in enumerate(lines[1:], start=2):
            try:
                rec = json.loads(raw)
                if not all(isinstance(rec.get(k), (str, dict)) for k in ("key", "row", "trajectory")):
                    raise ValueError("incomplete record")
            except (ValueError, AttributeError):
                if number == len(lines):  # a torn last line that happens to end in a newline
                    good_end -= len(raw) + 1
                    break
                raise UserError.at(str(self.path), f"line {number}", raw[:60].decode(errors="replace"),
                                   "the journal is corrupt before its end; move it aside to start the run afresh") from None
            self._remember(rec)
        if good_end < len(data):
            self.truncated_bytes = len(data) - good_end
            self._truncate(good_end)

    def _truncate(self, size: int) -> None:
        os.ftruncate(self._fh.fileno(), size)
        os.fsync(self._fh.fileno())

    def _write_header(self) -> None:
        self._fh.write(_line(self.header.to_doc()))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def _check_header(self, head: dict) -> None:
        mine = {"suite": self.header.suite, "suite_hash": self.header.suite_hash,
                "build_id": self.header.build_id, "seed": self.header.seed, "trials": self.header.trials}
        fixes = {
            "suite_hash": "the suite changed since this journal was written",
            "build_id": "the journal belongs to another agent build",
            "seed": "the journal was written with another --seed",
            "trials": "the journal was written with another --trials",
            "suite": "the journal belongs to another suite",
        }
        problems = []
        for name in HEADER_FIELDS:
            if head.get(name) != mine[name]:
                problems.append(Problem(
                    str(self.path), name, head.get(name),
                    f"{fixes[name]} (this run: {mine[name]!r}); discard it (evalkit run --fresh) or pass another "
                    "--journal-dir",
                ))
        if problems:
            raise UserError(*problems)

    def _remember(self, rec: dict) -> None:
        """First record of a key wins, except that a finished trial supersedes an infra failure (retried)."""
        old = self.records.get(rec["key"])
        if old is None or (_is_infra(old) and not _is_infra(rec)):
            self.records[rec["key"]] = rec

    def finished_keys(self) -> set[str]:
        """Keys of trials that need no rerun (infrastructure failures are retried on resume)."""
        return {k for k, r in self.records.items() if not _is_infra(r)}

    # --- writing ----------------------------------------------------------------------------------
    def append(self, records: list[dict], sync: bool = True) -> None:
        """Append records (each ``{"key", "row", "trajectory"}``); ``sync`` fsyncs before returning."""
        if records:
            self._fh.write(b"".join(_line(r) for r in records))
            self._fh.flush()
            self._unsynced += len(records)
            for r in records:
                self._remember(r)
        if sync:
            self.sync()

    def sync(self) -> int:
        """fsync what was appended; returns how many records this acknowledged."""
        n, self._unsynced = self._unsynced, 0
        if n:
            _datasync(self._fh.fileno())
        return n

    @property
    def unsynced(self) -> int:
        return self._unsynced

    def close(self) -> None:
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_infra(rec: dict) -> bool:
    return rec.get("row", {}).get("status") == Status.INFRA_ERROR


def _line(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":"), allow_nan=True).encode() + b"\n"


def _datasync(fd: int) -> None:
    """fdatasync where available (data and file size, without timestamps), else fsync."""
    (getattr(os, "fdatasync", None) or os.fsync)(fd)

