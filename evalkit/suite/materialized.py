"""Materialized worlds: telemetry stored as files in a folder inside the suite (documented in
docs/suite-format.md). Used for imported real incidents; generated worlds can be written out too.

Folder layout: ``topology.json`` (components + edges), ``metrics.csv`` or ``metrics.parquet`` (long
format ``ts,component,metric,value`` on the scenario's time grid), optional ``units.json``,
``logs.jsonl``, ``traces.jsonl`` (either may be gzip-compressed as ``.jsonl.gz``), ``events.json``,
``monitors.json``.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Callable

import numpy as np

from evalkit.errors import Problem
from evalkit.world.model import World
from evalkit.world.noise import EVENT_ORDER, LOG_ORDER

METRIC_FILES = ("metrics.parquet", "metrics.csv")
METRIC_COLUMNS = ("ts", "component", "metric", "value")
SPAN_KEYS = ("component", "operation", "parent", "duration_ms", "error")


def write_world(world: World, folder: Path) -> None:
    """Write ``world`` (minus its alert, which lives in the scenario file) as a materialized folder."""
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / "topology.json", {"components": world.components, "edges": [list(e) for e in world.edges]})
    write_json(folder / "units.json", world.metric_units)
    ts = world.timestamps.tolist()
    with open(folder / "metrics.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(METRIC_COLUMNS)
        for comp in sorted(world.metrics):
            for metric in sorted(world.metrics[comp]):
                values = np.asarray(world.metrics[comp][metric], dtype=float).tolist()
                w.writerows((t, comp, metric, repr(v)) for t, v in zip(ts, values) if not math.isnan(v))
    for name, records in (("logs.jsonl", world.logs), ("traces.jsonl", world.traces)):
        with open(folder / name, "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(json.dumps(r, sort_keys=True) + "\n" for r in records)
    write_json(folder / "events.json", world.events)
    write_json(folder / "monitors.json", world.monitors)


def pretty_json(doc: object) -> bytes:
    """Pretty, key-sorted JSON with a trailing newline: the stable bytes of every JSON file a suite writer makes."""
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()


def write_json(path: Path, doc: object) -> None:
    """Write ``doc`` as :func:`pretty_json` (stable bytes for the suite hash)."""
    path.write_bytes(pretty_json(doc))


def read_topology(folder: Path, shown: str) -> tuple[list[dict], list[tuple[str, str, str]], list[Problem]]:
    """Components and edges of a materialized world, with every problem found."""
    where = f"{shown}/topology.json"
    if not (folder / "topology.json").is_file():
        return [], [], [Problem(where, "", "missing", "add topology.json with 'components' and 'edges'")]
    problems: list[Problem] = []
    doc = _read_json(folder, "topology.json", shown, dict, None, problems,
                     "must be an object with 'components' and 'edges'")
    if doc is None:
        return [], [], problems
    comps = doc.get("components")
    edges = doc.get("edges", [])
    if not isinstance(comps, list) or not comps:
        problems.append(Problem(where, "components", comps if comps is not None else "missing",
                                "give a non-empty list of {name, kind, tier}"))
        comps = []
    names: set[str] = set()
    good: list[dict] = []
    for i, c in enumerate(comps):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) or not c.get("name"):
            problems.append(Problem(where, f"components[{i}]", c, "each component needs a non-empty 'name'"))
            continue
        if not isinstance(c.get("kind"), str):
            problems.append(Problem(where, f"components[{i}].kind", c.get("kind", "missing"),
                                    "give the component kind (service, database, pod, ...)"))
        if c["name"] in names:
            problems.append(Problem(where, f"components[{i}].name", c["name"], "component names must be unique"))
        names.add(c["name"])
        good.append(c)
    out_edges: list[tuple[str, str, str]] = []
    if not isinstance(edges, list):
        problems.append(Problem(where, "edges", edges, "give a list of [source, target, relation]"))
        edges = []
    for i, e in enumerate(edges):
        if not (isinstance(e, list) and len(e) == 3 and all(isinstance(x, str) for x in e)):
            problems.append(Problem(where, f"edges[{i}]", e, "each edge is [source, target, relation]"))
            continue
        problems += [Problem(where, f"edges[{i}]", x, "edge names a component missing from 'components'")
                     for x in e[:2] if x not in names]
        out_edges.append((e[0], e[1], e[2]))
    return good, out_edges, problems


def read_world(folder: Path, shown: str, start: int, end: int, step: int, alert: dict,
               deep: bool = True) -> tuple[World | None, list[Problem]]:
    """Load a materialized world on the grid [start, end) with ``step``; returns (world, problems)."""
    components, edges, problems = read_topology(folder, shown)
    names = {c["name"] for c in components}
    metric_file = next((folder / m for m in METRIC_FILES if (folder / m).is_file()), None)
    if metric_file is None:
        problems.append(Problem(f"{shown}/metrics.csv", "", "missing",
                                "add metrics.csv or metrics.parquet (columns ts,component,metric,value)"))
    if not deep:
        return None, problems
    metrics = {} if metric_file is None else _read_metrics(metric_file, f"{shown}/{metric_file.name}", names, start,
                                                          end, step, problems)
    units = _read_json(folder, "units.json", shown, dict, {}, problems)
    logs = _read_jsonl(folder, "logs.jsonl", shown, ("ts", "component", "level", "message"),
                       lambda rec: _unknown_component(rec["component"], "component", names), problems)
    traces = _read_jsonl(folder, "traces.jsonl", shown, ("trace_id", "ts", "root", "duration_ms", "error", "spans"),
                         lambda rec: _bad_span(rec["spans"], names), problems)
    events = _read_json(folder, "events.json", shown, list, [], problems)
    for i, ev in enumerate(events):
        miss = [k for k in ("ts", "kind", "component", "summary") if not isinstance(ev, dict) or k not in ev]
        if miss:
            problems.append(Problem(f"{shown}/events.json", f"[{i}]", f"missing {miss}",
                                    "each event needs ts, kind, component, summary"))
        elif ev["component"] not in names:
            problems.append(Problem(f"{shown}/events.json", f"[{i}].component", ev["component"],
                                    "name a component listed in topology.json"))
    monitors = _read_json(folder, "monitors.json", shown, list, [], problems)
    for i, m in enumerate(monitors):
        miss = [k for k in ("name", "component", "metric") if not isinstance(m, dict) or k not in m]
        if miss:
            problems.append(Problem(f"{shown}/monitors.json", f"[{i}]", f"missing {miss}",
                                    "each monitor needs name, component, metric (and threshold, state)"))
    if problems:
        return None, problems
    return World(start=start, end=end, step=step, components=components, edges=edges, metrics=metrics,
                 metric_units=dict(units), logs=sorted(logs, key=LOG_ORDER),
                 traces=sorted(traces, key=lambda t: t["ts"]),  # stable
                 events=sorted(events, key=EVENT_ORDER), monitors=monitors, alert=dict(alert)), []


def _read_json(folder: Path, name: str, shown: str, typ: type, default: object, problems: list[Problem],
               fix: str | None = None):
    """The JSON ``typ`` in ``folder/name``: ``default`` when missing, or with a problem when unreadable."""
    path = folder / name
    if not path.is_file():
        return default
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(Problem(f"{shown}/{name}", "", f"malformed JSON ({exc})", "fix the JSON syntax"))
        return default
    except OSError as exc:
        problems.append(Problem(f"{shown}/{name}", "", f"unreadable ({exc.strerror or type(exc).__name__})",
                                f"make {name} readable by this user"))
        return default
    if not isinstance(doc, typ):
        problems.append(Problem(f"{shown}/{name}", "", type(doc).__name__, fix or f"must be a JSON {typ.__name__}"))
        return default
    return doc


def _unknown_component(name: object, field: str, names: set[str]) -> tuple[str, object, str] | None:
    """(field, value, fix) when ``name`` is not a component of the topology."""
    if name in names:
        return None
    return field, name, "name a component listed in topology.json"


def _bad_span(spans: object, names: set[str]) -> tuple[str, object, str] | None:
    """(field, value, fix) of a trace's first malformed span: the toolbox filters and walks spans by these keys."""
    if not isinstance(spans, list):
        return "spans", spans, "give a list of spans"
    for i, sp in enumerate(spans):
        if miss := [k for k in SPAN_KEYS if not isinstance(sp, dict) or k not in sp]:
            return f"spans[{i}]", f"missing {miss}", "each span needs " + ", ".join(SPAN_KEYS)
        parent = sp["parent"]
        if parent is not None and (type(parent) is not int or not 0 <= parent < len(spans) or parent == i):
            return f"spans[{i}].parent", parent, "give the index of another span in this list, or null for the root"
        unknown = _unknown_component(sp["component"], f"spans[{i}].component", names)
        if unknown:
            return unknown
    return None


def _read_jsonl(folder: Path, name: str, shown: str, required: tuple[str, ...],
                check: Callable[[dict], tuple[str, object, str] | None], problems: list[Problem]) -> list[dict]:
    """The records of a JSON-lines file; a record missing a ``required`` key or failing ``check`` is a problem."""
    import gzip

    path = folder / name
    if not path.is_file() and (folder / f"{name}.gz").is_file():
        path, name = folder / f"{name}.gz", f"{name}.gz"     # gzip-compressed variant (imported suites)
    if not path.is_file():
        return []
    out = []
    bad = 0
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rt", encoding="utf-8") as fh:
            lines = fh.read().split("\n")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        problems.append(Problem(f"{shown}/{name}", "", f"unreadable ({type(exc).__name__})",
                                "rewrite the file as UTF-8 JSON lines (optionally gzip-compressed as .jsonl.gz)"))
        return []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{shown}/{name}:{lineno}"
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            problem = Problem(where, "", f"malformed JSON ({exc.msg})", "one JSON object per line")
        else:
            if miss := [k for k in required if not isinstance(rec, dict) or k not in rec]:
                problem = Problem(where, ",".join(miss), "missing", f"each record needs {', '.join(required)}")
            elif (bad_field := check(rec)) is not None:
                problem = Problem(where, *bad_field)
            else:
                out.append(rec)
                continue
        if bad < 5:  # the first five bad lines one by one, the rest counted below
            problems.append(problem)
        bad += 1
    if bad > 5:
        problems.append(Problem(f"{shown}/{name}", "", f"{bad} bad lines", "fix the lines reported above"))
    return out


def _read_metrics(path: Path, shown: str, names: set[str], start: int, end: int, step: int,
                  problems: list[Problem]) -> dict[str, dict[str, np.ndarray]]:
    import pandas as pd

    try:
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's file
        problems.append(Problem(shown, "", f"unreadable ({type(exc).__name__}: {exc})",
                                "write columns ts,component,metric,value"))
        return {}
    if missing := [c for c in METRIC_COLUMNS if c not in df.columns]:
        problems.append(Problem(shown, "columns", list(df.columns), f"add the missing column(s) {missing}"))
        return {}
    ts = pd.to_numeric(df["ts"], errors="coerce")
    val = pd.to_numeric(df["value"], errors="coerce")
    bad_ts = ts.isna() | (ts < start) | (ts >= end) | ((ts - start) % step != 0)
    if bad_ts.any():
        i = int(np.argmax(bad_ts.to_numpy()))
        problems.append(Problem(shown, f"ts (row {i + 2})", str(df['ts'].iloc[i]),
                                f"{int(bad_ts.sum())} timestamps are not epoch seconds on the {step} s grid inside "
                                f"the window [{start}, {end}); resample to the grid"))
        return {}
    if unknown := sorted(set(df["component"].astype(str)) - names):
        problems.append(Problem(shown, "component", unknown[0],
                                f"{len(unknown)} component(s) not in topology.json; add them or drop their rows"))
        return {}
    idx = ((ts - start) // step).astype(int).to_numpy()
    out: dict[str, dict[str, np.ndarray]] = {}
    comp = df["component"].astype(str).to_numpy()
    met = df["metric"].astype(str).to_numpy()
    v = val.to_numpy(dtype=float)
    keys = pd.MultiIndex.from_arrays([comp, met])
    for (c, m), rows in pd.Series(np.arange(len(df))).groupby(keys).groups.items():
        arr = np.full((end - start) // step, np.nan)
        rows = np.asarray(rows)
        arr[idx[rows]] = v[rows]
        out.setdefault(c, {})[m] = arr
    return {c: dict(sorted(ms.items())) for c, ms in sorted(out.items())}
