"""Healthy-state telemetry: traffic with a daily shape, per-node latency/error contributions, propagation,
and the per-kind metric series assembled from them. All numpy, one pass over the call graph."""

from __future__ import annotations

from typing import Callable

import numpy as np

from evalkit.suite.generator.context import Ctx
from evalkit.suite.generator.numeric import Rng, bank_row, clip, mean, mean_rows, pick, ramp_to, wiggle

UNITS: dict[str, str] = {
    "requests_per_s": "req/s", "error_rate_pct": "%", "latency_p50_ms": "ms", "latency_p99_ms": "ms",
    "cpu_pct": "%", "memory_pct": "%", "db_pool_in_use_pct": "%", "cpu_throttled_pct": "%",
    "memory_mb": "MiB", "restarts": "count", "disk_used_pct": "%", "net_retransmit_pct": "%",
    "queries_per_s": "queries/s", "query_time_p50_ms": "ms", "query_time_p99_ms": "ms",
    "connections_active": "connections", "hit_rate_pct": "%", "evictions_per_s": "keys/s",
    "messages_in_per_s": "msg/s", "messages_consumed_per_s": "msg/s", "consumer_lag": "messages",
    "rebalances_per_min": "rebalances/min", "servfail_per_s": "responses/s",
}


def daily_shape(mid: np.ndarray) -> np.ndarray:
    hours = (mid % 86400) / 3600.0
    return 1.0 + 0.35 * np.sin(2 * np.pi * (hours - 9.0) / 24.0)


def baseline_flows(ctx: Ctx, rng: Rng) -> None:
    """Fill ctx.rps and ctx.own50/own99/ownerr for every call-graph node, and ctx.static (per-node static
    params: p50, pool size, memory limit).

    The draws come node by node in the stream's order; the noise rows are then exponentiated as one matrix and
    the own contributions computed as matrix rows (elementwise, so the same values as node by node).
    """
    T, n = ctx.T, ctx.n
    daily = daily_shape(ctx.mid)
    lb, gw = T.gateways
    ctx.rps[lb] = rng.uniform(150, 1800) * daily * wiggle(rng, n, 0.03)
    flow_rows: list[np.ndarray] = []  # the traffic noise of every other node, in call order
    shares = rng.dirichlet(np.full(len(T.entry), 2.0))
    ctx.entry_share = {e: float(x) for e, x in zip(T.entry, shares)}
    params: dict[str, dict] = {}
    nodes = T.order()
    levels: list[tuple[float, float, float]] = []   # per node: its p50, p99 and error levels
    own_rows: list[np.ndarray] = []                  # per node: its p50, p99 and error noise rows
    for node in nodes:
        if node != lb:
            flow_rows.append(bank_row(rng, n))
        p50, tail, err = _own_levels(rng, T.kind[node])
        own_rows += [bank_row(rng, n), bank_row(rng, n), bank_row(rng, n)]
        levels.append((p50, p50 * tail, err))
        params[node] = {"p50": p50}
    flow = np.exp(np.array(flow_rows) * 0.02)
    i = 0
    for node in nodes:
        if node != lb:
            total = np.zeros(n)
            for c in T.callers.get(node, []):
                if c == gw:
                    total = total + ctx.rps[gw] * shares[T.entry.index(node)]
                else:
                    total = total + ctx.rps[c] * T.weights[(c, node)][2]
            ctx.rps[node] = total * flow[i]
            i += 1
    load = 1.0 + 0.15 * (daily - 1.0)
    k = np.array(levels)
    w = np.exp(np.array(own_rows).reshape(len(nodes), 3, n) * np.array([0.05, 0.08, 0.3])[:, None])
    own50, own99, ownerr = k[:, :1] * load * w[:, 0], k[:, 1:2] * load * w[:, 1], k[:, 2:3] * w[:, 2]
    for j, node in enumerate(nodes):
        ctx.own50[node], ctx.own99[node], ctx.ownerr[node] = own50[j], own99[j], ownerr[j]
    for s in T.services:
        if any(T.kind[c] == "database" for c in T.calls.get(s, [])):
            params[s]["pool_max"] = pick(rng, [20, 30, 50])
    for s in T.pods:
        params[s]["mem_limit_mb"] = pick(rng, [256, 512, 1024, 2048])
    ctx.static = params


def _own_levels(rng: np.random.Generator, kind: str) -> tuple[float, float, float]:
    """A node's own median latency, its p99 / p50 ratio and its own error rate (%), by kind."""
    if kind == "gateway":
        return rng.uniform(1, 3), 4.0, 0.01
    if kind == "service":
        return rng.uniform(3, 30), rng.uniform(2.5, 5), rng.uniform(0.02, 0.2)
    if kind == "database":
        return rng.uniform(0.8, 4), rng.uniform(5, 12), 0.0
    if kind == "cache":
        return rng.uniform(0.2, 0.8), 4.0, 0.0
    return rng.uniform(60, 250), rng.uniform(2.5, 4), rng.uniform(0.05, 0.5)  # external


def propagate(ctx: Ctx, own50: dict, own99: dict, ownerr: dict, f99: float, ferr: float) -> tuple[dict, dict, dict]:
    """Totals per node (callees first): own contribution plus what the callees pass up.

    A service adds each callee's latency (weighted) and the errors of the requests that reach the callee
    (call probability x pass-through share, so retries and fallbacks absorb some). The API gateway mixes its
    entry services by traffic share: median and error rate are share-weighted averages, and a route
    drives the gateway's p99 fully once it carries 20 % of the traffic. Error rates never exceed 100 %.
    """
    T = ctx.T
    gw = T.gateways[1]
    zero = np.zeros(ctx.n)
    t50: dict[str, np.ndarray] = {}
    t99: dict[str, np.ndarray] = {}
    terr: dict[str, np.ndarray] = {}
    for node in reversed(T.order()):
        a50 = own50.get(node, zero)
        a99 = own99.get(node, zero)
        aerr = ownerr.get(node, zero)
        for c in T.calls.get(node, []):
            wl, we, mult = T.weights[(node, c)]
            if node == gw:
                share = ctx.entry_share[c]
                a50 = a50 + share * t50[c]
                a99 = a99 + min(1.0, 5.0 * share) * wl * t99[c]
                aerr = aerr + share * we * terr[c]
            else:
                a50 = a50 + wl * t50[c]
                a99 = a99 + wl * f99 * t99[c]
                aerr = aerr + min(1.0, mult) * we * ferr * terr[c]
        t50[node], t99[node], terr[node] = a50, a99, np.minimum(aerr, 100.0)
    return t50, t99, terr


#: a component's request rate relative to its pre-onset mean (resource metrics scale with it)
_Load = Callable[[str], np.ndarray]


def _service_metrics(ctx: Ctx, rng: np.random.Generator, node: str, m: dict, t50: dict, base50: dict,
                     load_of: _Load, facts: dict) -> None:
    """CPU, memory and, for a service that calls databases, its connection pool (which fills as they slow)."""
    T, n, static = ctx.T, ctx.n, ctx.static
    cpu0 = rng.uniform(18, 45)
    m["cpu_pct"] = clip(cpu0 * load_of(node) * wiggle(rng, n, 0.05), 0, 100)
    mem0 = rng.uniform(35, 70)
    m["memory_pct"] = clip(mem0 + ramp_to(rng.uniform(0, 3), n) + rng.normal(0, 0.6, n), 0, 100)
    dbs = [c for c in T.calls.get(node, []) if T.kind[c] == "database"]
    if dbs:
        pool0 = rng.uniform(15, 45)
        base = clip(pool0 * load_of(node) * wiggle(rng, n, 0.08), 0, 100)
        slow = sum((t50[d] - base50[d]) / max(static[d]["p50"], 1e-6) for d in dbs)
        bump = (93.0 - base) * np.tanh(np.maximum(slow, 0) / 8.0)
        m["db_pool_in_use_pct"] = clip(base + bump, 0, 100)
        facts[node] = {"pool_max": static[node]["pool_max"], "pool_base": pool0, "dbs": dbs}


def _call_graph_metrics(ctx: Ctx, rng: np.random.Generator, t50: dict, t99: dict, terr: dict, base50: dict,
                        load_of: _Load, facts: dict) -> dict[str, dict[str, np.ndarray]]:
    """Metrics of the call graph's components (gateways, services, databases, caches, externals), in call order."""
    n = ctx.n
    metrics: dict[str, dict[str, np.ndarray]] = {}
    for node in ctx.T.order():
        kind = ctx.T.kind[node]
        err = np.minimum(100.0, terr[node])
        if kind in ("gateway", "service"):
            m = {"requests_per_s": ctx.rps[node], "error_rate_pct": err,
                 "latency_p50_ms": t50[node], "latency_p99_ms": t99[node]}
            if kind == "service":
                _service_metrics(ctx, rng, node, m, t50, base50, load_of, facts)
            metrics[node] = m
        elif kind == "database":
            metrics[node] = {
                "queries_per_s": ctx.rps[node],
                "query_time_p50_ms": t50[node],
                "query_time_p99_ms": t99[node],
                "cpu_pct": clip(rng.uniform(20, 50) * load_of(node) * wiggle(rng, n, 0.05), 0, 100),
                "disk_used_pct": clip(rng.uniform(40, 78) + ramp_to(rng.uniform(0.1, 0.8), n)
                                      + rng.normal(0, 0.05, n), 0, 100),
            }
        elif kind == "cache":
            metrics[node] = {
                "requests_per_s": ctx.rps[node],
                "hit_rate_pct": clip(rng.uniform(86, 98) + rng.normal(0, 0.6, n), 0, 100),
                "latency_p99_ms": t99[node],
                "memory_pct": clip(rng.uniform(50, 80) + rng.normal(0, 0.3, n), 0, 100),
                "evictions_per_s": np.abs(rng.normal(0, 1.0, n)) * rng.uniform(0, 4),
            }
        elif kind == "external":
            metrics[node] = {"requests_per_s": ctx.rps[node], "latency_p99_ms": t99[node], "error_rate_pct": err}
    return metrics


def _platform_metrics(ctx: Ctx, rng: Rng, metrics: dict, load_of: _Load, facts: dict) -> None:
    """Pods (CPU follows their service's, memory against the limit, restarts) and nodes (their pods' CPU).

    Each pod's draws come in the stream's order; its series are then computed for all pods at once, as matrix
    rows (elementwise, so the same values as pod by pod) to spare ~12 small numpy calls a pod.
    """
    T, n, static = ctx.T, ctx.n, ctx.static
    pods: list[str] = []
    svc_cpu: list[np.ndarray] = []
    scale: list[list[float]] = []   # per pod: its cpu factor, throttling level, memory level
    rows: list[np.ndarray] = []     # per pod: its cpu, throttling and memory noise rows
    restarts: list[float] = []
    for s, owned in T.pods.items():
        u_default = rng.uniform(10, 30)  # drawn for every owner; used only by those without their own CPU series
        cpu_s = metrics[s]["cpu_pct"] if "cpu_pct" in metrics[s] else clip(u_default * load_of(s), 0, 100)
        limit = static[s]["mem_limit_mb"]
        facts.setdefault(s, {})["mem_limit_mb"] = limit
        mem_frac = rng.uniform(0.35, 0.65)
        for p in owned:
            u_cpu = rng.uniform(0.85, 1.15)
            rows.append(bank_row(rng, n))
            u_throttle = rng.uniform(0, 2)
            rows.append(bank_row(rng, n))
            mem = limit * mem_frac * rng.uniform(0.9, 1.1)
            rows.append(bank_row(rng, n))
            restarts.append(float(pick(rng, [0, 0, 0, 0, 1, 2])))
            pods.append(p)
            svc_cpu.append(cpu_s)
            scale.append([u_cpu, u_throttle, mem])
    node_pods: dict[str, list[int]] = {nd: [] for nd in T.nodes}   # per node: its pods' rows in ``cpu``
    cpu = np.zeros((0, n))
    if pods:
        k = np.array(scale)
        w = np.exp(np.array(rows).reshape(len(pods), 3, n) * np.array([0.05, 0.3, 0.01])[:, None])
        cpu = clip(np.array(svc_cpu) * k[:, :1] * w[:, 0], 0, 100)
        throttled = clip(k[:, 1:2] * w[:, 1], 0, 100)
        memory = k[:, 2:3] * w[:, 2]
        restart_rows = np.repeat(np.array(restarts)[:, None], n, axis=1)
        for i, p in enumerate(pods):
            metrics[p] = {"cpu_pct": cpu[i], "cpu_throttled_pct": throttled[i], "memory_mb": memory[i],
                          "restarts": restart_rows[i]}
            node_pods[T.pod_node[p]].append(i)
    disk_ramp = ramp_to(0.3, n)
    for nd in T.nodes:
        idx = node_pods[nd]
        avg = mean_rows(cpu[idx]) if idx else np.full(n, 10.0)
        metrics[nd] = {
            "cpu_pct": clip(8 + 0.55 * avg + rng.normal(0, 1.0, n), 0, 100),
            "memory_pct": clip(rng.uniform(40, 75) + rng.normal(0, 0.4, n), 0, 100),
            "disk_used_pct": clip(rng.uniform(25, 65) + disk_ramp, 0, 100),
            "net_retransmit_pct": rng.uniform(0.02, 0.25) * wiggle(rng, n, 0.3),
        }


def _messaging_and_dns_metrics(ctx: Ctx, rng: np.random.Generator, metrics: dict) -> None:
    """Kafka topics (their producers' rates), consumer groups (lag, rebalances) and cluster DNS."""
    T, n = ctx.T, ctx.n
    for t in T.topics:
        msgs = sum(ctx.rps[p] * rng.uniform(0.3, 1.2) for p in T.producers[t])
        metrics[t] = {"messages_in_per_s": msgs}
    for g, (t, _consumer) in T.groups.items():
        metrics[g] = {
            "messages_consumed_per_s": metrics[t]["messages_in_per_s"] * wiggle(rng, n, 0.03),
            "consumer_lag": np.round(np.abs(rng.normal(0, 1, n)) * rng.uniform(40, 300)),
            "rebalances_per_min": rng.poisson(0.01, n).astype(float),
        }
    total_rps = sum(ctx.rps[s] for s in T.services)
    metrics[T.dns] = {
        "requests_per_s": total_rps * rng.uniform(0.03, 0.08) * wiggle(rng, n, 0.03),
        "servfail_per_s": np.abs(rng.normal(0, 0.03, n)),
        "latency_p99_ms": rng.uniform(2, 6) * wiggle(rng, n, 0.1),
    }


def assemble_metrics(ctx: Ctx, rng: np.random.Generator, t50: dict, t99: dict, terr: dict,
                     base50: dict) -> tuple[dict, dict]:
    """Per-kind metric series for every component; returns (metrics, per-component static facts)."""
    pre = ctx.mid < ctx.plan.onset
    has_pre = bool(pre.any())

    loads: dict[str, np.ndarray] = {}

    def load_of(node: str) -> np.ndarray:
        """Kept per node: the rates are final here and a node's load is asked for up to three times."""
        if node not in loads:
            r = ctx.rps[node]
            loads[node] = r / max(mean(r[pre]) if has_pre else mean(r), 1e-9)
        return loads[node]

    facts: dict[str, dict] = {}
    metrics = _call_graph_metrics(ctx, rng, t50, t99, terr, base50, load_of, facts)
    for db in ctx.T.databases:  # connection counts on each database come from its callers' pools
        conns = np.zeros(ctx.n)
        for s, f in facts.items():
            if db in f["dbs"]:
                conns = conns + metrics[s]["db_pool_in_use_pct"] / 100.0 * f["pool_max"] * len(ctx.T.pods.get(s, [1]))
        metrics[db]["connections_active"] = np.round(conns)
    _platform_metrics(ctx, rng, metrics, load_of, facts)
    _messaging_and_dns_metrics(ctx, rng, metrics)
    return metrics, facts
