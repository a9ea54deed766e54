"""The offline outbox: runs that could not reach their tracking server wait in ``.evalkit/outbox/<key>/``.

An entry is a prepared run (results Parquet, trajectories, meta, reports, ``request.json`` with params,
tags, metrics, target URI and the idempotency key). Entries appear atomically (staged, then renamed).
:func:`sync_outbox` uploads each exactly once: the key is a run tag, searched before creating; a per-entry
file lock stops two local syncs from racing; the entry is removed only after the server holds the run.
"""

from __future__ import annotations

import os
import shutil
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.store.payload import REQUEST_FILE, PreparedRun
from evalkit.store.tracking import (TrackingTarget, evalkit_dir, file_lock, is_unreachable_error, make_client, probe,
                                    resolve_tracking)

OUTBOX_DIR = "outbox"


def default_outbox_dir(root: Path | str | None = None) -> Path:
    """``<root>/.evalkit/outbox`` (root defaults to the project root, like the embedded store)."""
    return evalkit_dir(root) / OUTBOX_DIR


@dataclass(frozen=True)
class OutboxEntry:
    """A queued run: its key, folder and the tracking URI it was meant for."""

    key: str
    path: Path
    tracking_uri: str
    suite: str
    build_id: str
    created_at: str


@dataclass(frozen=True)
class SyncResult:
    """What happened to one outbox entry: ``uploaded``, ``already present``, ``unreachable`` or ``busy``."""

    key: str
    status: str
    run_id: str | None
    tracking_uri: str
    message: str


class Outbox:
    """A folder of queued runs (see the module docstring)."""

    def __init__(self, directory: Path | str):
        self.directory = Path(directory)

    def put(self, prepared: PreparedRun) -> Path:
        """Move ``prepared``'s folder into the outbox as ``<key>/`` (atomically visible) and return it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        final = self.directory / prepared.key
        staging = self.directory / f".staging-{prepared.key}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(prepared.directory, staging)
        if final.exists():
            shutil.rmtree(staging, ignore_errors=True)
            raise FileExistsError(f"outbox entry {final} exists already")
        os.rename(staging, final)
        shutil.rmtree(prepared.directory, ignore_errors=True)
        prepared.directory = final
        return final

    def entries(self) -> list[OutboxEntry]:
        """Queued runs, oldest first (keys start with their UTC time)."""
        if not self.directory.is_dir():
            return []
        queued = [p for p in sorted(self.directory.iterdir())
                  if not p.name.startswith(".") and (p / REQUEST_FILE).is_file()]
        return [OutboxEntry(r.key, r.directory, r.tracking_uri, r.suite, r.build_id, r.created_at)
                for r in map(PreparedRun.load, queued)]

    def claim(self, entry: OutboxEntry) -> AbstractContextManager[bool]:
        """Hold this entry's lock for the block; yields False if another process holds it."""
        return file_lock(self.directory / ".locks" / f"{entry.key}.lock", wait=False)

    def remove(self, entry: OutboxEntry) -> None:
        """Delete an entry after its run is safely on the server (rename first: never half-deleted)."""
        if entry.path.exists():
            trash = self.directory / f".removing-{entry.key}-{os.getpid()}"
            os.rename(entry.path, trash)
            shutil.rmtree(trash, ignore_errors=True)


def sync_outbox(outbox: Outbox, tracking_uri: str | None = None) -> list[SyncResult]:
    """Upload every queued run, each exactly once. Entries go to the server they were queued for, or all to
    ``tracking_uri`` when given. Unreachable targets are reported and their entries kept."""
    from evalkit.store.runs import settle_key

    results: list[SyncResult] = []
    targets: dict[str, TrackingTarget] = {}
    clients: dict[str, Any] = {}
    down: dict[str, str] = {}
    for entry in outbox.entries():
        uri = tracking_uri or entry.tracking_uri
        if uri not in targets:
            targets[uri] = resolve_tracking(uri)
            reason = probe(targets[uri])
            if reason is not None:
                down[uri] = reason
        target = targets[uri]
        if uri in down:
            results.append(SyncResult(entry.key, "unreachable", None, target.display,
                                      f"{target.display} unreachable ({down[uri]}); kept in {entry.path}"))
            continue
        with outbox.claim(entry) as mine:
            if not mine or not entry.path.exists():
                results.append(SyncResult(entry.key, "busy", None, target.display,
                                          "another evalkit sync is uploading this entry"))
                continue
            if uri not in clients:
                clients[uri] = make_client(target)
            prepared = PreparedRun.load(entry.path)
            try:
                run_id, fresh = settle_key(clients[uri], target, prepared)
            except Exception as exc:
                if not is_unreachable_error(exc):
                    raise
                down[uri] = type(exc).__name__
                results.append(SyncResult(entry.key, "unreachable", None, target.display,
                                          f"{target.display} went away during upload; kept in {entry.path}"))
                continue
            outbox.remove(entry)
            status = "uploaded" if fresh else "already present"
            results.append(SyncResult(entry.key, status, run_id, target.display,
                                      f"{status}: run {run_id} in {prepared.experiment} at {target.display}"))
    return results
