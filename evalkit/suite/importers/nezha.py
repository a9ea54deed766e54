"""Import the Nezha RCA dataset (Yu et al., ESEC/FSE 2023, MIT) as an evalkit suite.

Each of the 101 labelled faults (Online Boutique: 56, Train Ticket: 45) becomes one scenario:

* components: the system's services (pod names folded to their service; the pod stays an alias);
  edges from ``dependency.csv`` (Online Boutique) or from parent/child spans of every trace file of
  the system (Train Ticket), ``calls`` from caller to callee;
* metrics on the 1-minute grid, 30 minutes before the injection minute to 10 minutes after (cut at
  the next injection): every pod metric under an evalkit name (CPU, memory, latency p90/p95/p99 in ms,
  request rate, node CPU/memory...) and the entry service's KPI (``front_service``);
* logs and traces of the minutes the dataset kept (trimmed upstream: see its README);
* monitors: the entry service's latency (and, for Online Boutique, error-rate) KPI with a robust
  threshold over the day, and the dataset's own resource alarm rule (CPU or memory above 80 %,
  ``alarm.py``) on every service. The alert is the first KPI monitor to fire after the injection,
  else the first resource alarm; a fault that trips neither gets an alert from the KPI at its worst
  minute (tagged ``alert:kpi-peak``);
* the truth: the injected pod's service, the fault type, the pod as alias and the dataset's
  fine-grained label (``construct_data/root_cause_*.json``) as key evidence.

Times come from each file's ``Time`` string read as UTC (the ``TimeStamp`` column is corrupt in one
Online Boutique file and ``inject_timestamp`` disagrees with ``inject_time`` for 29 faults).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from evalkit.parallel import consume
from evalkit.suite.importers.common import (
    ImportResult, SuiteStage, WorldFiles, evaluate_monitor, fail, first_alert, read_csv, read_json,
    robust_threshold,
)

IMPORTER_ID = "evalkit-import-nezha/1"
STEP = 60
PRE_MIN, POST_MIN, MIN_POST_MIN = 30, 10, 4
#: at most this many sampled traces per world (lowest MD5 of the trace id first: an unbiased subsample).
MAX_TRACES = 150
#: at most this many log records per world (ERROR/WARN first, then lowest MD5 of the line).
MAX_LOGS = 1500
#: the dataset's resource alarm rule (alarm.py: CPU or memory usage rate above 80 %).
RESOURCE_LIMIT_PCT = 80.0

ATTRIBUTION = ("Nezha RCA dataset: Yu et al., \"Nezha: Interpretable Fine-Grained Root Causes Analysis for "
               "Microservices on Multi-Modal Observability Data\", ESEC/FSE 2023; MIT licence; "
               "https://github.com/IntelligentDDS/Nezha, commit d814010")
#: ATTRIBUTION.md of an imported suite
ATTRIBUTION_MD = (
    "# Data attribution\n\n"
    f"This suite is derived from the {ATTRIBUTION}.\n\n"
    "Licence: MIT (Copyright (c) the Nezha authors); the upstream LICENSE file is kept next to this file.\n"
    "Changes made by evalkit's importer (`evalkit suite import nezha`): pods folded to services, metrics\n"
    "renamed and converted (s -> ms; success rate -> error rate), windows cut around each fault, logs and\n"
    "traces subsampled (at most 1500 log records and 150 traces per scenario), alerts and monitors\n"
    "derived from the entry-service KPI and the dataset's alarm rule. See docs/real-suites.md.\n"
)

#: dataset fault type -> (category, evalkit fault type)
FAULTS: dict[str, tuple[str, str]] = {
    "cpu_contention": ("cpu/contention", "cpu_contention"),
    "cpu_consumed": ("cpu/consumption", "cpu_consumed"),
    "network_delay": ("network/delay", "network_delay"),
    "return": ("code-defect/wrong-return", "code_return"),
    "exception": ("code-defect/exception", "code_exception"),
}
CATEGORIES = {
    "cpu/contention": "A CPU stressor in a service's pod competes with it for CPU.",
    "cpu/consumption": "A service's own process is made to burn CPU.",
    "network/delay": "A service's pod network adds delay to its traffic.",
    "code-defect/wrong-return": "A code region of a service is changed to return early with a wrong value.",
    "code-defect/exception": "A code region of a service is changed to throw an exception.",
}
SYSTEMS = {"online-boutique": ("ob", "frontend", "hipster"), "train-ticket": ("tt", "ts-ui-dashboard", "ts")}

#: pod-metric column -> (evalkit metric, unit, scale)
POD_METRICS: dict[str, tuple[str, str, float]] = {
    "CpuUsageRate(%)": ("cpu_pct", "%", 1.0),
    "CpuUsage(m)": ("cpu_millicores", "m", 1.0),
    "MemoryUsageRate(%)": ("memory_pct", "%", 1.0),
    "MemoryUsage(Mi)": ("memory_mb", "MiB", 1.0),
    "SyscallRead": ("syscall_read", "count", 1.0),
    "SyscallWrite": ("syscall_write", "count", 1.0),
    "NetworkReceiveBytes": ("net_rx_bytes", "B", 1.0),
    "NetworkTransmitBytes": ("net_tx_bytes", "B", 1.0),
    "PodServerLatencyP90(s)": ("latency_p90_ms", "ms", 1000.0),
    "PodServerLatencyP95(s)": ("latency_p95_ms", "ms", 1000.0),
    "PodServerLatencyP99(s)": ("latency_p99_ms", "ms", 1000.0),
    "PodClientLatencyP90(s)": ("client_latency_p90_ms", "ms", 1000.0),
    "PodClientLatencyP95(s)": ("client_latency_p95_ms", "ms", 1000.0),
    "PodClientLatencyP99(s)": ("client_latency_p99_ms", "ms", 1000.0),
    "PodWorkload(Ops)": ("requests_per_s", "req/s", 1.0),
    "NodeCpuUsageRate(%)": ("node_cpu_pct", "%", 1.0),
    "NodeMemoryUsageRate(%)": ("node_memory_pct", "%", 1.0),
    "NodeNetworkReceiveBytes": ("node_net_rx_bytes", "B", 1.0),
}
SUCCESS_COLUMN = "PodSuccessRate(%)"
FRONT_METRICS: dict[str, tuple[str, str, float]] = {
    "LatencyP50(s)": ("latency_p50_ms", "ms", 1000.0),
    "LatencyP90(s)": ("latency_p90_ms", "ms", 1000.0),
    "LatencyP95(s)": ("latency_p95_ms", "ms", 1000.0),
    "LatencyP99(s)": ("latency_p99_ms", "ms", 1000.0),
}
UNITS = {name: unit for name, unit, _ in [*POD_METRICS.values(), *FRONT_METRICS.values()]} | {"error_rate_pct": "%"}
FAULT_LIST_KEYS = ("inject_time", "inject_pod", "inject_type")
#: a log line's level as written -> the evalkit level (any other: INFO)
LEVELS = {"DEBUG": "DEBUG", "TRACE": "DEBUG", "INFO": "INFO", "WARN": "WARN", "WARNING": "WARN", "ERROR": "ERROR",
          "FATAL": "ERROR", "SEVERE": "ERROR"}
_LEVEL_RE = re.compile(r"^\s*(?:\S+\s+)?(ERROR|WARN|WARNING|INFO|DEBUG|TRACE|FATAL|SEVERE)\b[\s:]*", re.I)
_IDS_RE = re.compile(r"TraceID:\s*\S+\s*SpanID:\s*\S+\s*")


def service_of(pod: str) -> str:
    """``ts-auth-service-7f8d7d756d-k7b9j`` -> ``ts-auth-service`` (drop the ReplicaSet and pod hashes)."""
    parts = str(pod).rsplit("-", 2)
    return parts[0] if len(parts) == 3 else str(pod)


def _md5(s: str) -> str:
    return hashlib.md5(s.encode()).hexdigest()


@dataclass
class Fault:
    """One labelled injection (from the day's fault list)."""

    day: str
    time: str
    pod: str
    kind: str
    minute: int                     # injection time floored to the minute (epoch s, UTC)

    @property
    def service(self) -> str:
        return service_of(self.pod)


@dataclass
class Day:
    """Everything of one ``rca_data/<day>`` folder the importer needs."""

    name: str
    folder: Path
    faults: list[Fault]
    metrics: "object"               # DataFrame ts, component, metric, value (the whole day)
    services: dict[str, str]        # service -> pod
    front: "object"                 # DataFrame indexed by minute: front_service KPI (ms / %)
    thresholds: dict[str, float]    # KPI metric -> its monitor's robust threshold over the day
    system: str = ""
    cache: dict = field(default_factory=dict)      # parsed log/trace minute files (windows overlap)


# --- reading the dataset ---------------------------------------------------------------------------------

def _read_faults(path: Path, day: str) -> list[Fault]:
    doc = read_json(path, "restore the fault list from the upstream dataset")
    if not isinstance(doc, dict):
        raise fail(path, "", type(doc).__name__, "expected an object of hour -> list of faults")
    out = []
    for hour in sorted(doc):
        items = doc[hour]
        if not isinstance(items, list):
            raise fail(path, hour, type(items).__name__, "each hour holds a list of faults")
        for i, f in enumerate(items):
            if miss := [k for k in FAULT_LIST_KEYS if not isinstance(f, dict) or not isinstance(f.get(k), str)]:
                raise fail(path, f"{hour}[{i}]", f"missing {miss}", "each fault needs inject_time, inject_pod and "
                                                                    "inject_type strings")
            if f["inject_type"] not in FAULTS:
                raise fail(path, f"{hour}[{i}].inject_type", f["inject_type"], f"expected one of {sorted(FAULTS)}")
            try:
                at = datetime.strptime(f["inject_time"][:16], "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
            except ValueError:
                raise fail(path, f"{hour}[{i}].inject_time", f["inject_time"], "expected 'YYYY-MM-DD HH:MM:SS' (UTC)")
            out.append(Fault(day, f["inject_time"], f["inject_pod"], f["inject_type"], int(at.timestamp())))
    return sorted(out, key=lambda f: (f.minute, f.pod))


def _minutes(df, path: Path):
    """Minute (epoch s) of every row from the ``Time`` string (UTC); corrupt strings -> UserError."""
    import pandas as pd

    col = "Time" if "Time" in df.columns else "time"
    t = pd.to_datetime(df[col].astype(str).str.slice(0, 16), format="%Y-%m-%d %H:%M", errors="coerce", utc=True)
    if t.isna().any():
        i = int(np.argmax(t.isna().to_numpy()))
        raise fail(path, f"{col} (row {i + 2})", str(df[col].iloc[i])[:40], "expected 'YYYY-MM-DD HH:MM:SS...' (UTC); "
                                                                           "restore the file from the upstream dataset")
    return ((t - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).astype("int64").to_numpy() // STEP * STEP


def _read_day(folder: Path) -> Day:
    import pandas as pd

    name = folder.name
    faults = _read_faults(folder / f"{name}-fault_list.json", name)
    files = sorted((folder / "metric").glob("*_metric.csv.gz"))
    if not files:
        raise fail(folder / "metric", "", "no *_metric.csv.gz files", "restore the metric folder from the upstream dataset")
    frames, services = [], {}
    for f in files:
        df = read_csv(f, required=["Time", "PodName", *POD_METRICS])
        pod = f.name[: -len("_metric.csv.gz")]
        svc = service_of(pod)
        services[svc] = pod
        ts = _minutes(df, f)
        cols = dict(POD_METRICS)
        if SUCCESS_COLUMN in df.columns and (pd.to_numeric(df[SUCCESS_COLUMN], errors="coerce").fillna(0) != 0).any():
            cols[SUCCESS_COLUMN] = ("error_rate_pct", "%", None)
        for col, (metric, _, scale) in cols.items():
            v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
            v = 100.0 - v if scale is None else v * scale
            frames.append(pd.DataFrame({"ts": ts, "component": svc, "metric": metric, "value": v}))
    front = read_csv(folder / "metric" / "front_service.csv.gz", required=["Time", "SuccessRate(%)", *FRONT_METRICS])
    fts = _minutes(front, folder / "metric" / "front_service.csv.gz")
    kpi = pd.DataFrame({m: pd.to_numeric(front[c], errors="coerce").to_numpy(dtype=float) * s
                        for c, (m, _, s) in FRONT_METRICS.items()}, index=fts)
    success = pd.to_numeric(front["SuccessRate(%)"], errors="coerce").to_numpy(dtype=float)
    if np.nan_to_num(success).any():  # some days leave it 0 throughout (not measured): no error-rate KPI then
        kpi["error_rate_pct"] = 100.0 - success
    kpi = kpi[~kpi.index.duplicated(keep="last")].sort_index()
    metrics = pd.concat(frames, ignore_index=True)
    metrics = metrics[np.isfinite(metrics["value"].to_numpy())]
    metrics = metrics.drop_duplicates(["component", "metric", "ts"], keep="last")
    thresholds = {m: t for m in ("latency_p99_ms", "error_rate_pct") if m in kpi.columns
                  if (t := robust_threshold(kpi[m].to_numpy(), floor=1.0 if m == "error_rate_pct" else 0.0))}
    system = "train-ticket" if all(s.startswith("ts-") for s in services) else "online-boutique"
    return Day(name, folder, faults, metrics, services, kpi, thresholds, system)


def _edges_ob(folder: Path, services: set[str]) -> set[tuple[str, str]]:
    df = read_csv(folder / "metric" / "dependency.csv.gz", required=["Source", "Target"])
    return {(str(a), str(b)) for a, b in zip(df["Source"], df["Target"])
            if str(a) in services and str(b) in services and a != b}


def _edges_from_traces(days: list[Day]) -> set[tuple[str, str]]:
    """Caller -> callee service pairs of every parent/child span pair in the days' trace files."""
    edges: set[tuple[str, str]] = set()
    for d in days:
        for f in sorted((d.folder / "trace").glob("*_trace.csv.gz")):
            for spans in _trace_file(d, f).values():
                owner = {str(s[2]): service_of(s[4]) for s in spans}
                for s in spans:
                    p, c = owner.get(str(s[3])), service_of(s[4])
                    if p is not None and p != c:
                        edges.add((p, c))
    return edges


# --- one scenario ----------------------------------------------------------------------------------------

def _minute_files(folder: Path, kind: str, start: int, end: int) -> list[Path]:
    """The dataset's per-minute ``HH_MM_<kind>.csv.gz`` files of [start, end) that exist, in time order."""
    paths = (folder / kind / f"{datetime.fromtimestamp(t, timezone.utc):%H_%M}_{kind}.csv.gz"
             for t in range(start, end, STEP))
    return [p for p in paths if p.is_file()]


def _json_object(text: str) -> dict | None:
    """``text`` parsed, when it is a JSON object."""
    try:
        doc = json.loads(text)
    except (json.JSONDecodeError, TypeError):
        return None
    return doc if isinstance(doc, dict) else None


def _log_record(row_ts: int, svc: str, raw: str) -> dict:
    outer = _json_object(raw)
    text = str(outer.get("log", raw) if outer else raw).strip()
    inner = _json_object(text) if text.startswith("{") else None
    level = str(inner.get("severity") or inner.get("level") or "") if inner else ""
    message = str(inner.get("message") or inner.get("msg") or text) if inner else text
    if not level and (m := _LEVEL_RE.match(text)):
        level, message = m.group(1), text[m.end():]
    message = _IDS_RE.sub("", message).strip()
    return {"ts": row_ts, "component": svc, "level": LEVELS.get(level.upper(), "INFO"), "message": message[:2000]}


def _log_file(day: Day, f: Path) -> list[dict]:
    if f not in day.cache:
        df = read_csv(f, required=["TimeUnixNano", "PodName", "Log"], dtype={"Log": str, "PodName": str})
        ts = (df["TimeUnixNano"].astype("int64") // 1_000_000_000).tolist()
        day.cache[f] = [_log_record(int(t), service_of(pod), raw)
                        for t, pod, raw in zip(ts, df["PodName"].tolist(), df["Log"].tolist()) if isinstance(raw, str)]
    return day.cache[f]


def _logs(day: Day, start: int, end: int, names: set[str]) -> list[dict]:
    recs = [r for f in _minute_files(day.folder, "log", start, end) for r in _log_file(day, f)
            if start <= r["ts"] < end and r["component"] in names]
    if len(recs) > MAX_LOGS:
        recs.sort(key=lambda r: (r["level"] not in ("ERROR", "WARN"),
                                 _md5(f"{r['ts']}|{r['component']}|{r['level']}|{r['message']}")))
        recs = recs[:MAX_LOGS]
    return recs


def _trace_file(day: Day, f: Path) -> dict[str, list[tuple]]:
    """trace id -> its spans (start, end, span id, parent id, pod, operation, duration) of one minute file."""
    if f not in day.cache:
        sp = read_csv(f, required=["TraceID", "SpanID", "ParentID", "PodName", "OperationName", "StartTimeUnixNano",
                                   "EndTimeUnixNano", "Duration"],
                      dtype={"TraceID": str, "SpanID": str, "ParentID": str, "PodName": str, "OperationName": str})
        cols = [sp[c].tolist() for c in ("TraceID", "StartTimeUnixNano", "EndTimeUnixNano", "SpanID", "ParentID",
                                         "PodName", "OperationName", "Duration")]
        out: dict[str, list[tuple]] = {}
        for tid, *rest in zip(*cols):
            out.setdefault(str(tid), []).append(tuple(rest))
        day.cache[f] = out
    return day.cache[f]


def _traces(day: Day, start: int, end: int) -> list[dict]:
    merged: dict[str, dict[str, tuple]] = {}
    for f in _minute_files(day.folder, "trace", start, end):
        for tid, spans in _trace_file(day, f).items():
            merged.setdefault(tid, {}).update({s[2]: s for s in spans})
    firsts = {tid: min(int(s[0]) for s in sp.values()) // 1_000_000_000 for tid, sp in merged.items()}
    keep = sorted((t for t, s in firsts.items() if start <= s < end), key=_md5)[:MAX_TRACES]
    out = []
    for tid in sorted(keep):
        rows = sorted(merged[tid].values(), key=lambda s: (int(s[0]), str(s[2])))
        index = {str(s[2]): i for i, s in enumerate(rows)}
        spans = [{"component": service_of(pod), "operation": str(op),
                  "parent": index.get(str(par)) if par != "root" else None,
                  "duration_ms": round(float(dur) / 1000.0, 3), "error": False}
                 for _, _, _, par, pod, op, dur in rows]
        t0, t1 = min(int(s[0]) for s in rows), max(int(s[1]) for s in rows)
        root = next((s["component"] for s in spans if s["parent"] is None), spans[0]["component"])
        out.append({"trace_id": tid, "ts": t0 // 1_000_000_000, "root": root,
                    "duration_ms": round((t1 - t0) / 1e6, 3), "error": False, "spans": spans})
    return out


class _Pivot:
    """The window's long metric table as arrays on the grid, for fast per-series lookups."""

    def __init__(self, table, grid: np.ndarray):
        import pandas as pd

        self.grid = grid
        self.series: dict[tuple[str, str], np.ndarray] = {}
        pos = ((table["ts"].to_numpy() - grid[0]) // STEP).astype(int)
        vals = table["value"].to_numpy(dtype=float)
        comp_codes, comps = pd.factorize(table["component"], sort=True)
        metric_codes, metrics = pd.factorize(table["metric"], sort=True)
        key = comp_codes.astype(np.int64) * len(metrics) + metric_codes
        order = np.argsort(key, kind="stable")
        uniq, first = np.unique(key[order], return_index=True)
        for k, idx in zip(uniq.tolist(), np.split(order, first[1:])):
            p = pos[idx]
            ok = (p >= 0) & (p < len(grid))
            arr = np.full(len(grid), np.nan)
            arr[p[ok]] = vals[idx][ok]
            self.series[(str(comps[k // len(metrics)]), str(metrics[k % len(metrics)]))] = arr

    def get(self, comp: str, metric: str) -> np.ndarray:
        return self.series.get((comp, metric), np.full(len(self.grid), np.nan))


def _monitors(day: Day, window_metrics: "_Pivot", grid: np.ndarray, entry: str):
    def monitor(comp: str, metric: str, threshold: float, suffix: str) -> dict:
        return evaluate_monitor(f"{comp}-{metric.replace('_', '-')}-{suffix}", comp, metric, threshold, grid,
                                window_metrics.get(comp, metric))

    kpi = [monitor(entry, metric, thr, "slo") for metric, thr in sorted(day.thresholds.items())]
    return kpi, [monitor(svc, metric, RESOURCE_LIMIT_PCT, "high") for svc in sorted(day.services)
                 for metric in ("cpu_pct", "memory_pct")]


def _alert(fault: Fault, end: int, kpi: list[dict], resource: list[dict], window_metrics: "_Pivot", grid, entry: str
           ) -> tuple[dict, str]:
    """The triggering alert and a tag saying where it came from."""
    for group, tag in ((kpi, "alert:kpi"), (resource, "alert:resource-rule")):
        fired = sorted((t, m["name"], m) for m in group if (t := first_alert(m, fault.minute, end)) is not None)
        if fired:
            t, _, m = fired[0]
            v = window_metrics.get(m["component"], m["metric"])[(t - grid[0]) // STEP]
            what = "latency" if "latency" in m["metric"] else "error rate" if "error" in m["metric"] else \
                m["metric"].replace("_pct", "").replace("_", " ") + " usage"
            return ({"component": m["component"], "metric": m["metric"], "fired_at": int(t), "monitor": m["name"],
                     "value": round(float(v), 3), "threshold": m["threshold"],
                     "severity": "critical" if group is kpi else "warning",
                     "title": f"{m['component']} {what} above {m['threshold']:g}"}, tag)
    # neither fired: the KPI at its worst minute after the injection (an operator's "looks slow" report)
    metric = "latency_p99_ms"
    vals = window_metrics.get(entry, metric)
    after = (grid >= fault.minute) & (grid < end) & np.isfinite(vals)
    i = int(np.flatnonzero(after)[np.argmax(vals[after])]) if after.any() else int(np.searchsorted(grid, fault.minute))
    m = next(x for x in kpi if x["metric"] == metric)
    alert = {"component": entry, "metric": metric, "fired_at": int(grid[i]), "monitor": m["name"],
             "threshold": m["threshold"], "severity": "info",
             "title": f"{entry} p99 latency peaked (below its alert threshold)"}
    if np.isfinite(vals[i]):
        alert["value"] = round(float(vals[i]), 3)
    return alert, "alert:kpi-peak"


def _evidence(fault: Fault, labels: dict, has: set[str], logged: set[str], traced: set[str]) -> list[str]:
    """Key signals from the dataset's fine-grained label, kept only where the world holds them."""
    label = labels.get(fault.service, {}).get(fault.kind)
    svc = fault.service
    if not isinstance(label, str):
        return []
    if label.startswith("CpuUsageRate"):
        return [f"metric:{svc}:cpu_pct"] if "cpu_pct" in has else []
    if label.startswith("MemoryUsageRate"):
        return [f"metric:{svc}:memory_pct"] if "memory_pct" in has else []
    if label.startswith("Network"):         # NetworkP90: the delay seen between a span and its parent
        return ([f"traces:{svc}"] if svc in traced else []) + \
               ([f"metric:{svc}:latency_p90_ms"] if "latency_p90_ms" in has else [])
    return [f"logs:{svc}"] if svc in logged else []  # a code region, delimited by two log statements


def import_nezha(source: str | Path, out: str | Path, *, name: str = "real-nezha", force: bool = False,
                 progress=None) -> ImportResult:
    """Import the Nezha dataset at ``source`` (the folder with LICENSE and rca_data/) into suite ``out``."""
    source = Path(source)
    if not source.is_dir():
        raise fail(source, "SOURCE_DIR", str(source), "no such folder; give the Nezha dataset folder")
    fault_lists = sorted((source / "rca_data").glob("*/*-fault_list.json"))
    if not fault_lists:
        raise fail(source, "SOURCE_DIR", str(source),
                   "not a Nezha dataset folder (no rca_data/<day>/<day>-fault_list.json); "
                   "give the folder that holds LICENSE, rca_data/ and construct_data/")
    licence = source / "LICENSE"
    if not licence.is_file():
        raise fail(licence, "", "missing", "keep the upstream LICENSE (MIT) next to rca_data/; the imported suite "
                                           "must carry it")
    days = [_read_day(p.parent) for p in fault_lists if p.parent.name in p.name]
    labels = {}
    for sysname, (_, _, ns) in SYSTEMS.items():
        p = source / "construct_data" / f"root_cause_{ns}.json"
        labels[sysname] = read_json(p, "restore construct_data/root_cause_*.json") if p.is_file() else {}
    edges: dict[str, set[tuple[str, str]]] = {}
    for sysname in SYSTEMS:
        sdays = [d for d in days if d.system == sysname]
        if not sdays:
            continue
        names = set().union(*(d.services for d in sdays))
        if sysname == "online-boutique":
            e = set().union(*(_edges_ob(d.folder, names) for d in sdays))
        else:
            e = {x for x in _edges_from_traces(sdays) if x[0] in names and x[1] in names}
            entry = SYSTEMS[sysname][1]
            roots = {a for a, _ in e} - {b for _, b in e} - {entry}
            # the UI (nginx) fronts the gateway: front_service is its latency; traces start at the gateway
            e |= {(entry, r) for r in roots if entry in names}
        edges[sysname] = e

    skipped: list[tuple[str, str]] = []
    planned = []
    for d in days:
        minutes = [f.minute for f in d.faults]
        day_start, day_end = int(d.metrics["ts"].min()), int(d.metrics["ts"].max()) + STEP
        for i, f in enumerate(d.faults):
            case = f"{d.name} {f.time} {f.pod} {f.kind}"
            if f.service not in d.services:
                skipped.append((case, f"no metric file for the injected pod's service '{f.service}'"))
                continue
            nxt = next((m for m in minutes[i + 1:] if m > f.minute), day_end)
            start = max(day_start, f.minute - PRE_MIN * STEP)
            end = min(day_end, f.minute + POST_MIN * STEP, max(nxt, f.minute + MIN_POST_MIN * STEP))
            if not start <= f.minute < end:
                skipped.append((case, f"injection time outside the day's metrics [{day_start}, {day_end})"))
                continue
            planned.append((d, f, start, end))

    with SuiteStage(out, force) as stage:
        stage.write_suite_toml(
            name, "1.0.0",
            f"Real incidents: the {len(planned)} labelled faults of the Nezha RCA dataset (Online Boutique and "
            f"Train Ticket on Kubernetes; metrics, logs, traces). Data: {ATTRIBUTION}.",
            {"importer": IMPORTER_ID, "source": "IntelligentDDS/Nezha@d814010", "licence": "MIT",
             "attribution": ATTRIBUTION, "window_minutes_before": PRE_MIN, "window_minutes_after": POST_MIN},
            CATEGORIES)
        for d, f, start, end in consume(planned, progress, len(planned)):
            _add_fault(stage, d, f, start, end, edges[d.system], labels[d.system])
        stage.add_file("LICENSE", licence.read_bytes())
        stage.add_file("ATTRIBUTION.md", ATTRIBUTION_MD)
        return stage.finish(skipped)


def _add_fault(stage: SuiteStage, d: Day, f: Fault, start: int, end: int, edges, labels) -> None:
    """Write the scenario of one fault: window metrics + KPI, monitors, alert, logs, traces, truth."""
    import pandas as pd

    entry = SYSTEMS[d.system][1]
    grid = np.arange(start, end, STEP)
    m = d.metrics[(d.metrics["ts"] >= start) & (d.metrics["ts"] < end)]
    m = m[~((m["component"] == entry) & m["metric"].isin(set(d.front.columns)))]
    front = d.front[(d.front.index >= start) & (d.front.index < end)]
    kpi_rows = [pd.DataFrame({"ts": front.index.to_numpy(), "component": entry, "metric": col,
                              "value": front[col].to_numpy(dtype=float)}) for col in front.columns]
    table = pd.concat([m, *kpi_rows], ignore_index=True) if entry in d.services else m
    table = table[np.isfinite(table["value"].to_numpy(dtype=float))]
    names = set(d.services)
    pivot = _Pivot(table, grid)
    kpi, resource = _monitors(d, pivot, grid, entry)
    alert, alert_tag = _alert(f, end, kpi, resource, pivot, grid, entry)
    components = [{"name": s, "kind": "service", "tier": "edge" if s == entry else "service", "pod": d.services[s]}
                  for s in sorted(names)]
    category, fault_type = FAULTS[f.kind]
    has = set(table[table["component"] == f.service]["metric"])
    logs, traces = _logs(d, start, end, names), _traces(d, start, end)
    truth = {"component": f.service, "fault_type": fault_type, "aliases": [f.pod],
             "evidence": _evidence(f, labels, has, {r["component"] for r in logs},
                                   {sp["component"] for t in traces for sp in t["spans"]})}
    at = datetime.fromtimestamp(f.minute, timezone.utc)
    sid = f"{SYSTEMS[d.system][0]}-{d.name.replace('-', '')}-{at:%H%M}"
    tags = [f"system:{d.system}", f"day:{d.name}", alert_tag,
            "self" if alert["component"] == f.service else "downstream"]
    world = WorldFiles(components, sorted((a, b, "calls") for a, b in edges), table, UNITS,
                       logs=logs, traces=traces, monitors=kpi + resource)
    stage.add_scenario(sid, category, alert, (start, end, STEP), world, truth, tags,
                       f"Nezha {d.system} {d.name}: fault injected around {at:%H:%M} UTC; "
                       "1-minute pod metrics, sampled logs and traces.")
