"""The world snapshot of a candidate: what the recorded tool results show of the incident, in the materialized
world format (docs/suite-format.md), plus the helpers that read it back as a World."""

from __future__ import annotations

from typing import Any

import numpy as np

from evalkit.labels.records import ToolRecord

_UNKNOWN = {"kind": "unknown", "tier": "unknown"}


def build_snapshot(tools: list[ToolRecord], also: tuple[str, ...] = ()) -> dict:
    """Components, edges, units, metric rows ``[ts, component, metric, value]``, logs, traces, events and
    monitors, from the results of the recorded tool calls (failed calls add nothing)."""
    comps: dict[str, dict] = {}
    edges: set[tuple[str, str, str]] = set()
    units: dict[str, str] = {}
    metrics: dict[tuple[int, str, str], float] = {}
    logs: dict[tuple, dict] = {}
    traces: dict[str, dict] = {}
    events: dict[tuple, dict] = {}
    monitors: dict[str, dict] = {}
    for rec in tools:
        r = rec.result
        if rec.error or r is None:
            continue
        if rec.tool == "list_components" and isinstance(r, list):
            comps.update({c["name"]: dict(c) for c in r if isinstance(c, dict) and c.get("name")})
        elif rec.tool == "get_topology" and isinstance(r, dict):
            edges.update((e["source"], e["target"], e["relation"]) for e in r.get("edges", []))
        elif rec.tool == "list_metrics" and isinstance(r, list):
            units.update({m["metric"]: m.get("unit", "") for m in r if isinstance(m, dict) and "metric" in m})
        elif rec.tool == "query_metric" and isinstance(r, dict):
            units[r["metric"]] = r.get("unit", "")
            metrics.update({(int(t), r["component"], r["metric"]): v
                            for t, v in zip(r["timestamps"], r["values"]) if v is not None})
        elif rec.tool == "search_logs" and isinstance(r, dict):
            logs.update({(x["ts"], x["component"], x["message"]): x for x in r.get("records", [])})
        elif rec.tool == "get_traces" and isinstance(r, dict):
            traces.update({t["trace_id"]: t for t in r.get("traces", [])})
        elif rec.tool == "list_events" and isinstance(r, list):
            events.update({(e["ts"], e["component"], e["summary"]): e for e in r})
        elif rec.tool == "list_monitors" and isinstance(r, list):
            monitors.update({m["name"]: m for m in r if isinstance(m, dict) and "name" in m})
    named = ({c for e in edges for c in e[:2]} | {k[1] for k in metrics} | {x["component"] for x in logs.values()}
             | {e["component"] for e in events.values()} | {m["component"] for m in monitors.values()}
             | {n for n in also if n})
    comps.update({n: {"name": n, **_UNKNOWN} for n in sorted(named - set(comps))})
    return {"components": [comps[n] for n in sorted(comps)], "edges": sorted(list(e) for e in edges),
            "units": dict(sorted(units.items())),
            "metrics": [[t, c, m, v] for (t, c, m), v in sorted(metrics.items())],
            "logs": sorted(logs.values(), key=lambda x: (x["ts"], x["component"], x["message"])),
            "traces": sorted(traces.values(), key=lambda t: (t["ts"], t["trace_id"])),
            "events": sorted(events.values(), key=lambda e: (e["ts"], e["component"], e["summary"])),
            "monitors": [monitors[n] for n in sorted(monitors)]}


def snapshot_window(snapshot: dict, alert: dict, given: dict | None) -> dict:
    """The scenario window: the trace's own if it recorded one, else the metric grid's span (step: the most
    common gap), widened to hold the alert."""
    if given and {"start", "end", "step"} <= set(given):
        return {k: int(given[k]) for k in ("start", "end", "step")}
    ts = np.unique(np.asarray([row[0] for row in snapshot["metrics"]], dtype=np.int64))
    gaps = np.diff(ts)
    step = int(np.bincount(gaps[gaps > 0]).argmax()) if (gaps > 0).any() else 60
    fired = int(alert.get("fired_at", ts[0] if len(ts) else 0))
    start = int(ts[0]) if len(ts) else fired - 3600
    start = min(start, fired - (fired - start) % step)
    end = max(int(ts[-1]) + step if len(ts) else fired + step, fired + step)
    end += (step - (end - start) % step) % step
    return {"start": start, "end": end, "step": step}


def snapshot_world(snapshot: dict, alert: dict, window: dict) -> Any:
    """The snapshot as a :class:`~evalkit.world.model.World` on the window's grid (for scoring and solvability)."""
    from evalkit.world.model import World

    start, end, step = window["start"], window["end"], window["step"]
    n = (end - start) // step
    series: dict[str, dict[str, np.ndarray]] = {}
    for t, c, m, v in snapshot["metrics"]:
        k = (int(t) - start) // step
        if 0 <= k < n and (int(t) - start) % step == 0:
            series.setdefault(c, {}).setdefault(m, np.full(n, np.nan))[k] = v
    return World(start=start, end=end, step=step, components=snapshot["components"],
                 edges=[tuple(e) for e in snapshot["edges"]], metrics=series, metric_units=snapshot["units"],
                 logs=snapshot["logs"], traces=snapshot["traces"], events=snapshot["events"],
                 monitors=snapshot["monitors"], alert=dict(alert))
