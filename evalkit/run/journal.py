"""Resumable run journal: append-only, fsync'd JSON lines, one record per finished trial.

Line 1 is a header (suite, suite hash, build id, agent spec, run seed, trials); every other line is
``{"key": "<suite_hash>/<scenario_id>/<trial>/<build_id>", "row": {...}, "trajectory": {...}}``.
Records are acknowledged only after ``fsync``. Rerunning the same command skips journaled trials; a journal
of another build, suite version, seed or trial count is refused with a :class:`~evalkit.errors.UserError`.

A damaged record (a line torn by a crash, NUL bytes, a record that lacks fields, has wrong types or names a
scenario the suite does not hold: see :mod:`evalkit.run.journal_records`) is never used and never silently
dropped: on open it is moved, byte for byte, to ``<journal>.quarantine`` beside the journal, the journal is
rewritten without it, and :attr:`Journal.warnings` names it in one line; its trial is simply run again.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Collection, cast

from evalkit.atomic import fsync_dir, new_temp_file
from evalkit.errors import Problem, UserError, clip, printable
from evalkit.provenance import text_hash
from evalkit.run.journal_records import record_key, record_problem  # noqa: F401 - record_key is used from here
from evalkit.vocab import Status
from evalkit.workspace import EVALKIT_DIR

JOURNAL_VERSION = 1
HEADER_FIELDS = ("suite", "suite_hash", "build_id", "seed", "trials")
QUARANTINE_SUFFIX = ".quarantine"
#: damaged records named one per warning line; any more are counted in one last line
MAX_NAMED = 5


def build_hash(build_id: str) -> str:
    """The short hash of a build id that journal and run folder names carry."""
    return text_hash(build_id)


def journal_folder(journal_dir: str | Path | None) -> Path:
    """``journal_dir``, else the default ``.evalkit/journal`` (relative to the working directory)."""
    return Path(journal_dir) if journal_dir else Path(EVALKIT_DIR) / "journal"


def default_journal_path(journal_dir: str | Path | None, suite: str, build_id: str, seed: int, name: str = "") -> Path:
    """``<journal_folder(journal_dir)>/<suite>-<build-hash>-<seed>[-<name>].jsonl``."""
    base = journal_folder(journal_dir)
    safe = lambda text: "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in text)  # noqa: E731
    return base / f"{safe(suite)}-{build_hash(build_id)}-{seed}{'-' + safe(name) if name else ''}.jsonl"


def quarantine_path(journal: str | Path) -> Path:
    """Where the damaged records of ``journal`` are moved: ``<journal>.quarantine`` beside it."""
    journal = Path(journal)
    return journal.with_name(journal.name + QUARANTINE_SUFFIX)


@dataclass(frozen=True)
class Damaged:
    """One damaged journal line: its number (the header is line 1), its bytes and what is wrong with it."""

    line: int
    raw: bytes
    reason: str

    def name(self) -> str:
        """The record's key when it has one, else the start of the line."""
        try:
            key = json.loads(self.raw).get("key")
        except (ValueError, RecursionError, AttributeError):
            key = None
        if isinstance(key, str):
            return f"key '{clip(printable(key), 90)}'"
        return f"'{clip(printable(self.raw.decode('utf-8', 'backslashreplace')), 40)}'"


@dataclass
class JournalHeader:
    suite: str
    suite_hash: str
    build_id: str
    agent_spec: str
    seed: int
    trials: int

    def to_doc(self) -> dict:
        return {"journal": JOURNAL_VERSION, **asdict(self),  # the fields, in their order
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


class Journal:
    """An open journal: ``records`` holds what earlier runs finished (their trajectories are read back one at a
    time with :meth:`trajectory`); ``append`` adds and fsyncs a batch."""

    def __init__(self, path: str | Path, header: JournalHeader, fresh: bool = False,
                 scenario_ids: Collection[str] | None = None):
        """Open (and lock) the journal at ``path``; ``fresh`` discards what it holds, under the lock.
        ``scenario_ids``: the suite's scenarios; a record naming another one is damaged."""
        self.path = Path(path)
        self.header = header
        self.fresh = fresh
        self.scenario_ids = None if scenario_ids is None else frozenset(scenario_ids)
        self.records: dict[str, dict] = {}  # key -> record (key, row, outcome); trajectories stay in the file
        self._lines: dict[str, tuple[int, int]] = {}  # key -> (offset, length) of the line of a record read back
        self.truncated_bytes = 0
        self.damaged: list[Damaged] = []
        self._fh = None
        self._reader = None
        self._unsynced = 0
        self._open()

    # --- opening ----------------------------------------------------------------------------------
    def _open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError.at(str(self.path.parent), "", str(self.path.parent),
                               f"cannot create the journal directory ({exc.strerror}); pass a writable --journal-dir") from None
        self._lock_current_file()
        size = self.path.stat().st_size
        if size and not self.fresh:
            self._load_existing(size)
        else:
            self._start_over()  # fresh: discarded under the lock, so a concurrent run cannot be cut short
            fsync_dir(self.path.parent)

    def _lock_current_file(self) -> None:
        """Open and lock the journal file; again if it was replaced (quarantine rewrites it) meanwhile, so the
        lock held is always the one on the file the path names."""
        for _ in range(10):
            try:
                self._fh = open(self.path, "ab")
            except OSError as exc:
                raise UserError.at(str(self.path), "", str(self.path), f"cannot write the journal ({exc.strerror}); "
                                   "pass a writable --journal-dir") from None
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self._fh.close()
                self._fh = None
                raise UserError.at(str(self.path), "", "locked", "another evalkit run is using this journal; wait "
                                   "for it to finish or pass another --journal-dir") from None
            with suppress(FileNotFoundError):
                if os.stat(self.path).st_ino == os.fstat(self._fh.fileno()).st_ino:
                    return
            self._fh.close()
        raise UserError.at(str(self.path), "", "replaced", "the journal keeps being replaced while it is opened; "
                           "make sure one evalkit run uses it at a time")

    def _load_existing(self, size: int) -> None:
        """Read the journal (``size`` bytes) line by line: each good record is remembered without its trajectory, which
        stays in the file (see :meth:`trajectory`), so resuming a long run holds its rows, not its trajectories."""
        with open(self.path, "rb") as fh:
            first = fh.readline()
            if not first.endswith(b"\n"):
                self._start_over()  # only a torn header: nothing was ever acknowledged
                return
            head = _parse(first[:-1])
            if not isinstance(head, dict) or "journal" not in head:
                raise UserError.at(str(self.path), "header", first[:60].decode("utf-8", "backslashreplace"),
                                   "not an evalkit journal; delete it or pass another --journal-dir")
            self._check_header(head)
            good = [(0, len(first))]  # (offset, length with the newline) of every line kept
            offset = len(first)
            for number, raw in enumerate(fh, start=2):
                torn = not raw.endswith(b"\n")  # after the last newline: a line torn by a crash mid-write
                line = raw if torn else raw[:-1]
                rec = _parse(line)
                reason = "torn by a crash mid-write" if torn else "not JSON" if rec is _BAD else record_problem(
                    rec, suite_hash=self.header.suite_hash, build_id=self.header.build_id,
                    trials=self.header.trials, scenario_ids=self.scenario_ids)
                if reason is None:
                    good.append((offset, len(raw)))
                    record = cast(dict, rec)  # record_problem found none: a record with every field
                    del record["trajectory"]
                    self._remember(record, (offset, len(line)))
                else:
                    self.damaged.append(Damaged(number, line, reason))
                offset += len(raw)
        if self.damaged:
            self._quarantine(good, size)

    def _quarantine(self, good: list[tuple[int, int]], size: int) -> None:
        """Append the damaged lines to the quarantine file (durably, first), then replace the journal by its
        ``good`` lines (copied in order): a crash in between leaves them in both places, never in neither."""
        target = quarantine_path(self.path)
        with open(target, "ab") as fh:
            fh.write(b"".join(d.raw + b"\n" for d in self.damaged))
            fh.flush()
            os.fsync(fh.fileno())
        fd, name = new_temp_file(self.path)
        fresh = os.fdopen(fd, "ab")
        moved: dict[int, int] = {}  # old offset -> new offset of each kept line
        kept = 0
        try:
            fcntl.flock(fresh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)  # locked before anyone can see it
            with open(self.path, "rb") as old:
                for start, length in good:
                    moved[start] = kept
                    fresh.write(os.pread(old.fileno(), length, start))
                    kept += length
            fresh.flush()
            os.fsync(fresh.fileno())
            os.replace(name, self.path)
        except BaseException:
            fresh.close()
            name.unlink(missing_ok=True)
            raise
        fsync_dir(self.path.parent)
        self._fh.close()
        self._fh = fresh
        self._lines = {key: (moved[start], length) for key, (start, length) in self._lines.items()}
        self.truncated_bytes = size - kept

    @property
    def warnings(self) -> list[str]:
        """One line per damaged record (the first few; then how many more), for the run's summary."""
        target = quarantine_path(self.path)
        out = [f"journal {printable(self.path)} line {d.line} ({d.name()}): {printable(d.reason)}; moved to "
               f"{printable(target)} and its trial is run again" for d in self.damaged[:MAX_NAMED]]
        if len(self.damaged) > MAX_NAMED:
            out.append(f"journal {printable(self.path)}: {len(self.damaged) - MAX_NAMED} more damaged record(s) "
                       f"moved to {printable(target)}; their trials are run again")
        return out

    def _start_over(self) -> None:
        """Empty the journal file and write the header, durably."""
        os.ftruncate(self._fh.fileno(), 0)
        self._fh.write(_line(self.header.to_doc()))
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def _check_header(self, head: dict) -> None:
        mine = {name: getattr(self.header, name) for name in HEADER_FIELDS}
        fixes = {
            "suite_hash": "the suite changed since this journal was written",
            "build_id": "the journal belongs to another agent build",
            "seed": "the journal was written with another --seed",
            "trials": "the journal was written with another --trials",
            "suite": "the journal belongs to another suite",
        }
        problems = [Problem(str(self.path), name, head.get(name),
                            f"{fixes[name]} (this run: {mine[name]!r}); discard it (evalkit run --fresh) or pass "
                            "another --journal-dir") for name in HEADER_FIELDS if head.get(name) != mine[name]]
        if problems:
            raise UserError(*problems)

    def _remember(self, rec: dict, line: tuple[int, int] | None = None) -> None:
        """First record of a key wins, except that a finished trial supersedes an infra failure (retried).
        ``line``: where a record read back from the file lies in it (offset, length), for :meth:`trajectory`."""
        old = self.records.get(rec["key"])
        if old is None or (_is_infra(old) and not _is_infra(rec)):
            self.records[rec["key"]] = rec
            if line is not None:
                self._lines[rec["key"]] = line

    def line(self, key: str) -> bytes:
        """The JSON line of a record read back when the journal was opened, as it is in the file."""
        start, length = self._lines[key]
        if self._reader is None:
            self._reader = open(self.path, "rb")  # the file as it is now: after any quarantine rewrote it
        return os.pread(self._reader.fileno(), length, start)

    def trajectory(self, key: str) -> dict:
        """The trajectory of a record read back when the journal was opened, parsed again from its line."""
        return json.loads(self.line(key))["trajectory"]

    def finished_keys(self) -> set[str]:
        """Keys of trials that need no rerun (infrastructure failures are retried on resume)."""
        return {k for k, r in self.records.items() if not _is_infra(r)}

    # --- writing ----------------------------------------------------------------------------------
    def append(self, records: list[dict], sync: bool = True) -> list[bytes]:
        """Append records (each ``{"key", "row", "trajectory"}``); ``sync`` fsyncs before returning. Returns the
        JSON line written for each record (so a caller keeping the trajectory need not encode it again)."""
        lines = [_line(r) for r in records]
        if records:
            self._fh.write(b"".join(lines))
            self._fh.flush()
            self._unsynced += len(records)
            for r in records:
                self._remember(r)
        if sync:
            self.sync()
        return lines

    def sync(self) -> int:
        """fsync what was appended; returns how many records this acknowledged."""
        n, self._unsynced = self._unsynced, 0
        if n:  # fdatasync where available (data and file size, without timestamps)
            (getattr(os, "fdatasync", None) or os.fsync)(self._fh.fileno())
        return n

    @property
    def unsynced(self) -> int:
        return self._unsynced

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
        if self._fh is not None:
            self.sync()
            self._fh.close()
            self._fh = None

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_infra(rec: dict) -> bool:
    return rec["row"].get("status") == Status.INFRA_ERROR


_BAD = object()


def _parse(raw: bytes) -> object:
    """The JSON document of one line, or ``_BAD`` (not UTF-8 JSON, or nested too deep to parse)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return _BAD


def _line(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":"), allow_nan=True).encode() + b"\n"
