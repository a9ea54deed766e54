"""A small hand-built World (a slow query on orders-db, alert on the gateway) for adapter tests.

Independent of the suite generator so adapter tests run even when no suite is installed.
"""

from __future__ import annotations

import numpy as np

from evalkit.world.model import World

START = 1_700_000_000
STEP = 60
N = 120
ONSET = START + 90 * STEP       # the slow query starts here
FIRED_AT = ONSET + 5 * STEP     # the gateway's error-rate monitor fires here


def _series(rng: np.random.Generator, base: float, jump: float, noise: float) -> np.ndarray:
    ts = np.arange(START, START + N * STEP, STEP)
    values = base + rng.normal(0, noise, N)
    values[ts >= ONSET] += jump
    return np.round(values, 3)


def slow_query_world(seed: int = 0) -> World:
    """gateway -> checkout -> orders-db (slow query), checkout -> payments -> stripe; one unrelated deploy."""
    rng = np.random.default_rng(seed)
    components = [
        {"name": "api-gateway", "kind": "gateway", "tier": "edge"},
        {"name": "checkout", "kind": "service", "tier": "app"},
        {"name": "payments", "kind": "service", "tier": "app"},
        {"name": "orders-db", "kind": "database", "tier": "data"},
        {"name": "stripe", "kind": "external", "tier": "external"},
        {"name": "checkout-7f9c-1", "kind": "pod", "tier": "app"},
        {"name": "node-a", "kind": "k8s-node", "tier": "infra"},
    ]
    edges = [
        ("api-gateway", "checkout", "calls"),
        ("checkout", "orders-db", "calls"),
        ("checkout", "payments", "calls"),
        ("payments", "stripe", "calls"),
        ("checkout-7f9c-1", "checkout", "instance-of"),
        ("checkout-7f9c-1", "node-a", "runs-on"),
    ]
    metrics = {
        "api-gateway": {"error_rate_pct": _series(rng, 0.5, 7.5, 0.1),
                        "latency_p99_ms": _series(rng, 120, 480, 6)},
        "checkout": {"latency_p99_ms": _series(rng, 100, 500, 5), "error_rate_pct": _series(rng, 0.3, 4.0, 0.1),
                     "cpu_pct": _series(rng, 35, 0, 2)},
        "payments": {"latency_p99_ms": _series(rng, 80, 0, 4), "error_rate_pct": _series(rng, 0.2, 0, 0.05)},
        "orders-db": {"query_time_p99_ms": _series(rng, 20, 380, 1.5), "connections": _series(rng, 40, 5, 2),
                      "cpu_pct": _series(rng, 30, 20, 2)},
        "stripe": {"latency_p99_ms": _series(rng, 200, 0, 8)},
        "checkout-7f9c-1": {"memory_mb": _series(rng, 512, 0, 5), "restarts": _series(rng, 0, 0, 0)},
        "node-a": {"cpu_pct": _series(rng, 40, 0, 2)},
    }
    metrics["api-gateway"]["error_rate_pct"][5] = np.nan  # a missing sample
    units = {"error_rate_pct": "%", "latency_p99_ms": "ms", "cpu_pct": "%", "query_time_p99_ms": "ms",
             "connections": "count", "memory_mb": "MB", "restarts": "count"}
    logs = [
        {"ts": ONSET + 30, "component": "orders-db", "level": "WARN",
         "message": "slow query: SELECT * FROM orders WHERE customer_id=? took 412 ms (full scan)"},
        {"ts": ONSET + 90, "component": "checkout", "level": "ERROR",
         "message": "timeout calling orders-db after 500 ms"},
        {"ts": FIRED_AT, "component": "api-gateway", "level": "ERROR", "message": "upstream checkout returned 504"},
        {"ts": START + 600, "component": "payments", "level": "INFO", "message": "payment accepted"},
    ]
    traces = [
        {"trace_id": "t1", "ts": ONSET + 120, "root": "api-gateway", "duration_ms": 620.0, "error": True,
         "spans": [{"component": "api-gateway", "operation": "POST /checkout", "parent": None,
                    "duration_ms": 620.0, "error": True},
                   {"component": "checkout", "operation": "placeOrder", "parent": "api-gateway",
                    "duration_ms": 600.0, "error": True},
                   {"component": "orders-db", "operation": "SELECT orders", "parent": "checkout",
                    "duration_ms": 410.0, "error": False}]},
    ]
    events = [
        {"ts": START + 3000, "kind": "deploy", "component": "payments", "summary": "payments v2.3.1 rolled out",
         "details": {"version": "2.3.1"}},
    ]
    monitors = [
        {"name": "gateway-errors", "component": "api-gateway", "metric": "error_rate_pct", "comparator": ">",
         "threshold": 5.0, "state": "ALERT", "last_triggered": FIRED_AT},
        {"name": "checkout-latency", "component": "checkout", "metric": "latency_p99_ms", "comparator": ">",
         "threshold": 800.0, "state": "OK", "last_triggered": None},
    ]
    alert = {"monitor": "gateway-errors", "component": "api-gateway", "metric": "error_rate_pct", "value": 8.1,
             "threshold": 5.0, "fired_at": FIRED_AT, "severity": "critical",
             "title": "api-gateway error rate above 5%"}
    return World(START, START + N * STEP, STEP, components, edges, metrics, units, logs, traces, events,
                 monitors, alert)
