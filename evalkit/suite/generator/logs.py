"""Bulk log generation from realistic templates: Poisson counts per minute, vectorised draws, one format each.

Templates are ``(level, format)`` pairs; placeholders are filled from per-line random draws (``{ms}``,
``{slow}``, ``{n}``..``{n4}``, ``{port}``, ``{pct}``, ``{id}``, ``{ip}``/``{peer}``, ``{now}``) and from a
context dict (a list value is sampled per line).
"""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import Callable

import numpy as np

from evalkit.world.line_formats import has_fields, numbered_formats

Template = tuple[str, str]

SERVICE_ROUTINE: list[Template] = [
    ("INFO", "{method} {route} 200 {ms}ms"),
    ("INFO", "request completed route={route} status=200 duration_ms={ms} trace_id={id}"),
    ("INFO", "{method} {route} 200 {ms}ms"),
    ("DEBUG", "cache lookup key={id} hit=true"),
    ("INFO", "health check passed (uptime {n}s)"),
    ("INFO", "flushed metrics batch size={n}"),
    ("WARN", "slow request route={route} duration_ms={slow}"),
    ("ERROR", "request failed route={route} status=499: client closed request"),
]
SERVICE_ROUTINE_P = [0.3, 0.25, 0.15, 0.1, 0.08, 0.07, 0.04, 0.01]

POOL_STATS: list[Template] = [("DEBUG", "connection pool stats pool={db} {pool_state} max={pool_max} waiting=0")]

GATEWAY_ROUTINE: list[Template] = [
    ("INFO", '10.0.{n3}.{n4} "{method} {route} HTTP/1.1" 200 upstream={upstream} {ms}ms'),
    ("INFO", '10.0.{n3}.{n4} "{method} {route} HTTP/2" 200 upstream={upstream} {ms}ms'),
    ("WARN", '10.0.{n3}.{n4} "{method} {route} HTTP/1.1" 404 upstream={upstream} {ms}ms'),
]
GATEWAY_ROUTINE_P = [0.55, 0.4, 0.05]

DB_ROUTINE: dict[str, list[Template]] = {
    "postgresql": [
        ("INFO", "LOG:  checkpoint complete: wrote {n} buffers ({pct}%); 0 WAL file(s) added"),
        ("INFO", 'LOG:  automatic vacuum of table "{dbname}.public.{table}": index scans: 1'),
        ("INFO", "LOG:  connection authorized: user=app database={dbname} application_name={client}"),
        ("INFO", "LOG:  duration: {qms} ms  statement: SELECT id, status FROM {table} WHERE id = $1"),
    ],
    "mysql": [
        ("INFO", "[Note] InnoDB: page_cleaner: 1000ms intended loop took {n}ms"),
        ("INFO", "[Note] Aborted connection {n} to db: '{dbname}' user: 'app' (Got timeout reading "
                 "communication packets)"),
        ("INFO", "[Note] Access granted for user 'app'@'10.0.{n3}.{n4}' to database '{dbname}'"),
        ("INFO", "# Query_time: 0.00{n3}  Lock_time: 0.000010 Rows_sent: 1  SELECT * FROM {table} WHERE id = ?"),
    ],
}
CACHE_ROUTINE: list[Template] = [
    ("INFO", "{n}:M * Background saving started by pid {n2}"),
    ("INFO", "{n}:M * DB saved on disk"),
    ("INFO", "{n}:M * 10 changes in 300 seconds. Saving..."),
]
DNS_ROUTINE: list[Template] = [
    ("INFO", "[INFO] 10.0.{n3}.{n4}:{port} - {n} \"A IN {lookup}. udp 64 false 512\" NOERROR qr,aa,rd 120 0.000{n3}s"),
    ("INFO", "[INFO] plugin/reload: Running configuration SHA512 = {id}"),
]
CONSUMER_ROUTINE: list[Template] = [
    ("INFO", "[Consumer clientId={client}, groupId={group}] Committed offsets for {topic} "
             "partitions={n3} (lag {lag_small})"),
    ("DEBUG", "processed batch of {n3} records from {topic} in {ms}ms"),
]

METHODS = ["GET", "GET", "GET", "POST", "PUT"]


class LogSink:
    """Collects log lines column-wise; ``records()`` turns them into log record dicts."""

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.component: list[str] = []
        self.level: list[str] = []
        self.message: list[str] = []

    def add(self, ts: int, component: str, level: str, message: str) -> None:
        self.ts.append(int(ts))
        self.component.append(component)
        self.level.append(level)
        self.message.append(message)

    def extend(self, ts: list[int], component: str, levels: list[str], messages: list[str]) -> None:
        self.ts.extend(ts)
        self.component.extend([component] * len(ts))
        self.level.extend(levels)
        self.message.extend(messages)

    def records(self) -> list[dict]:
        """The records in insertion order (the world builder sorts once, after noise is added)."""
        return [{"ts": t, "component": c, "level": lv, "message": m}
                for t, c, lv, m in zip(self.ts, self.component, self.level, self.message)]


@functools.cache
def _plan(templates: tuple[Template, ...]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """(placeholder names of all ``templates`` in first-use order, each template as a positional format over
    that one argument list, each template's level), cached per template list.

    One shared argument list lets ``emit`` format every line with a single ``map(str.format, ...)`` (unused
    positional arguments are ignored). A template without placeholders yields its text with literal braces
    doubled, as it always has, so its format is escaped once more. ``{id}`` is written as 8 hex digits by its
    format (``:08x``), so its column holds the drawn integers and no per-line hex string is made first.
    """
    names, numbered = numbered_formats((fmt for _, fmt in templates), specs={"id": "08x"})
    formats = [f if has_fields(fmt) else f.replace("{", "{{").replace("}", "}}")
               for (_, fmt), f in zip(templates, numbered)]
    return tuple(names), tuple(formats), tuple(level for level, _ in templates)


@functools.cache
def _cdf(probs: tuple[float, ...]) -> np.ndarray:
    """The normalised template CDF for ``probs``, cached per weight list (read-only): numpy's cumsum of a
    Python list costs more than the draw it serves."""
    cum = np.cumsum(probs, dtype=float)
    cdf = cum / cum[-1]
    cdf.flags.writeable = False
    return cdf


def emit(sink: LogSink, rng: np.random.Generator, component: str, times: np.ndarray,
         templates: list[Template], probs: list[float] | None, ctx: dict) -> None:
    """Write one line per time, picking a template per line and filling its placeholders.

    Each placeholder's values are drawn once for all lines (and only if some template uses it); the lines
    are then formatted by one ``map`` over the per-line formats and the value columns (no Python-level loop).
    """
    k = int(times.size)
    if k == 0:
        return
    if len(templates) == 1:
        which = [0] * k
    elif probs is None:
        which = rng.integers(0, len(templates), size=k).tolist()
    else:
        which = np.minimum(_cdf(tuple(probs)).searchsorted(rng.random(k), side="right"),
                           len(templates) - 1).tolist()
    tlist = times.tolist()
    names, formats, levels = _plan(tuple(templates))
    cols = _columns(rng, names, k, tlist, ctx)
    msgs = list(map(str.format, map(formats.__getitem__, which), *[cols[f] for f in names]))
    sink.extend(tlist, component, list(map(levels.__getitem__, which)), msgs)


#: placeholders that share one (k, 4) draw of integers, each a function of it
_INT_COLUMNS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "n": lambda a: a[:, 0], "n2": lambda a: a[:, 1], "n3": lambda a: a[:, 2] % 250 + 1,
    "n4": lambda a: a[:, 3] % 250 + 1, "port": lambda a: 30000 + a[:, 1], "pct": lambda a: a[:, 2] % 40 + 1}


def _columns(rng: np.random.Generator, names: tuple[str, ...], k: int, tlist: list[int], ctx: dict) -> dict[str, list]:
    """One column of ``k`` values per placeholder in ``names``, drawn in that order (the draw order is part of
    the logs stream); related placeholders share draws (``ms``/``slow``, ``n``..``pct``, ``ip``/``peer``)."""
    cols: dict[str, list] = {}
    for f in names:
        if f in cols:
            continue
        if f in ("ms", "slow"):
            ms = np.maximum(1, rng.lognormal(np.log(ctx.get("ms_median", 40)), 0.5, size=k)).astype(np.int64)
            cols["ms"], cols["slow"] = ms.tolist(), (ms * 12).tolist()
        elif f in _INT_COLUMNS:  # one draw for the group; only the columns these templates use are made
            ints = rng.integers(1, 5000, size=(k, 4))
            for g in _INT_COLUMNS.keys() & set(names):
                cols[g] = _INT_COLUMNS[g](ints).tolist()
        elif f in ("ip", "peer"):
            octets = rng.integers(1, 255, size=(k, 4)).tolist()
            cols["ip"] = [f"10.0.{a}.{b}" for a, b, _, _ in octets]
            cols["peer"] = [f"10.0.{c}.{d}" for _, _, c, d in octets]
        elif f == "id":
            cols["id"] = rng.integers(0, 2**32, size=k).tolist()  # written as hex by the format
        elif f == "now":
            cols["now"] = [datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") for t in tlist]
        elif isinstance(ctx.get(f), list) and ctx[f]:
            v = ctx[f]
            cols[f] = list(map(v.__getitem__, rng.integers(0, len(v), size=k).tolist()))
        else:
            cols[f] = [ctx[f]] * k
    return cols
