"""Random but realistic microservice topologies: tiers, a call DAG, data stores, Kafka, Kubernetes.

A topology is drawn from one rng stream, so it can be rebuilt cheaply (validation needs only this part
of a generated world). Several domains (name sets) and graph shapes keep the answer from always being
the same component.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evalkit.suite.generator.names import DOMAINS, LANGUAGES, ZONES
from evalkit.suite.generator.numeric import pick

SHAPES: tuple[str, ...] = ("layered", "deep", "hub", "wide")


@dataclass
class Topology:
    """Components, edges and the derived lookups the generator needs (call graph, pods, nodes)."""

    domain: str
    shape: str
    components: list[dict]
    edges: list[tuple[str, str, str]]
    gateways: list[str]
    services: list[str]                     # application services (not gateways)
    entry: list[str]                        # services called by the API gateway
    calls: dict[str, list[str]]             # caller -> callees ("calls" edges, incl. db/cache/external)
    callers: dict[str, list[str]]           # callee -> callers
    pods: dict[str, list[str]]              # service/gateway -> pod names
    pod_node: dict[str, str]
    nodes: list[str]
    node_zone: dict[str, str]
    databases: list[str]
    caches: list[str]
    externals: dict[str, str]               # component -> host
    topics: list[str]
    groups: dict[str, tuple[str, str]]      # consumer group -> (topic, consumer service)
    producers: dict[str, list[str]]         # topic -> producer services
    dns: str = "coredns"
    kind: dict[str, str] = field(default_factory=dict)
    #: the topology stream, kept for the call-edge weights: its last draws, taken on first use (validation
    #: derives topologies by the thousand and never needs them)
    weight_stream: np.random.Generator | None = field(default=None, repr=False, compare=False)
    _weights: dict[tuple[str, str], tuple[float, float, float]] | None = field(default=None, repr=False,
                                                                               compare=False)
    _order: list[str] | None = field(default=None, repr=False, compare=False)

    @property
    def weights(self) -> dict[tuple[str, str], tuple[float, float, float]]:
        """Per call edge: (share of the callee's latency and of its errors the caller sees, calls per request)."""
        if self._weights is None:
            assert self.weight_stream is not None, "a Topology is made by build_topology"
            self._weights = _weights(self.weight_stream, self.calls, self.gateways[0])
            self.weight_stream = None
        return self._weights

    def order(self) -> list[str]:
        """Call-graph nodes from the edge inward (every caller before its callees); worked out once (a world
        build asks five times and the call graph is fixed once built), a fresh list each time."""
        if self._order is None:  # Kahn's algorithm over the call edges; ties keep component order
            indeg = {n: 0 for n in self.kind if n in self.calls or n in self.callers}
            for c, ts in self.calls.items():
                for t in ts:
                    indeg[t] += 1
            ready = [n for n in indeg if indeg[n] == 0]
            self._order = []
            while ready:
                n = ready.pop(0)
                self._order.append(n)
                for t in self.calls.get(n, []):
                    indeg[t] -= 1
                    if indeg[t] == 0:
                        ready.append(t)
        return list(self._order)

    def ancestors(self, name: str) -> list[tuple[str, int]]:
        """Callers of ``name`` transitively, with their hop distance, nearest first (deterministic order)."""
        dist = {name: 0}
        frontier = [name]
        while frontier:
            nxt = []
            for n in frontier:
                for c in self.callers.get(n, []):
                    if c not in dist:
                        dist[c] = dist[n] + 1
                        nxt.append(c)
            frontier = nxt
        return [(n, d) for n, d in sorted(dist.items(), key=lambda kv: (kv[1], kv[0])) if d > 0]


def _pick(rng: np.random.Generator, pool: list, k: int) -> list:
    k = max(0, min(k, len(pool)))
    idx = rng.choice(len(pool), size=k, replace=False)
    return [pool[i] for i in sorted(idx.tolist())]


_POD_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
#: byte i -> the alphabet's i-th character, so a draw's letters come by one bytes.translate
_POD_LETTERS = bytes.maketrans(bytes(range(len(_POD_ALPHABET))), _POD_ALPHABET.encode())


def _pod_suffix(rng: np.random.Generator) -> tuple[str, str]:
    """15 letters of the pod-name alphabet: the first 10 and the last 5 (a replica set's hash, a pod's suffix)."""
    s = rng.integers(0, len(_POD_ALPHABET), size=15).astype(np.uint8).tobytes().translate(_POD_LETTERS).decode()
    return s[:10], s[10:]


def _link(calls: dict[str, list[str]], a: str, b: str) -> None:
    """Add the call edge a -> b once (no self-calls)."""
    lst = calls.setdefault(a, [])
    if b not in lst and a != b:
        lst.append(b)


def _call_graph(rng: np.random.Generator, d: dict, shape: str) -> tuple[dict[str, list[str]], list[str],
                                                                        list[str], list[str]]:
    """The services' call DAG in the graph ``shape``: (calls, entry, mid, leaf services)."""
    n_entry = int(rng.integers(3, 5)) if shape != "wide" else len(d["entry"])
    n_mid = int(rng.integers(3, 6))
    n_leaf = int(rng.integers(2, 5))
    entry = _pick(rng, d["entry"], n_entry)
    mid = _pick(rng, d["mid"], n_mid)
    leaf = _pick(rng, d["leaf"], n_leaf)
    rng.shuffle(mid)

    calls: dict[str, list[str]] = {}
    edge_lb, gw = d["edge"]
    _link(calls, edge_lb, gw)
    for e in entry:
        _link(calls, gw, e)
    for e in entry:  # entry -> mid
        for m in _pick(rng, mid, int(rng.integers(1, 3 if shape != "hub" else 2))):
            _link(calls, e, m)
    if shape == "hub":
        for e in entry:
            _link(calls, e, mid[0])
    for i, m in enumerate(mid):  # every mid needs a caller
        if not any(m in calls.get(e, []) for e in entry) and not any(m in calls.get(x, []) for x in mid[:i]):
            _link(calls, pick(rng, entry), m)
    if shape == "deep":
        for a, b in zip(mid, mid[1:]):
            if rng.random() < 0.8:
                _link(calls, a, b)
    else:
        for i in range(len(mid) - 1):
            if rng.random() < 0.25:
                _link(calls, mid[i], mid[int(rng.integers(i + 1, len(mid)))])
    for lf in leaf:  # mid -> leaf
        for m in _pick(rng, mid, int(rng.integers(1, 3))):
            _link(calls, m, lf)
    if shape == "wide":
        for lf in leaf:
            if rng.random() < 0.5:
                _link(calls, pick(rng, entry), lf)
    return calls, entry, mid, leaf


def _stores(rng: np.random.Generator, d: dict, calls: dict[str, list[str]], entry: list[str], mid: list[str],
            inner: list[str]) -> tuple[list[str], list[str], dict[str, str]]:
    """Databases, caches and external APIs, each called by a few services: (databases, caches, externals)."""
    databases = _pick(rng, d["databases"], int(rng.integers(1, 3)))
    caches = _pick(rng, d["caches"], int(rng.integers(1, 3)))
    externals = {name: host for name, host in _pick(rng, d["externals"], int(rng.integers(1, 3)))}
    for db in databases:
        for s in _pick(rng, inner, int(rng.integers(1, 4))):
            _link(calls, s, db)
    for c in caches:
        for s in _pick(rng, entry + mid, int(rng.integers(1, 3))):
            _link(calls, s, c)
    for x in externals:
        for s in _pick(rng, inner, int(rng.integers(1, 3))):
            _link(calls, s, x)
    return databases, caches, externals


def _messaging(rng: np.random.Generator, d: dict, entry: list[str], mid: list[str],
               inner: list[str]) -> tuple[list[str], dict[str, tuple[str, str]], dict[str, list[str]]]:
    """Kafka topics with their producers and one consumer group each: (topics, groups, producers)."""
    topics = _pick(rng, d["topics"], int(rng.integers(1, 3)))
    groups: dict[str, tuple[str, str]] = {}
    producers: dict[str, list[str]] = {}
    used_consumers: list[str] = []
    for t in topics:
        producers[t] = _pick(rng, entry + mid, int(rng.integers(1, 3)))
        cands = [s for s in inner if s not in producers[t] and s not in used_consumers]
        consumer = pick(rng, cands) if cands else inner[-1]
        used_consumers.append(consumer)
        groups[f"{consumer}-consumer"] = (t, consumer)
    return topics, groups, producers


def _nodes(rng: np.random.Generator) -> dict[str, str]:
    """Kubernetes nodes spread over the zones: {node: zone}."""
    node_zone = {}
    for i in range(int(rng.integers(3, 6))):
        zone = ZONES[i % len(ZONES)]
        node_zone[f"node-{zone[-1]}{i // len(ZONES) + 1}"] = zone
    return node_zone


class _Components:
    """The component list and the kind of each name, built up tier by tier."""

    def __init__(self) -> None:
        self.components: list[dict] = []
        self.kind: dict[str, str] = {}

    def add(self, name: str, kind: str, tier: str, **attrs: object) -> None:
        self.kind[name] = kind
        self.components.append({"name": name, "kind": kind, "tier": tier, **attrs})


def _pods(rng: np.random.Generator, owners: list[str], nodes: list[str],
          comps: _Components) -> tuple[dict[str, list[str]], dict[str, str]]:
    """2-3 pods per gateway/service, placed round-robin over the nodes with a random skip: (pods, pod_node)."""
    pods: dict[str, list[str]] = {}
    pod_node: dict[str, str] = {}
    offset = int(rng.integers(len(nodes)))
    for s in owners:
        rs, _ = _pod_suffix(rng)
        replicas = int(rng.integers(2, 4))
        pods[s] = []
        for r in range(replicas):
            _, sfx = _pod_suffix(rng)
            p = f"{s}-{rs}-{sfx[:5]}"
            node = nodes[(offset + r + len(pods)) % len(nodes)]
            offset += 1 if rng.random() < 0.3 else 0
            pods[s].append(p)
            pod_node[p] = node
            comps.add(p, "pod", "platform", service=s, node=node)
    return pods, pod_node


def _weights(rng: np.random.Generator, calls: dict[str, list[str]],
             edge_lb: str) -> dict[tuple[str, str], tuple[float, float, float]]:
    """Per call edge: (share of the callee's latency and of its errors the caller sees, calls per request)."""
    weights: dict[tuple[str, str], tuple[float, float, float]] = {}
    for a in calls:
        for b in calls[a]:
            lat = float(rng.uniform(0.55, 1.0))
            err = float(rng.uniform(0.55, 0.95))
            mult = 1.0 if a == edge_lb else float(rng.uniform(0.3, 1.3))
            weights[(a, b)] = (lat, err, mult)
    return weights


def _edges(calls: dict[str, list[str]], producers: dict[str, list[str]], groups: dict[str, tuple[str, str]],
           pods: dict[str, list[str]], pod_node: dict[str, str]) -> list[tuple[str, str, str]]:
    """Every relation as (source, target, relation): calls, produces, consumes, member-of, instance-of, runs-on."""
    edges = [(a, b, "calls") for a in calls for b in calls[a]]
    edges += [(p, t, "produces") for t in producers for p in producers[t]]
    for g, (t, consumer) in groups.items():
        edges += [(g, t, "consumes"), (consumer, g, "member-of")]
    for s, ps in pods.items():
        for p in ps:
            edges += [(p, s, "instance-of"), (p, pod_node[p], "runs-on")]
    return edges


def build_topology(rng: np.random.Generator) -> Topology:
    """Draw one topology: ~30-50 components over edge, services, data, messaging, platform and external tiers."""
    domain = pick(rng, sorted(DOMAINS))
    shape = pick(rng, SHAPES)
    d = DOMAINS[domain]
    calls, entry, mid, leaf = _call_graph(rng, d, shape)
    services, inner = entry + mid + leaf, mid + leaf
    databases, caches, externals = _stores(rng, d, calls, entry, mid, inner)
    topics, groups, producers = _messaging(rng, d, entry, mid, inner)
    node_zone = _nodes(rng)
    nodes = list(node_zone)

    edge_lb, gw = d["edge"]
    comps = _Components()
    comps.add(edge_lb, "gateway", "edge")
    comps.add(gw, "gateway", "edge")
    for s in services:
        comps.add(s, "service", "service", language=pick(rng, LANGUAGES))
    for db in databases:
        comps.add(db, "database", "data", engine="postgresql" if rng.random() < 0.7 else "mysql")
    for c in caches:
        comps.add(c, "cache", "data", engine="redis")
    for t in topics:
        comps.add(t, "kafka-topic", "messaging", partitions=pick(rng, [6, 12, 24]))
    for g in groups:
        comps.add(g, "consumer-group", "messaging")
    comps.add("coredns", "dns", "platform", cluster_ip="10.96.0.10")
    for n in nodes:
        comps.add(n, "k8s-node", "platform", zone=node_zone[n])
    pods, pod_node = _pods(rng, [gw] + services, nodes, comps)
    for x, host in externals.items():
        comps.add(x, "external", "external", host=host)

    callers: dict[str, list[str]] = {}
    for a, bs in calls.items():
        for b in bs:
            callers.setdefault(b, []).append(a)
    return Topology(
        domain=domain, shape=shape, components=comps.components, edges=_edges(calls, producers, groups, pods, pod_node),
        gateways=[edge_lb, gw], services=services, entry=entry, calls=calls, callers=callers,
        weight_stream=rng, pods=pods, pod_node=pod_node, nodes=nodes, node_zone=node_zone,
        databases=databases, caches=caches, externals=externals, topics=topics, groups=groups, producers=producers,
        kind=comps.kind,
    )
