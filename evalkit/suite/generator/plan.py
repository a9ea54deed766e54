"""The cheap part of a generated scenario: topology, the fault (derived from seed + category), the window.

Everything here is derived from ``(category, seed)`` alone, so the visible scenario file needs to carry
neither the faulty component nor the fault type. Validation rebuilds only the plan (~1 ms).
"""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable

from evalkit.suite.generator.catalog import CATEGORIES
from evalkit.suite.generator.numeric import Rng, pick
from evalkit.suite.generator.topology import Topology, build_topology

GENERATOR_ID = "evalkit-synth/1"
BASE_EPOCH = 1714521600  # 2024-05-01T00:00:00Z
WINDOW_S = 90 * 60
PRE_ONSET_S = 60 * 60
STEP_S = 60

STREAMS = {"topology": 1, "fault": 2, "series": 3, "logs": 4, "traces": 5, "events": 6, "noise": 7,
           "monitors": 8, "window": 9}


def stream(category: str, seed: int, name: str) -> Rng:
    """An independent, machine-stable random stream per (category, seed, purpose)."""
    return Rng([int(seed), zlib.crc32(category.encode()), STREAMS[name]])


@dataclass
class Plan:
    """What happens in one generated scenario (the generator's private knowledge, never written visibly)."""

    category: str
    seed: int
    fault_type: str
    placement: str                      # "self" or "downstream"
    topo: Topology
    cause: str
    entry: dict[str, float]             # call-graph nodes where the impact enters, with their share
    alert_component: str
    start: int
    end: int
    onset: int
    aliases: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    params: dict = field(default_factory=dict)


def plan_window(category: str, seed: int) -> tuple[int, int, int]:
    """(start, end, onset) epoch seconds: 60 minutes before the fault, 30 after, any time of day."""
    rng = stream(category, seed, "window")
    day = int(rng.integers(0, 180))
    minute = int(rng.integers(0, 24 * 60))
    start = BASE_EPOCH + day * 86400 + minute * 60
    onset = start + PRE_ONSET_S + int(rng.integers(-180, 90))
    return start, start + WINDOW_S, onset


#: faults whose cause is an application service (its pods are aliases of it)
SERVICE_FAULTS = ("bad_deploy", "bad_feature_flag", "oom_kill_loop", "cpu_throttling", "traffic_surge",
                  "timeout_chain", "db_pool_exhaustion")

#: a placement: (cause, {entry service: share of its traffic hit}, aliases), given params to fill in
Placement = tuple[str, dict[str, float], list[str]]


def _one_of(pool: Callable[[Topology], list[str]]) -> Callable[[Topology, Rng, dict], Placement]:
    """A fault at one component drawn from ``pool(topology)`` that hits only itself."""
    def place(T: Topology, rng: Rng, params: dict) -> Placement:
        cause = pick(rng, pool(T))
        return cause, {cause: 1.0}, []
    return place


def _timeout_chain(T: Topology, rng: Rng, params: dict) -> Placement:
    cause = pick(rng, [s for s in T.services if any(T.kind[c] == "service" for c in T.calls.get(s, []))])
    params["callee"] = pick(rng, [c for c in T.calls[cause] if T.kind[c] == "service"])
    return cause, {cause: 1.0}, []


def _db_pool(T: Topology, rng: Rng, params: dict) -> Placement:
    cause = pick(rng, [s for s in T.services if any(c in T.databases for c in T.calls.get(s, []))])
    params["db"] = pick(rng, [c for c in T.calls[cause] if c in T.databases])
    return cause, {cause: 1.0}, []


def _rebalance_storm(T: Topology, rng: Rng, params: dict) -> Placement:
    cause = pick(rng, sorted(T.groups))
    return cause, {T.groups[cause][1]: 1.0}, []


def _packet_loss(T: Topology, rng: Rng, params: dict) -> Placement:
    """A node that runs pods; every service with pods there is hit in proportion."""
    counts = Counter(T.pod_node.values())
    cause = pick(rng, [n for n in T.nodes if counts[n] > 0])
    entry = {}
    for s, pods in T.pods.items():
        on = sum(1 for p in pods if T.pod_node[p] == cause)
        if on and s in T.services:
            entry[s] = on / len(pods)
    return cause, entry or {T.gateways[1]: 0.5}, []  # no service: only gateway pods on that node


def _dns_failure(T: Topology, rng: Rng, params: dict) -> Placement:
    cands = [s for s in T.services if T.calls.get(s)]
    k = min(len(cands), int(rng.integers(1, 4)))
    idx = sorted(rng.choice(len(cands), size=k, replace=False).tolist())
    return T.dns, {cands[i]: 1.0 for i in idx}, ["kube-dns"]


def _at_external(T: Topology, rng: Rng, params: dict) -> Placement:
    cause = pick(rng, sorted(T.externals))
    return cause, {cause: 1.0}, [T.externals[cause]]


#: where each fault type strikes (the catalogue's fault types; tests keep the two in step)
_AT_SERVICE, _AT_DATABASE = _one_of(lambda T: T.services), _one_of(lambda T: T.databases)
PLACEMENTS: dict[str, Callable[[Topology, Rng, dict], Placement]] = {
    "bad_deploy": _AT_SERVICE, "bad_feature_flag": _AT_SERVICE, "oom_kill_loop": _AT_SERVICE,
    "cpu_throttling": _AT_SERVICE, "traffic_surge": _one_of(lambda T: T.entry), "timeout_chain": _timeout_chain,
    "slow_query": _AT_DATABASE, "disk_full": _AT_DATABASE, "db_pool_exhaustion": _db_pool,
    "kafka_rebalance_storm": _rebalance_storm, "packet_loss": _packet_loss, "dns_failure": _dns_failure,
    "third_party_timeout": _at_external, "cert_expiry": _at_external,
}


def _alert_component(T: Topology, rng: Rng, placement: str, cause: str, entry: dict[str, float]) -> str:
    """The cause itself, or (placement "upstream") a caller on a path from the hit services to the edge."""
    if placement == "self":
        return cause
    cands: dict[str, int] = {}
    for e in entry:
        if e != cause and T.kind[e] in ("service", "gateway"):
            cands[e] = 0
        for a, dist in T.ancestors(e):
            if a != cause and a != T.gateways[0]:
                cands[a] = min(dist, cands.get(a, dist))
    return pick(rng, sorted(cands))


def make_plan(category: str, seed: int) -> Plan:
    """Derive topology, fault, cause, alert placement and window from (category, seed)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown category {category!r}")
    fault_types, placement, _ = CATEGORIES[category]
    topo = build_topology(stream(category, seed, "topology"))
    start, end, onset = plan_window(category, seed)
    rng = stream(category, seed, "fault")
    fault = pick(rng, fault_types)
    params: dict = {}
    cause, entry, aliases = PLACEMENTS[fault](topo, rng, params)
    if cause in topo.pods and fault in SERVICE_FAULTS:
        aliases = list(topo.pods[cause])
    alert_component = _alert_component(topo, rng, placement, cause, entry)
    plan = Plan(category, seed, fault, placement, topo, cause, entry, alert_component, start, end, onset,
                aliases, [], params)
    plan.evidence = _evidence(plan)
    return plan


def _evidence(p: Plan) -> list[str]:
    T, c = p.topo, p.cause
    pod0 = T.pods.get(c, [None])[0]
    first_caller = sorted(T.callers.get(c, []) or list(p.entry))[0]
    ft = p.fault_type
    if ft in ("bad_deploy", "bad_feature_flag", "timeout_chain"):
        return [f"events:{c}", f"metric:{c}:error_rate_pct", f"logs:{c}"]
    if ft == "traffic_surge":
        return [f"metric:{T.gateways[1]}:requests_per_s", f"metric:{c}:requests_per_s", f"metric:{c}:cpu_pct"]
    if ft == "oom_kill_loop":
        return [f"metric:{pod0}:restarts", f"metric:{pod0}:memory_mb", f"events:{pod0}", f"logs:{c}"]
    if ft == "cpu_throttling":
        return [f"metric:{pod0}:cpu_throttled_pct", f"metric:{c}:latency_p99_ms", f"traces:{c}"]
    if ft == "slow_query":
        return [f"metric:{c}:query_time_p99_ms", f"logs:{c}"]
    if ft == "db_pool_exhaustion":
        return [f"metric:{c}:db_pool_in_use_pct", f"logs:{c}"]
    if ft == "kafka_rebalance_storm":
        consumer = T.groups[c][1]
        return [f"metric:{c}:consumer_lag", f"metric:{c}:rebalances_per_min", f"logs:{consumer}"]
    if ft == "packet_loss":
        worst = max(sorted(p.entry), key=lambda s: p.entry[s])
        return [f"metric:{c}:net_retransmit_pct", f"metric:{worst}:latency_p99_ms"]
    if ft == "dns_failure":
        return [f"metric:{c}:servfail_per_s", f"logs:{c}", f"logs:{sorted(p.entry)[0]}"]
    if ft == "disk_full":
        return [f"metric:{c}:disk_used_pct", f"logs:{c}"]
    if ft == "third_party_timeout":
        return [f"metric:{c}:latency_p99_ms", f"traces:{first_caller}", f"logs:{first_caller}"]
    if ft == "cert_expiry":
        return [f"logs:{first_caller}", f"metric:{c}:error_rate_pct"]
    raise ValueError(ft)  # pragma: no cover
