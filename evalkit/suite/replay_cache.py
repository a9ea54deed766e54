"""Content-addressed cache of replayed generated worlds, shared by processes and runs.

Replaying a generated world costs ~10-25 ms; a run replays each scenario once per worker at most (the
worker keeps an in-process LRU), and this cache makes every later replay of the same world, by any
process or run on the machine, a ~1 ms read.

Key: the generator id, a fingerprint of the generator's source code and numpy's version, the category, seed,
noise level and everything :func:`evalkit.suite.generator.replay` checks (window, alert, digest). An entry is written only
after a fresh replay passed those checks, so a hit stands for a replay that matched the scenario's digest
with this exact generator; a changed generator changes every key and the next load replays (and refuses a
stale scenario) again. Entries carry a SHA-256 of their payload (a torn or corrupted file is a miss) and
are written as temp-then-rename (:mod:`evalkit.atomic`, without fsync), so concurrent writers of one key
are safe.
The payload is plain data (a pickle whose unpickler refuses every class) with all metric series packed in
one float64 block that is read back as array views.

Location: ``<cache_dir>/replay/`` (:func:`evalkit.cache.cache_dir`); ``EVALKIT_REPLAY_CACHE=0`` turns it off;
``EVALKIT_REPLAY_CACHE_MB`` bounds its size (default 4096, ~13,000 core-sized worlds): oldest-used entries are evicted.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import time
from contextlib import suppress
from dataclasses import fields
from functools import lru_cache
from pathlib import Path

import numpy as np

from evalkit.world.model import World

MAGIC = b"evalkit-world/3\n"
DEFAULT_MAX_MB = 4096
PRUNE_EVERY = 64           # writes between two size checks of the cache folder (per process)
ORPHAN_S = 3600            # a temp file this old was left by a killed writer (a live one renames it in ms)
_writes = 0


def enabled() -> bool:
    """Whether the on-disk replay cache is in use (``EVALKIT_REPLAY_CACHE=0`` turns it off)."""
    return os.environ.get("EVALKIT_REPLAY_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def replay_dir() -> Path:
    """The folder holding the cached worlds."""
    from evalkit.cache import cache_dir

    return cache_dir() / "replay"


def max_bytes() -> int:
    """The size bound of the cache folder, in bytes."""
    try:
        return int(float(os.environ.get("EVALKIT_REPLAY_CACHE_MB", DEFAULT_MAX_MB)) * 2**20)
    except (ValueError, OverflowError):  # not a number, or not a finite one
        return DEFAULT_MAX_MB * 2**20


def generator_sources() -> list[Path]:
    """The source files a replay runs: every module of the generator package and every evalkit module they
    import, to any depth (noise, World, the digest's JSON writer, ...)."""
    import evalkit.suite.generator as gen
    from evalkit.cache import imported_sources

    package = gen.__name__
    modules = [package if f.stem == "__init__" else f"{package}.{f.stem}" for f in Path(gen.__file__).parent.glob("*.py")]
    return imported_sources(modules)


@lru_cache(maxsize=1)
def generator_fingerprint() -> str:
    """SHA-256 of GENERATOR_ID, numpy's version (its random streams may change between releases) and the source
    of every module a replay runs (:func:`generator_sources`)."""
    from evalkit.cache import source_fingerprint
    from evalkit.suite.generator.plan import GENERATOR_ID

    return source_fingerprint(f"{GENERATOR_ID}/numpy {np.__version__}", generator_sources())


def replay_key(category: str, seed: int, noise_level: float, window: tuple[int, int] | None,
               alert: dict | None, digest: str | None) -> str:
    """The content address of one verified replay."""
    doc = [generator_fingerprint(), category, int(seed), repr(float(noise_level)),
           list(window) if window is not None else None, alert, digest]
    return hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _path(key: str) -> Path:
    return replay_dir() / key[:2] / f"{key}.world"


class _Unpickler(pickle.Unpickler):
    """Plain data only (dicts, lists, tuples, strings, numbers, bytes): an entry can name no class at all."""

    def find_class(self, module: str, name: str):
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cached world")


_HEAVY = ("metrics", "logs", "traces")
_LIGHT = ("start", "end", "step", "components", "edges", "metric_units", "events", "monitors", "alert")


def _encode(world: World) -> bytes:
    """A World as plain data: the light fields, then logs and traces as their own pickle and every metric
    series packed into one float64 block, so a reader decodes those only when first used."""
    index, chunks, offset = [], [], 0
    for comp, series in world.metrics.items():
        for metric, values in series.items():
            arr = np.ascontiguousarray(values, dtype="<f8")
            if arr.ndim != 1 or np.asarray(values).dtype != np.float64:
                raise TypeError(f"metric {comp}/{metric} is not a float64 series")
            index.append((comp, metric, offset, len(arr)))
            chunks.append(arr.tobytes())
            offset += len(arr)
    light = {f: getattr(world, f) for f in _LIGHT}
    heavy = pickle.dumps((world.logs, world.traces), protocol=5)
    return pickle.dumps((light, index, heavy, b"".join(chunks)), protocol=5)


def _plain(data: bytes | memoryview):
    return _Unpickler(io.BytesIO(data)).load()


def _decode(payload: memoryview) -> World:
    light, index, heavy, block = _plain(payload)
    world = _LazyWorld.__new__(_LazyWorld)
    world.__dict__.update(light)
    world.__dict__["_pending"] = (index, heavy, block)
    return world


class _LazyWorld(World):
    """A World read from the replay cache: metrics, logs and traces are decoded on first access (an agent
    that answers without looking pays for none of them); pickles as a plain World."""

    def __getattr__(self, name: str):
        if name not in _HEAVY:
            raise AttributeError(name)
        state = self.__dict__
        pending = state.get("_pending")
        if pending is not None:  # threads may race here: both decode the same data, the fields are set first
            index, heavy, block = pending
            values = np.frombuffer(bytearray(block), dtype="<f8")
            metrics: dict[str, dict[str, np.ndarray]] = {}
            for comp, metric, offset, n in index:
                metrics.setdefault(comp, {})[metric] = values[offset:offset + n]
            logs, traces = _plain(heavy)
            state.update(metrics=metrics, logs=logs, traces=traces)
            state.pop("_pending", None)
        try:
            return state[name]
        except KeyError:
            raise AttributeError(name) from None

    def __reduce__(self):
        """Pickles (e.g. to a Ray worker) as a plain World."""
        return World, tuple(getattr(self, f.name) for f in fields(World))


def get(key: str) -> World | None:
    """The cached world for ``key``, or None (missing, torn, corrupted or unreadable entry)."""
    path = _path(key)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    head = len(MAGIC) + 64
    if len(data) < head or not data.startswith(MAGIC):
        return None
    payload = memoryview(data)[head:]
    if hashlib.sha256(payload).hexdigest().encode() != data[len(MAGIC):head]:
        return None
    try:
        world = _decode(payload)
    except Exception:  # noqa: BLE001 - any unreadable entry is a miss, never an error
        return None
    with suppress(OSError):
        os.utime(path)  # recently used: evicted last
    return world


def put(key: str, world: World) -> None:
    """Store a verified replay under ``key`` (best effort: a full or read-only disk only costs speed)."""
    from evalkit.atomic import atomic_write

    global _writes
    try:
        payload = _encode(world)
    except TypeError:
        return  # not a shape this cache stores: replayed each time instead
    try:  # derived and checksummed: no fsync
        atomic_write(_path(key), MAGIC + hashlib.sha256(payload).hexdigest().encode() + payload, durable=False)
    except OSError:
        return
    _writes += 1
    if _writes % PRUNE_EVERY == 1:
        prune()


def prune(limit: int | None = None) -> int:
    """Evict least recently used entries until the cache holds at most ``limit`` bytes; returns bytes freed.

    Temp files older than :data:`ORPHAN_S` (a writer killed mid-write, e.g. a worker past its timeout) go first."""
    limit = max_bytes() if limit is None else limit
    entries, orphans = [], []
    orphan_before = time.time_ns() - ORPHAN_S * 10**9
    try:
        subdirs = list(os.scandir(replay_dir()))
    except OSError:
        return 0
    for sub in subdirs:
        if not sub.is_dir():
            continue
        with suppress(OSError):  # a folder or entry removed meanwhile (another process pruning) is skipped
            for e in os.scandir(sub.path):
                with suppress(OSError):
                    st = e.stat()
                    if e.name.endswith(".world"):
                        entries.append((st.st_mtime_ns, st.st_size, e.path))
                    elif e.name.startswith(".") and st.st_mtime_ns < orphan_before:  # a temp file (see ORPHAN_S)
                        orphans.append((st.st_mtime_ns, st.st_size, e.path))
    total = sum(size for _, size, _ in orphans + entries)
    freed = 0
    for i, (_, size, p) in enumerate(orphans + sorted(entries)):
        if i >= len(orphans) and total - freed <= limit:
            break
        with suppress(OSError):
            os.unlink(p)
            freed += size
    return freed
