"""The Toolbox: the only interface an agent has to a World.

Every tool takes and returns JSON-serialisable values (adapters forward them verbatim), has a JSON
schema in :data:`TOOL_SCHEMAS`, and every call is recorded into the trajectory. A per-investigation
call budget raises :class:`ToolBudgetExceeded`. The Toolbox holds a World and nothing else: no
scenario, no path, no ground truth.
"""

from __future__ import annotations

import copy
import json
import time
from bisect import bisect_left
from collections.abc import Container
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from evalkit.json_text import orjson_text
from evalkit.world.deferred import ComponentNames, DeferredWorld, load_seconds
from evalkit.world.model import World


class ToolError(Exception):
    """A tool was called with bad arguments (unknown component, metric, malformed value)."""


class UnknownTool(ToolError):
    """The agent called a tool that does not exist."""


class ToolBudgetExceeded(Exception):
    """The investigation used more tool calls than its budget allows."""


@dataclass
class ToolCall:
    """One recorded tool call: what was asked, how big the answer was, how long it took.

    ``refs`` names the signals the call looked at (``metric:<component>:<metric>``,
    ``logs:<component>``, ``traces:<component>``, ``events:<component>``, ``topology:<component>``),
    which is what evidence scoring matches against.
    """

    tool: str
    args: dict
    result_size: int
    duration_s: float
    refs: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict:
        """The call as a plain dict (what ``dataclasses.asdict`` gives, for a fraction of its cost per call)."""
        nested = any(isinstance(v, (dict, list, tuple)) for v in self.args.values())
        return {"tool": self.tool, "args": copy.deepcopy(self.args) if nested else dict(self.args),
                "result_size": self.result_size, "duration_s": self.duration_s, "refs": list(self.refs),
                "error": self.error}


def _obj(props: dict, required: tuple[str, ...] = ()) -> dict:
    return {"type": "object", "properties": props, "required": list(required), "additionalProperties": False}


_TIME = {"type": "integer", "description": "epoch seconds (UTC); default: the window start/end"}
_COMPONENT = {"type": "string", "description": "component name as listed by list_components"}

#: JSON schema of every tool's arguments, with a one-line description (exported to LLM adapters).
TOOL_SCHEMAS: dict[str, dict] = {
    "get_alert": {"description": "The alert that triggered this investigation.", "parameters": _obj({})},
    "list_components": {
        "description": "List components (services, databases, caches, topics, nodes, pods...) with kind, tier "
                       "and attributes such as an external's host, a pod's node and service, a node's zone.",
        "parameters": _obj({"kind": {"type": "string", "description": "only this kind"}}),
    },
    "get_topology": {
        "description": "Dependency edges (source calls/uses target); around one component if given.",
        "parameters": _obj({"component": _COMPONENT, "depth": {"type": "integer", "minimum": 1, "maximum": 5}}),
    },
    "list_metrics": {
        "description": "Metric names (with units) available for a component.",
        "parameters": _obj({"component": _COMPONENT}, ("component",)),
    },
    "query_metric": {
        "description": "One metric series of one component over a time range (values null where missing).",
        "parameters": _obj(
            {"component": _COMPONENT, "metric": {"type": "string"}, "start": _TIME, "end": _TIME},
            ("component", "metric"),
        ),
    },
    "search_logs": {
        "description": "Log records, newest last, filtered by component, level and a case-insensitive substring.",
        "parameters": _obj(
            {
                "component": _COMPONENT,
                "query": {"type": "string"},
                "level": {"type": "string", "enum": ["DEBUG", "INFO", "WARN", "ERROR"]},
                "start": _TIME,
                "end": _TIME,
                "limit": {"type": "integer", "minimum": 1, "maximum": 500},
            }
        ),
    },
    "get_traces": {
        "description": "Trace/span summaries touching a component, optionally only failed traces.",
        "parameters": _obj(
            {
                "component": _COMPONENT,
                "errors_only": {"type": "boolean"},
                "start": _TIME,
                "end": _TIME,
                "limit": {"type": "integer", "minimum": 1, "maximum": 200},
            }
        ),
    },
    "list_events": {
        "description": "Change events: deploys, config and feature-flag changes, Kubernetes events.",
        "parameters": _obj({"component": _COMPONENT, "kind": {"type": "string"}, "start": _TIME, "end": _TIME}),
    },
    "list_monitors": {
        "description": "Monitors with their state (OK / ALERT / NO_DATA) and last trigger time.",
        "parameters": _obj({"state": {"type": "string", "enum": ["OK", "ALERT", "NO_DATA"]}}),
    },
}


def _clean(values: np.ndarray) -> list[float | None]:
    """A metric series as JSON values: rounded to 6 decimals, NaN (no sample) as None."""
    return [None if v != v else round(v, 6) for v in values.astype(float, copy=False).tolist()]


def metric_arrays(result: dict) -> tuple[np.ndarray, np.ndarray]:
    """A ``query_metric`` result as (timestamps, values) arrays; gaps (``None``) come back as NaN (numpy reads
    None as NaN in a float array)."""
    return np.asarray(result["timestamps"], dtype=np.int64), np.asarray(result["values"], dtype=float)


class LogIndex:
    """A world's logs by component, each in time order with its timestamps, so ``search_logs`` cuts its time
    window by bisection instead of reading every record. Logs out of time order (a World's are sorted by
    ``ts``) are read in full at every search instead."""

    def __init__(self, logs: list[dict]):
        self.logs = logs
        self.ts = [r["ts"] for r in logs]
        self.sorted = all(a <= b for a, b in zip(self.ts, self.ts[1:]))
        self.by_component: dict[Any, tuple[list, list[dict]]] = {}
        if self.sorted:
            for t, r in zip(self.ts, logs):
                ts, records = self.by_component.setdefault(r["component"], ([], []))
                ts.append(t)
                records.append(r)

    def window(self, component: str | None, start: int, end: int) -> list[dict]:
        """The records of ``component`` (or of all) with ``start <= ts < end``, in the logs' order."""
        if not self.sorted:
            return [r for r in self.logs if start <= r["ts"] < end and component in (None, r["component"])]
        ts, records = (self.ts, self.logs) if component is None else self.by_component.get(component, ([], []))
        return records[bisect_left(ts, start):bisect_left(ts, end)]


class Answers:
    """Tool answers already computed on one World: tools are pure functions of (world, args), so the trials of
    a scenario (which one worker runs, on its cached world) share them. Each answer is kept as its JSON text;
    a fresh copy is that text parsed again by the parser that made the first one (orjson's text by orjson,
    the standard library's by json), so every copy is the value the first trial got. Bounded in JSON bytes;
    once full it stops remembering and every further call is computed as if it were not there. Also keeps
    the world's :class:`LogIndex` once a search has built it."""

    def __init__(self, max_bytes: int = 8 << 20):
        self.max_bytes = max_bytes
        self._texts: dict[str, tuple[bytes | str, tuple[str, ...]]] = {}
        self._bytes = 0
        self._log_index: LogIndex | None = None

    def log_index(self, logs: list[dict]) -> LogIndex:
        """The index of ``logs`` (this world's), built on first use."""
        index = self._log_index
        if index is None or index.logs is not logs:
            index = self._log_index = LogIndex(logs)
        return index

    def get(self, key: str) -> tuple[Any, int, tuple[str, ...]] | None:
        """A fresh copy of the answer of the call ``key``, its JSON size and its refs, if remembered."""
        known = self._texts.get(key)
        return None if known is None else (parse_answer(known[0]), len(known[0]), known[1])

    def put(self, key: str, text: bytes | str, refs: list[str]) -> None:
        """Remember an answer by its JSON ``text`` (:func:`answer_text`) unless that would exceed ``max_bytes``."""
        if key not in self._texts and self._bytes + len(text) <= self.max_bytes:
            self._texts[key] = (text, tuple(refs))
            self._bytes += len(text)


def answer_text(result: Any, null_field: bytes | None = None) -> bytes | str:
    """A tool's result as the standard library's compact JSON text (``default=str``): orjson's bytes where
    they are that text, else json's str (ASCII either way, so its length is its size in bytes)."""
    text = orjson_text(result, null_field)
    return text if text is not None else json.dumps(result, separators=(",", ":"), default=str)


def parse_answer(text: bytes | str) -> Any:
    """The plain JSON value of an :func:`answer_text`, by the parser matching its writer (json for the texts
    orjson could not write, e.g. with a NaN, which orjson does not parse)."""
    return orjson.loads(text) if isinstance(text, bytes) else json.loads(text)


#: the one field whose nulls a tool's answer may hold without the standard encoder: a root span has no parent
#: (a World's span parent is a component's name or None, never a NaN)
_NULL_FIELD = {"get_traces": b'"parent":'}


def _answer_key(tool: str, args: dict) -> str | None:
    """The memo key of a call: its tool and canonical JSON args (None when args are not plain JSON, so a
    value that JSON would conflate with another is never served a remembered answer). orjson writes the args
    unless they hold a null (which could be a NaN) or a type it refuses; either encoder's text parses back to
    the args, so two calls share a key only when their args are the same JSON value."""
    try:
        text = orjson.dumps(args, option=orjson.OPT_SORT_KEYS)
        if b"null" not in text:
            return tool + text.decode()
    except TypeError:  # orjson.JSONEncodeError: a type it refuses (json may still write it)
        pass
    try:
        return tool + json.dumps(args, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None


class Toolbox:
    """Query API over one World; records a trajectory and enforces a call budget.

    ``answers`` lets the trials of one scenario share computed answers (see :class:`Answers`); what the agent
    receives, what is recorded and the budget are the same whether an answer was remembered or computed."""

    def __init__(self, world: World, max_calls: int = 60, answers: Answers | None = None):
        self._world = world
        self.max_calls = max_calls
        self.trajectory: list[ToolCall] = []
        self._by_name: dict[str, dict] | None = None  # built on the first tool call (a deferred world loads then)
        self._answers = answers if answers is not None else Answers()

    @property
    def _names(self) -> dict[str, dict]:
        if self._by_name is None:
            self._by_name = {c["name"]: c for c in self._world.components}
        return self._by_name

    def component_names(self) -> Container[str] | None:
        """Names of the world's components, read without a recorded tool call (to validate a finding).
        A deferred world not loaded yet stays unloaded when the finding names only the alert's component."""
        if isinstance(self._world, DeferredWorld) and not self._world.loaded:
            return ComponentNames(self._world)
        return set(self._names)

    # --- dispatch -------------------------------------------------------------------------------
    @property
    def calls_left(self) -> int:
        return self.max_calls - len(self.trajectory)

    def call(self, tool: str, args: dict | None = None) -> Any:
        """Call ``tool`` with JSON ``args``; records the call. Raises ToolError/UnknownTool/ToolBudgetExceeded."""
        args = dict(args or {})
        if len(self.trajectory) >= self.max_calls:
            raise ToolBudgetExceeded(f"tool-call budget of {self.max_calls} calls exhausted")
        t0 = time.perf_counter() - load_seconds(self._world)  # a deferred world's load is not the tool's time
        refs: list[str] = []
        try:
            if tool not in TOOL_SCHEMAS:
                raise UnknownTool(f"unknown tool '{tool}'; tools are: {', '.join(TOOL_SCHEMAS)}")
            params = TOOL_SCHEMAS[tool]["parameters"]
            extra = sorted(args.keys() - params["properties"])
            if extra:
                raise ToolError(f"{tool}: unknown argument(s) {extra}; allowed: {sorted(params['properties'])}")
            missing = [r for r in params["required"] if r not in args]
            if missing:
                raise ToolError(f"{tool}: missing required argument(s) {missing}")
            key = _answer_key(tool, args)
            known = self._answers.get(key) if key is not None else None
            if known is None:
                result = getattr(self, "_t_" + tool)(refs, **args)
        except ToolError as exc:
            self.trajectory.append(ToolCall(tool, args, 0, self._since(t0), refs, str(exc)))
            raise
        if known is None:
            # JSON out: the agent gets plain JSON values, never a reference into the World it could mutate
            text = answer_text(result, _NULL_FIELD.get(tool))
            answer, size = parse_answer(text), len(text)
            if key is not None:
                self._answers.put(key, text, refs)
        else:
            answer, size, refs = known[0], known[1], list(known[2])
        self.trajectory.append(ToolCall(tool, args, size, self._since(t0), refs))
        return answer

    def _since(self, t0: float) -> float:
        """Seconds since ``t0`` (taken as ``perf_counter() - load_seconds``), without a load in between."""
        return time.perf_counter() - load_seconds(self._world) - t0

    # Convenience methods for Python agents: same as call(name, kwargs).
    def get_alert(self) -> dict:
        return self.call("get_alert")

    def list_components(self, kind: str | None = None) -> list[dict]:
        return self.call("list_components", {} if kind is None else {"kind": kind})

    def get_topology(self, component: str | None = None, depth: int = 1) -> dict:
        return self.call("get_topology", {} if component is None else {"component": component, "depth": depth})

    def list_metrics(self, component: str) -> list[dict]:
        return self.call("list_metrics", {"component": component})

    def query_metric(self, component: str, metric: str, start: int | None = None, end: int | None = None) -> dict:
        return self.call("query_metric", _drop_none(component=component, metric=metric, start=start, end=end))

    def search_logs(self, component: str | None = None, query: str | None = None, level: str | None = None,
                    start: int | None = None, end: int | None = None, limit: int | None = None) -> dict:
        return self.call("search_logs", _drop_none(component=component, query=query, level=level, start=start,
                                                   end=end, limit=limit))

    def get_traces(self, component: str | None = None, errors_only: bool | None = None, start: int | None = None,
                   end: int | None = None, limit: int | None = None) -> dict:
        return self.call("get_traces", _drop_none(component=component, errors_only=errors_only, start=start,
                                                  end=end, limit=limit))

    def list_events(self, component: str | None = None, kind: str | None = None, start: int | None = None,
                    end: int | None = None) -> list[dict]:
        return self.call("list_events", _drop_none(component=component, kind=kind, start=start, end=end))

    def list_monitors(self, state: str | None = None) -> list[dict]:
        return self.call("list_monitors", _drop_none(state=state))

    # --- tools ----------------------------------------------------------------------------------
    def _component(self, name: Any) -> str:
        if not isinstance(name, str) or name not in self._names:
            raise ToolError(f"unknown component {name!r}; list_components shows the valid names")
        return name

    def _window(self, start: Any, end: Any) -> tuple[int, int]:
        s = self._world.start if start is None else start
        e = self._world.end if end is None else end
        if not isinstance(s, int) or not isinstance(e, int) or isinstance(s, bool) or isinstance(e, bool):
            raise ToolError(f"start/end must be integer epoch seconds, got {start!r}/{end!r}")
        if e <= s:
            raise ToolError(f"end ({e}) must be after start ({s})")
        return s, e

    def _scoped(self, refs: list[str], kind: str, component: Any, start: Any, end: Any) -> tuple[int, int]:
        """The time window of a ``kind`` query (logs, traces, events), after checking its optional ``component``
        and recording the ref ``<kind>:<component>``."""
        if component is not None:
            refs.append(f"{kind}:{self._component(component)}")
        return self._window(start, end)

    @staticmethod
    def _limit(limit: Any, default: int, maximum: int) -> int:
        if limit is None:
            return default
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= maximum:
            raise ToolError(f"limit must be an integer in 1..{maximum}, got {limit!r}")
        return limit

    def _t_get_alert(self, refs: list[str]) -> dict:
        alert = dict(self._world.alert)
        if alert.get("component"):
            refs.append(f"monitor:{alert['component']}")
        return alert

    def _t_list_components(self, refs: list[str], kind: str | None = None) -> list[dict]:
        return [
            {"name": c["name"], "kind": c.get("kind"), "tier": c.get("tier"),
             **{k: v for k, v in c.items() if k not in ("name", "kind", "tier")}}  # host, zone, node, service...
            for c in self._world.components
            if kind is None or c.get("kind") == kind
        ]

    def _t_get_topology(self, refs: list[str], component: str | None = None, depth: int = 1) -> dict:
        edges = self._world.edges
        if component is None:
            return {"edges": [{"source": s, "target": t, "relation": r} for s, t, r in edges]}
        self._component(component)
        if not isinstance(depth, int) or not 1 <= depth <= 5:
            raise ToolError(f"depth must be an integer in 1..5, got {depth!r}")
        refs.append(f"topology:{component}")
        frontier, seen, out = {component}, {component}, {}  # out: the edges in order of first reach
        for _ in range(depth):
            hit = [(s, t, r) for s, t, r in edges if s in frontier or t in frontier]
            out.update(dict.fromkeys(hit))
            frontier = {n for s, t, _ in hit for n in (s, t)} - seen
            seen |= frontier
        return {"edges": [{"source": s, "target": t, "relation": r} for s, t, r in out]}

    def _t_list_metrics(self, refs: list[str], component: str) -> list[dict]:
        self._component(component)
        units = self._world.metric_units
        return [{"metric": m, "unit": units.get(m, "")} for m in self._world.metrics.get(component, {})]

    def _t_query_metric(self, refs: list[str], component: str, metric: str, start: int | None = None,
                        end: int | None = None) -> dict:
        self._component(component)
        series = self._world.metrics.get(component, {})
        if metric not in series:
            raise ToolError(f"component {component!r} has no metric {metric!r}; list_metrics shows its metrics")
        s, e = self._window(start, end)
        ts = self._world.timestamps
        mask = (ts >= s) & (ts < e)
        refs.append(f"metric:{component}:{metric}")
        vals = np.asarray(series[metric])[mask]
        return {
            "component": component,
            "metric": metric,
            "unit": self._world.metric_units.get(metric, ""),
            "timestamps": ts[mask].tolist(),
            "values": _clean(vals),
        }

    def _t_search_logs(self, refs: list[str], component: str | None = None, query: str | None = None,
                       level: str | None = None, start: int | None = None, end: int | None = None,
                       limit: int | None = None) -> dict:
        s, e = self._scoped(refs, "logs", component, start, end)
        n = self._limit(limit, 100, 500)
        levels = TOOL_SCHEMAS["search_logs"]["parameters"]["properties"]["level"]["enum"]
        if level is not None and level not in levels:
            raise ToolError(f"level must be one of {levels}, got {level!r}")
        if query is not None and not isinstance(query, str):
            raise ToolError(f"query must be a string, got {query!r}")
        q = query.lower() if isinstance(query, str) else None
        hits = [
            r for r in self._answers.log_index(self._world.logs).window(component, s, e)
            if (level is None or r["level"] == level) and (q is None or q in r["message"].lower())
        ]
        if component is None:
            refs.extend(sorted({f"logs:{r['component']}" for r in hits[-n:]}))
        return {"total": len(hits), "records": hits[-n:]}

    def _t_get_traces(self, refs: list[str], component: str | None = None, errors_only: bool | None = None,
                      start: int | None = None, end: int | None = None, limit: int | None = None) -> dict:
        s, e = self._scoped(refs, "traces", component, start, end)
        n = self._limit(limit, 20, 200)
        hits = [
            t for t in self._world.traces
            if s <= t["ts"] < e
            and (not errors_only or t["error"])
            and (component is None or any(sp["component"] == component for sp in t["spans"]))
        ]
        return {"total": len(hits), "traces": hits[-n:]}

    def _t_list_events(self, refs: list[str], component: str | None = None, kind: str | None = None,
                       start: int | None = None, end: int | None = None) -> list[dict]:
        s, e = self._scoped(refs, "events", component, start, end)
        hits = [
            ev for ev in self._world.events
            if s <= ev["ts"] < e and (component is None or ev["component"] == component)
            and (kind is None or ev["kind"] == kind)
        ]
        if component is None:
            refs.extend(sorted({f"events:{ev['component']}" for ev in hits}))
        return hits

    def _t_list_monitors(self, refs: list[str], state: str | None = None) -> list[dict]:
        return [m for m in self._world.monitors if state is None or m.get("state") == state]


def _drop_none(**kw: Any) -> dict:
    return {k: v for k, v in kw.items() if v is not None}
