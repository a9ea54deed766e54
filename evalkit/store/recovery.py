"""Closing MLflow runs an interrupted upload left RUNNING (evalkit killed with SIGKILL while logging).

Every upload tags its run with who is uploading it (host, process id and that process's start time) and when
it began. The next ``run``, ``gate`` or ``sync`` looks for evaluation runs still RUNNING whose uploader is
gone (a process of this host that no longer exists, or an upload from another host that began more than
:data:`STALE_AFTER_S` ago) and closes them: FINISHED when every artifact had been logged (only the final
status was lost), FAILED otherwise. Runs of live uploads are left alone, and nothing is ever deleted.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from evalkit.store import names
from evalkit.store.tracking import retry_locked
from evalkit.vocab import Outcome

#: an upload from another host is presumed dead after this long (uploads take seconds to minutes)
STALE_AFTER_S = 3600.0


def _process_start(pid: int) -> str:
    """The start time of process ``pid`` in clock ticks since boot ('' where /proc is not available), so a
    recycled process id is not mistaken for the uploader."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[1].split()[19]


def uploader_tags(now: Callable[[], float] = time.time) -> dict[str, str]:
    """The tags an upload sets on its run when it creates it: who uploads it, since when."""
    pid = os.getpid()
    return {names.TAG_UPLOADER: f"{socket.gethostname()}:{pid}:{_process_start(pid)}",
            names.TAG_UPLOAD_STARTED: f"{now():.0f}"}


def _process_alive(pid: int, start: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by someone else
    return not start or _process_start(pid) in ("", start)


def uploader_gone(tags: dict[str, str], start_time_ms: int, *, now: float, host: str,
                  alive: Callable[[int, str], bool] = _process_alive) -> bool:
    """Whether the upload that created a run (from its tags) can no longer finish it."""
    uploader = tags.get(names.TAG_UPLOADER, "")
    parts = uploader.rsplit(":", 2)
    if len(parts) == 3 and parts[0] == host and parts[1].isdigit():
        return not alive(int(parts[1]), parts[2])
    try:
        began = float(tags[names.TAG_UPLOAD_STARTED])
    except (KeyError, ValueError):
        began = start_time_ms / 1000  # a run of an older evalkit: its start time is the best we know
    return now - began > STALE_AFTER_S


@dataclass(frozen=True)
class Settled:
    """A run closed on behalf of its dead upload: its id, experiment and the status it was given."""

    run_id: str
    experiment: str
    status: str


def settle_interrupted(client: Any, experiments: Iterable[str], *, now: Callable[[], float] = time.time,
                       host: str | None = None, alive: Callable[[int, str], bool] = _process_alive) -> list[Settled]:
    """Close the evaluation runs of ``experiments`` (names; missing ones are skipped) that an interrupted
    upload left RUNNING; see the module docstring."""
    from mlflow.entities import RunStatus

    host = host or socket.gethostname()
    found = [retry_locked(client.get_experiment_by_name, name) for name in experiments]
    ids = {e.experiment_id: e.name for e in found if e is not None and e.lifecycle_stage == "active"}
    if not ids:
        return []
    # an upload creates its run RUNNING (MLflow's search has no "or": SCHEDULED, never used, is not searched)
    left = retry_locked(client.search_runs, list(ids), filter_string="attributes.status = 'RUNNING'",
                        max_results=1000)
    settled = []
    for run in left:
        tags = dict(run.data.tags)
        if not tags.get(names.TAG_KEY):
            continue  # not an evaluation run of evalkit's
        if not uploader_gone(tags, int(run.info.start_time or 0), now=now(), host=host, alive=alive):
            continue
        complete = tags.get(names.TAG_UPLOADED) == "true" and tags.get(names.TAG_OUTCOME) != Outcome.FAILED
        status = RunStatus.to_string(RunStatus.FINISHED if complete else RunStatus.FAILED)
        retry_locked(client.set_terminated, run.info.run_id, status)
        settled.append(Settled(run.info.run_id, ids[run.info.experiment_id], status))
    return settled


def settled_message(settled: list[Settled], tracking_uri: str) -> str:
    """One line saying which runs were closed (empty when none were)."""
    if not settled:
        return ""
    shown = ", ".join(f"{s.run_id} ({s.experiment}) {s.status}" for s in settled[:5])
    more = f" and {len(settled) - 5} more" if len(settled) > 5 else ""
    return (f"closed {len(settled)} MLflow run(s) at {tracking_uri} left RUNNING by an interrupted upload: "
            f"{shown}{more}")
