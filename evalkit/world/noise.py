"""Noise injection: distractors a careless investigator would chase, added to a World in place.

Kinds: unrelated deploys near the incident, an unrelated anomaly elsewhere, a look-alike component name
(``payment-api`` beside ``payments-api``), a flapping monitor and benign recurring error logs. The caller
passes the components whose telemetry must stay untouched (``protect``) and those that get no noise at
all (``keep_clean``) as plain names; this module knows nothing about why. Deterministic for a given rng.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Callable, Iterable

import numpy as np

from evalkit.world.line_formats import numbered_formats
from evalkit.world.model import World

LOG_ORDER = itemgetter("ts", "component", "message")
EVENT_ORDER = itemgetter("ts", "component", "kind", "summary")

BENIGN = [
    ("ERROR", "failed to export spans to otel-collector:4317: context deadline exceeded (will retry)"),
    ("ERROR", "could not refresh feature flags from flagd: connection refused; serving cached values"),
    ("WARN", "deprecated config key 'http.keepalive' is set; it will be removed in the next major release"),
    ("ERROR", "scheduled job 'cleanup-expired-sessions' failed: lock held by another instance"),
    ("ERROR", "TLS handshake error from 10.0.{a}.{b}:{port}: EOF"),
    ("WARN", "metrics scrape took 1.{a}s, close to the scrape timeout"),
    ("WARN", "retrying request to {dep} (attempt 2/3): connection reset by peer"),
    ("ERROR", "NullPointerException in ReportScheduler.run (ignored, will retry next tick)"),
    ("ERROR", "payload validation failed for client 10.0.{a}.{b}: missing field 'locale' (400)"),
]
ANOMALY_LOGS = {
    "latency": [("WARN", "GC pause {ms}ms (G1 Evacuation Pause)"),
                ("INFO", "batch job '{job}' running: {a} items processed")],
    "db": [("WARN", 'LOG:  automatic vacuum of table "app.public.{job}": index scans: 3, elapsed {a}.2 s')],
}
JOBS = ["nightly-reindex", "report-export", "cache-warmup", "ledger-reconcile", "sitemap-build"]
AUTHORS = ["a.kowalski", "m.chen", "s.okafor", "j.rivera", "p.nair", "l.moreau", "deploy-bot", "k.tanaka"]


def lookalike_names(name: str) -> list[str]:
    """Names an on-call engineer could confuse with ``name`` (plural/singular, suffixes, word swaps)."""
    parts = name.split("-")
    first = parts[0]
    out = ["-".join([first[:-1] if first.endswith("s") else first + "s"] + parts[1:])]
    if len(parts) > 1 and parts[-1].endswith("s"):
        out.append("-".join(parts[:-1] + [parts[-1][:-1]]))
    out += [f"{name}-v2", f"{name}-legacy", f"{name}-svc", f"{name}-worker"]
    if len(parts) > 1:
        out.append("-".join(reversed(parts)))
    return out


def _grid_slice(world: World, t0: int, t1: int) -> np.ndarray:
    ts = world.timestamps
    return (ts >= t0) & (ts < t1)


def _add_log(world: World, ts: int, component: str, level: str, message: str) -> None:
    world.logs.append({"ts": int(ts), "component": component, "level": level, "message": message})


def _dep_column(nums: np.ndarray, fill: dict) -> list:
    """``{dep}`` per line: a list fill is sampled by the line's first integer (an empty one gives "upstream");
    any other value is every line's."""
    dep = fill["dep"]
    if not isinstance(dep, list):
        return [dep] * len(nums)
    if not dep:
        return ["upstream"] * len(nums)
    return list(map(dep.__getitem__, (nums[:, 0] % len(dep)).tolist()))


#: the fields a steady line may name besides its ``fill``'s, each a column from the lines' three integers
_STEADY_COLUMNS: dict[str, Callable[[np.ndarray, dict], list]] = {
    "a": lambda n, fill: n[:, 0].tolist(), "b": lambda n, fill: n[:, 1].tolist(),
    "port": lambda n, fill: (30000 + 17 * n[:, 2]).tolist(), "ms": lambda n, fill: (200 + 9 * n[:, 2]).tolist(),
    "job": lambda n, fill: list(map(JOBS.__getitem__, (n[:, 2] % len(JOBS)).tolist())), "dep": _dep_column}


@functools.cache
def _steady_plan(templates: tuple[tuple[str, str], ...]) -> tuple[list[str], list[str], list[str]]:
    """(field names, numbered formats, levels) of a steady template list, worked out once per list."""
    names, formats = numbered_formats(fmt for _, fmt in templates)
    return names, formats, [level for level, _ in templates]


def _steady_logs(world: World, rng: np.random.Generator, component: str, templates: list, per_min: float,
                 fill: dict) -> None:
    """Poisson-timed lines from ``templates`` through the window, each from three drawn integers and ``fill``;
    the lines are formatted by one map over per-line formats and value columns (no per-line dict), and only
    the columns some template names are made."""
    minutes = (world.end - world.start) // 60
    counts = rng.poisson(per_min, size=minutes)
    m = np.repeat(np.arange(minutes), counts)
    ts = (world.start + m * 60 + rng.integers(0, 60, size=m.size)).tolist()
    which = rng.integers(0, len(templates), size=m.size).tolist()
    nums = rng.integers(1, 250, size=(m.size, 3))
    names, formats, levels = _steady_plan(tuple(templates))
    cols = [_STEADY_COLUMNS[f](nums, fill) if f in _STEADY_COLUMNS else [fill[f]] * m.size for f in names]
    messages = map(str.format, map(formats.__getitem__, which), *cols)
    world.logs += [{"ts": t, "component": component, "level": lvl, "message": msg}
                   for t, lvl, msg in zip(ts, map(levels.__getitem__, which), messages)]


def _slow_spans(world: World, component: str, t0: int, t1: int, factor: float) -> None:
    """Stretch ``component``'s spans in [t0, t1) by ``factor``; parents' durations include the extra time."""
    for trace in world.traces:
        if not t0 <= trace["ts"] < t1:
            continue
        spans = trace["spans"]
        for sp in spans:
            if sp["component"] != component:
                continue
            extra = sp["duration_ms"] * (factor - 1)
            node: dict | None = sp
            while node is not None:
                node["duration_ms"] = round(node["duration_ms"] + extra, 2)
                node = spans[node["parent"]] if node["parent"] is not None else None
        trace["duration_ms"] = spans[0]["duration_ms"]


@dataclass
class _Scene:
    """What every noise kind reads of the world being noised, and the shared random helpers."""

    world: World
    rng: np.random.Generator
    protect: set[str]     # telemetry stays untouched
    clean: set[str]       # gets no noise at all
    scale: int            # items per kind (1..3)
    around: int           # epoch second near which co-occurring distractors cluster
    kinds_of: dict[str, str] = field(init=False)
    services: list[str] = field(init=False)
    free_services: list[str] = field(init=False)
    pods_of: dict[str, list[str]] = field(init=False, default_factory=dict)
    callees: dict[str, list[str]] = field(init=False, default_factory=dict)
    callers: dict[str, list[str]] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.kinds_of = {c["name"]: c["kind"] for c in self.world.components}
        self.services = [c["name"] for c in self.world.components if c["kind"] == "service"]
        self.free_services = [s for s in self.services if s not in self.protect]
        for s, t, r in self.world.edges:
            if r == "instance-of":
                self.pods_of.setdefault(t, []).append(s)
            elif r == "calls":
                self.callees.setdefault(s, []).append(t)
                self.callers.setdefault(t, []).append(s)

    def near(self) -> int:
        return int(self.around + self.rng.integers(-900, 300))

    def anywhere(self) -> int:
        return int(self.world.start + self.rng.integers(0, self.world.end - self.world.start - 60))

    def pick(self, xs: list[str]) -> str | None:
        return xs[int(self.rng.integers(len(xs)))] if xs else None

    def free_of_kind(self, kind: str) -> list[str]:
        """Components of ``kind`` whose telemetry may be touched."""
        return [c for c in self.kinds_of if self.kinds_of[c] == kind and c not in self.protect]


def _unrelated_deploy(sc: _Scene) -> list[str]:
    """Deploys of other services, the first near the incident; a short CPU blip where telemetry may change."""
    world, rng = sc.world, sc.rng
    targets: list[str] = []
    pool = sc.free_services or [s for s in sc.services if s not in sc.clean]
    for i in range(min(sc.scale, len(pool))):
        svc = sc.pick([s for s in pool if s not in targets])
        if svc is None:
            break
        targets.append(svc)
        ts = sc.near() if i == 0 else sc.anywhere()
        a, b = int(rng.integers(1, 6)), int(rng.integers(0, 60))
        new, old = f"v{a}.{b + 1}.{int(rng.integers(0, 9))}", f"v{a}.{b}.{int(rng.integers(0, 9))}"
        sha = f"{int(rng.integers(0, 2**28)):07x}"
        world.events.append({"ts": ts, "kind": "deploy", "component": svc,
                             "summary": f"Deployed {svc} {new} (was {old})",
                             "details": {"version": new, "previous_version": old, "commit": sha,
                                         "author": AUTHORS[int(rng.integers(len(AUTHORS)))],
                                         "strategy": "rolling"}})
        _add_log(world, ts + 12, svc, "INFO", f"Starting {svc} {new} (commit {sha})")
        if svc not in sc.protect:
            blip = _grid_slice(world, ts, ts + 180)
            for comp in [svc] + sc.pods_of.get(svc, []):
                m = world.metrics.get(comp, {})
                if "cpu_pct" in m:
                    m["cpu_pct"] = np.where(blip, np.minimum(100, m["cpu_pct"] + rng.uniform(8, 20)), m["cpu_pct"])
    return targets


def _latency_anomaly(sc: _Scene, win: np.ndarray, t0: int, t1: int) -> str:
    """A free service slows down for a while (GC pauses, a batch job): latency, spans and logs."""
    rng = sc.rng
    comp = sc.pick(sc.free_services)
    m = sc.world.metrics[comp]
    m["latency_p99_ms"] = np.where(win, m["latency_p99_ms"] * rng.uniform(2.5, 5), m["latency_p99_ms"])
    factor = float(rng.uniform(1.3, 2))
    m["latency_p50_ms"] = np.where(win, m["latency_p50_ms"] * factor, m["latency_p50_ms"])
    _slow_spans(sc.world, comp, t0, t1, factor)
    for k in range(int(rng.integers(3, 8))):
        lvl, fmt = ANOMALY_LOGS["latency"][k % 2]
        _add_log(sc.world, t0 + int(rng.integers(0, max(t1 - t0, 61))), comp, lvl,
                 fmt.format(ms=int(rng.integers(400, 2500)), job=JOBS[int(rng.integers(len(JOBS)))],
                            a=int(rng.integers(100, 90000))))
    return comp


def _busier(sc: _Scene, kind: str, win: np.ndarray, lo: float, hi: float) -> tuple[str, dict[str, np.ndarray]]:
    """A free component of ``kind`` whose CPU rises by U(lo, hi) points inside ``win``: (name, its metrics)."""
    comp = sc.pick(sc.free_of_kind(kind))
    m = sc.world.metrics[comp]
    m["cpu_pct"] = np.where(win, np.minimum(100, m["cpu_pct"] + sc.rng.uniform(lo, hi)), m["cpu_pct"])
    return comp, m


def _node_anomaly(sc: _Scene, win: np.ndarray, t0: int, t1: int) -> str:
    """A node's CPU climbs while a batch job runs on it (with the k8s event that started the job)."""
    rng = sc.rng
    comp, _ = _busier(sc, "k8s-node", win, 30, 50)
    sc.world.events.append({"ts": t0, "kind": "k8s-event", "component": comp,
                            "summary": f"Started job {JOBS[int(rng.integers(len(JOBS)))]}-"
                                       f"{int(rng.integers(10000, 99999))} on {comp}",
                            "details": {"reason": "SuccessfulCreate"}})
    return comp


def _db_anomaly(sc: _Scene, win: np.ndarray, t0: int, t1: int) -> str:
    """A database busy with an autovacuum: CPU and query time up, one vacuum log line at the end."""
    rng = sc.rng
    comp, m = _busier(sc, "database", win, 25, 45)
    m["query_time_p99_ms"] = np.where(win, m["query_time_p99_ms"] * rng.uniform(1.5, 3), m["query_time_p99_ms"])
    lvl, fmt = ANOMALY_LOGS["db"][0]
    _add_log(sc.world, t1 - 30, comp, lvl, fmt.format(job=JOBS[int(rng.integers(len(JOBS)))].replace("-", "_"),
                                                      a=int(rng.integers(20, 400))))
    return comp


def _lag_anomaly(sc: _Scene, win: np.ndarray, t0: int, t1: int) -> str:
    """A consumer group falls behind and catches up again (a half-sine bump of lag)."""
    comp = sc.pick(sc.free_of_kind("consumer-group"))
    m = sc.world.metrics[comp]
    bump = np.where(win, sc.rng.uniform(2000, 20000) * np.sin(np.linspace(0, np.pi, win.size)), 0.0)
    m["consumer_lag"] = np.round(m["consumer_lag"] + np.clip(bump, 0, None))
    return comp


#: kinds of unrelated anomaly, each offered when a free component of its kind exists
ANOMALIES: dict[str, tuple[str | None, Callable[[_Scene, np.ndarray, int, int], str]]] = {
    "latency": (None, _latency_anomaly), "node": ("k8s-node", _node_anomaly), "db": ("database", _db_anomaly),
    "lag": ("consumer-group", _lag_anomaly)}


def _unrelated_anomaly(sc: _Scene) -> list[str]:
    """One or two anomalies elsewhere, the first near the incident."""
    options = [name for name, (kind, _) in ANOMALIES.items()
               if (sc.free_services if kind is None else sc.free_of_kind(kind))]
    touched = []
    for i in range(min(sc.scale, 2)):
        what = options[int(sc.rng.integers(len(options)))]
        t0 = sc.near() if i == 0 else sc.anywhere()
        t1 = t0 + int(sc.rng.integers(5, 16)) * 60
        touched.append(ANOMALIES[what][1](sc, _grid_slice(sc.world, t0, t1), t0, t1))
    return touched


def _lookalike(sc: _Scene) -> list[str]:
    """New services named like existing ones (``payment-api`` beside ``payments-api``), erroring steadily."""
    world, rng = sc.world, sc.rng
    added = []
    bases = [s for s in sc.services if s in sc.protect and s not in sc.clean] if rng.random() < 0.5 else []
    bases = bases or sc.free_services or sc.services
    for _ in range(min(sc.scale, 2)):
        base = sc.pick(bases)
        names = [x for x in lookalike_names(base) if x not in sc.kinds_of]
        if not names:
            continue
        name = names[int(rng.integers(len(names)))]
        comp = next(c for c in world.components if c["name"] == base)
        world.components.append({"name": name, "kind": "service", "tier": "service",
                                 "language": comp.get("language", "go")})
        sc.kinds_of[name] = "service"
        caller = sc.pick(sorted(sc.callers.get(base, []))) or sc.pick(sc.free_services) or base
        world.edges.append((caller, name, "calls"))
        n = world.timestamps.size
        bm = world.metrics[base]
        rps = bm["requests_per_s"] * rng.uniform(0.01, 0.06) * np.exp(rng.normal(0, 0.08, n))
        err = rng.uniform(2, 9) * np.exp(rng.normal(0, 0.25, n))
        world.metrics[name] = {
            "requests_per_s": rps, "error_rate_pct": np.minimum(100, err),
            "latency_p50_ms": bm["latency_p50_ms"].mean() * rng.uniform(1, 1.5) * np.exp(rng.normal(0, 0.1, n)),
            "latency_p99_ms": bm["latency_p99_ms"].mean() * rng.uniform(1, 2) * np.exp(rng.normal(0, 0.15, n)),
            "cpu_pct": np.clip(rng.uniform(5, 20) + rng.normal(0, 1, n), 0, 100),
            "memory_pct": np.clip(rng.uniform(30, 60) + rng.normal(0, 0.5, n), 0, 100),
        }
        deps = sorted(c for c in sc.callees.get(base, []) if sc.kinds_of.get(c) in ("service", "external"))
        _steady_logs(world, rng, name, [
            ("ERROR", "call to {dep} failed: 503 Service Unavailable"),
            ("WARN", "deprecated endpoint /v1/{job} called by client 10.0.{a}.{b}"),
            ("ERROR", "request failed: upstream connect error or disconnect/reset before headers"),
        ], rng.uniform(0.3, 0.9), {"dep": deps or ["upstream"]})
        added.append(name)
    return added


def _steady(world: World, series: tuple[str, str]) -> bool:
    """Whether a series has no trend (first and last third within 0.8..1.25 of each other): a monitor only
    flaps on such a series."""
    x = np.asarray(world.metrics[series[0]][series[1]], dtype=float)
    third = max(1, x.size // 3)
    a, b = float(np.mean(x[:third])), float(np.mean(x[-third:]))
    return a > 0 and 0.8 <= b / a <= 1.25


def _flapping_monitor(sc: _Scene) -> list[str]:
    """A new monitor whose threshold sits inside a square wave added to a steady series, so it flaps."""
    world, rng = sc.world, sc.rng
    flapped = []
    monitored = {(m["component"], m["metric"]) for m in world.monitors}
    cands = [(s, "cpu_pct") for s in sc.free_services] + \
            [(c, "cpu_pct") for c in sc.free_of_kind("k8s-node")] + \
            [(c, "evictions_per_s") for c in sc.free_of_kind("cache")]
    cands = [c for c in cands if c not in monitored]
    cands = [c for c in cands if _steady(world, c)] or cands
    for _ in range(min(sc.scale, 2)):
        if not cands:
            break
        comp, metric = cands[int(rng.integers(len(cands)))]
        x = np.asarray(world.metrics[comp][metric], dtype=float)
        level_ = float(np.mean(x)) or 1.0
        period = int(rng.integers(6, 11))
        wave = np.where((np.arange(x.size) // (period // 2)) % 2 == 0, 1.0, -1.0)
        amp = max(level_ * 0.25, 2.0 if metric == "cpu_pct" else 1.0)
        world.metrics[comp][metric] = np.clip(x + amp * wave, 0, 100 if metric.endswith("pct") else None)
        thr = float(round(level_ + 0.1 * amp, 1))
        world.monitors.append({"name": f"{comp}-{metric.replace('_', '-')}", "component": comp,
                               "metric": metric, "comparator": ">", "threshold": thr})
        flapped.append(comp)
        cands = [c for c in cands if c[0] != comp]
    return flapped


def _benign_errors(sc: _Scene) -> list[str]:
    """Recurring error logs that are always there (export retries, TLS handshakes, stale config keys)."""
    targets: list[str] = []
    pool = [s for s in sc.services if s not in sc.clean]
    for _ in range(sc.scale):
        comp = sc.pick([s for s in pool if s not in targets])
        if comp is None:
            break
        k = int(sc.rng.integers(1, 3))
        idx = sc.rng.choice(len(BENIGN), size=k, replace=False).tolist()
        _steady_logs(sc.world, sc.rng, comp, [BENIGN[i] for i in sorted(idx)], float(sc.rng.uniform(0.2, 0.8)),
                     {"dep": sorted(sc.callees.get(comp, []))})
        targets.append(comp)
    return targets


#: the noise kinds, in the order they are drawn and applied (the order is part of the random stream)
KINDS: dict[str, Callable[[_Scene], list[str]]] = {
    "unrelated_deploy": _unrelated_deploy, "unrelated_anomaly": _unrelated_anomaly, "lookalike": _lookalike,
    "flapping_monitor": _flapping_monitor, "benign_errors": _benign_errors}
NOISE_KINDS: tuple[str, ...] = tuple(KINDS)


def inject_noise(world: World, rng: np.random.Generator, level: float, protect: Iterable[str],
                 keep_clean: Iterable[str], around: int) -> dict[str, list[str]]:
    """Add distractors to ``world`` in place; returns ``{noise kind: [components touched or added]}``.

    ``level`` in [0, 1] sets how many kinds (3 to 5 for any level > 0) and how many items of each;
    ``around`` is the epoch second near which co-occurring distractors (deploys, anomalies) cluster.
    """
    if level <= 0:
        return {}
    clean = set(keep_clean)
    scene = _Scene(world, rng, set(protect) | clean, clean, scale=1 + int(round(level * 2)), around=around)
    n_kinds = 3 if level < 0.34 else 4 if level < 0.67 else 5
    chosen = sorted(rng.choice(len(NOISE_KINDS), size=n_kinds, replace=False).tolist())
    return {NOISE_KINDS[i]: KINDS[NOISE_KINDS[i]](scene) for i in chosen}
