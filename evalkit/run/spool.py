"""A run's trajectories kept in an anonymous temp file instead of memory, and read back on demand.

A trajectory (every tool call of a trial, its finding and stderr) is tens of kilobytes in memory; a run of
100,000 trials would hold gigabytes of them until it ends. The runner spools each one here as soon as it is
journaled (the journal's line as written: the trajectory is encoded once), keeps only its place in the file, and hands out :class:`Trajectories`, a read-only sequence that
parses an item when it is read. The file has no name (it disappears with the process, or when the last sequence
reading it is gone), and items come back as their JSON round trip, as a resumed run's always did.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, overload


class TrajectorySpool:
    """Append-only store of one run's trajectories: ``put`` a trajectory under its record key, ``view`` the
    trajectories of some keys, in that order."""

    def __init__(self) -> None:
        self._fh = tempfile.TemporaryFile(prefix="evalkit-trajectories-")
        # closed (not just dropped, which Python reports as a ResourceWarning) once the spool and every sequence
        # reading it are gone, or when the interpreter exits
        weakref.finalize(self, self._fh.close)
        self._at: dict[str, tuple[int, int]] = {}  # record key -> (offset, length) of its JSON in the file
        self._end = 0
        self._dirty = False
        self._lock = threading.Lock()

    def put(self, key: str, trajectory: dict) -> None:
        """Spool ``trajectory`` (replacing an earlier one of ``key``; the old bytes stay, unreferenced)."""
        self.put_record(key, json.dumps({"trajectory": trajectory}, separators=(",", ":"), allow_nan=True).encode())

    def put_record(self, key: str, data: bytes) -> None:
        """Spool the JSON text of a record whose ``trajectory`` member is the trajectory (a journal line as it was
        written or read back), without encoding the trajectory again."""
        with self._lock:
            self._fh.write(data)
            self._at[key] = (self._end, len(data))
            self._end += len(data)
            self._dirty = True

    def __len__(self) -> int:
        return len(self._at)

    def read(self, key: str) -> dict:
        """The trajectory spooled under ``key`` (a fresh copy each time)."""
        offset, length = self._at[key]
        if self._dirty:
            with self._lock:
                self._fh.flush()
                self._dirty = False
        return json.loads(os.pread(self._fh.fileno(), length, offset))["trajectory"]

    def view(self, keys: Sequence[str]) -> Trajectories:
        """The trajectories of ``keys`` (all spooled), in that order."""
        if missing := [k for k in keys if k not in self._at]:
            raise KeyError(f"no trajectory spooled for {missing[0]!r}")
        return Trajectories(self, list(keys))


class Trajectories(Sequence):
    """A read-only sequence of trajectories backed by a :class:`TrajectorySpool`: ``len``, indexing, slicing
    (a list), iteration, ``==`` with any sequence and ``+`` (a list); pickles as a plain list."""

    def __init__(self, spool: TrajectorySpool, keys: list[str]):
        self._spool = spool
        self._keys = keys

    def __len__(self) -> int:
        return len(self._keys)

    @overload
    def __getitem__(self, index: int) -> dict: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict]: ...

    def __getitem__(self, index: int | slice) -> dict | list[dict]:
        if isinstance(index, slice):
            return [self._spool.read(k) for k in self._keys[index]]
        return self._spool.read(self._keys[index])

    def __iter__(self) -> Iterator[dict]:
        return map(self._spool.read, self._keys)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, (str, bytes)):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]  # mutable-looking like a list: not hashable

    def __add__(self, other: Any) -> list[dict]:
        return list(self) + list(other)

    def __radd__(self, other: Any) -> list[dict]:
        return list(other) + list(self)

    def __reduce__(self):
        return list, (list(self),)

    def __repr__(self) -> str:
        return f"<Trajectories: {len(self)} trials, on disk>"
