"""Random but realistic microservice topologies: tiers, a call DAG, data stores, Kafka, Kubernetes.

A topology is drawn from one rng stream, so it can be rebuilt cheaply (validation needs only this part
of a generated world). Several domains (name sets) and graph shapes keep the answer from always being
the same component.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from evalkit.suite.generator.names import DOMAINS, LANGUAGES, ZONES

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
    weights: dict[tuple[str, str], tuple[float, float, float]]  # (lat share, err share, calls per request)
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

    def order(self) -> list[str]:
        """Call-graph nodes from the edge inward (every caller before its callees)."""
        indeg = {n: 0 for n in self.kind if n in self.calls or n in self.callers}
        for c, ts in self.calls.items():
            for t in ts:
                indeg[t] += 1
        ready = [n for n in indeg if indeg[n] == 0]
        out: list[str] = []
        while ready:
            n = ready.pop(0)
            out.append(n)
            for t in self.calls.get(n, []):
                indeg[t] -= 1
                if indeg[t] == 0:
                    ready.append(t)
        return out

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


def _pod_suffix(rng: np.random.Generator) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    a = rng.integers(0, len(alphabet), size=15)
    chars = [alphabet[i] for i in a.tolist()]
    return "".join(chars[:10]), "".join(chars[10:])


def build_topology(rng: np.random.Generator) -> Topology:
    """Draw one topology: ~30-50 components over edge, services, data, messaging, platform and external tiers."""
    domain = sorted(DOMAINS)[int(rng.integers(len(DOMAINS)))]
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    d = DOMAINS[domain]
    n_entry = int(rng.integers(3, 5)) if shape != "wide" else len(d["entry"])
    n_mid = int(rng.integers(3, 6))
    n_leaf = int(rng.integers(2, 5))
    entry = _pick(rng, d["entry"], n_entry)
    mid = _pick(rng, d["mid"], n_mid)
    leaf = _pick(rng, d["leaf"], n_leaf)
    rng.shuffle(mid)
    mid = list(mid)

    calls: dict[str, list[str]] = {}
    edge_lb, gw = d["edge"]

    def link(a: str, b: str) -> None:
        lst = calls.setdefault(a, [])
        if b not in lst and a != b:
            lst.append(b)

    link(edge_lb, gw)
    for e in entry:
        link(gw, e)
    # entry -> mid
    for e in entry:
        for m in _pick(rng, mid, int(rng.integers(1, 3 if shape != "hub" else 2))):
            link(e, m)
    if shape == "hub":
        hub = mid[0]
        for e in entry:
            link(e, hub)
    for i, m in enumerate(mid):  # every mid needs a caller
        if not any(m in calls.get(e, []) for e in entry) and not any(m in calls.get(x, []) for x in mid[:i]):
            link(entry[int(rng.integers(len(entry)))], m)
    if shape == "deep":
        for a, b in zip(mid, mid[1:]):
            if rng.random() < 0.8:
                link(a, b)
    else:
        for i in range(len(mid) - 1):
            if rng.random() < 0.25:
                link(mid[i], mid[int(rng.integers(i + 1, len(mid)))])
    # mid -> leaf
    for lf in leaf:
        for m in _pick(rng, mid, int(rng.integers(1, 3))):
            link(m, lf)
    if shape == "wide":
        for lf in leaf:
            if rng.random() < 0.5:
                link(entry[int(rng.integers(len(entry)))], lf)

    services = entry + mid + leaf
    inner = mid + leaf
    databases = _pick(rng, d["databases"], int(rng.integers(1, 3)))
    caches = _pick(rng, d["caches"], int(rng.integers(1, 3)))
    ext_pairs = _pick(rng, d["externals"], int(rng.integers(1, 3)))
    externals = {name: host for name, host in ext_pairs}
    for db in databases:
        for s in _pick(rng, inner, int(rng.integers(1, 4))):
            link(s, db)
    for c in caches:
        for s in _pick(rng, entry + mid, int(rng.integers(1, 3))):
            link(s, c)
    for x in externals:
        for s in _pick(rng, inner, int(rng.integers(1, 3))):
            link(s, x)

    topics = _pick(rng, d["topics"], int(rng.integers(1, 3)))
    groups: dict[str, tuple[str, str]] = {}
    producers: dict[str, list[str]] = {}
    used_consumers: list[str] = []
    for t in topics:
        producers[t] = _pick(rng, entry + mid, int(rng.integers(1, 3)))
        cands = [s for s in inner if s not in producers[t] and s not in used_consumers]
        consumer = cands[int(rng.integers(len(cands)))] if cands else inner[-1]
        used_consumers.append(consumer)
        groups[f"{consumer}-consumer"] = (t, consumer)

    n_nodes = int(rng.integers(3, 6))
    nodes, node_zone = [], {}
    for i in range(n_nodes):
        zone = ZONES[i % len(ZONES)]
        name = f"node-{zone[-1]}{i // len(ZONES) + 1}"
        nodes.append(name)
        node_zone[name] = zone

    kind: dict[str, str] = {edge_lb: "gateway", gw: "gateway"}
    components: list[dict] = [
        {"name": edge_lb, "kind": "gateway", "tier": "edge"},
        {"name": gw, "kind": "gateway", "tier": "edge"},
    ]
    for s in services:
        kind[s] = "service"
        lang = LANGUAGES[int(rng.integers(len(LANGUAGES)))]
        components.append({"name": s, "kind": "service", "tier": "service", "language": lang})
    for db in databases:
        kind[db] = "database"
        components.append({"name": db, "kind": "database", "tier": "data",
                           "engine": "postgresql" if rng.random() < 0.7 else "mysql"})
    for c in caches:
        kind[c] = "cache"
        components.append({"name": c, "kind": "cache", "tier": "data", "engine": "redis"})
    for t in topics:
        kind[t] = "kafka-topic"
        components.append({"name": t, "kind": "kafka-topic", "tier": "messaging",
                           "partitions": int(rng.choice([6, 12, 24]))})
    for g in groups:
        kind[g] = "consumer-group"
        components.append({"name": g, "kind": "consumer-group", "tier": "messaging"})
    kind["coredns"] = "dns"
    components.append({"name": "coredns", "kind": "dns", "tier": "platform", "cluster_ip": "10.96.0.10"})
    for n in nodes:
        kind[n] = "k8s-node"
        components.append({"name": n, "kind": "k8s-node", "tier": "platform", "zone": node_zone[n]})
    pods: dict[str, list[str]] = {}
    pod_node: dict[str, str] = {}
    offset = int(rng.integers(n_nodes))
    for s in [gw] + services:
        rs, _ = _pod_suffix(rng)
        replicas = int(rng.integers(2, 4))
        pods[s] = []
        for r in range(replicas):
            _, sfx = _pod_suffix(rng)
            p = f"{s}-{rs}-{sfx[:5]}"
            node = nodes[(offset + r + len(pods)) % n_nodes]
            offset += 1 if rng.random() < 0.3 else 0
            pods[s].append(p)
            pod_node[p] = node
            kind[p] = "pod"
            components.append({"name": p, "kind": "pod", "tier": "platform", "service": s, "node": node})
    for x, host in externals.items():
        kind[x] = "external"
        components.append({"name": x, "kind": "external", "tier": "external", "host": host})

    callers: dict[str, list[str]] = {}
    for a, bs in calls.items():
        for b in bs:
            callers.setdefault(b, []).append(a)
    weights: dict[tuple[str, str], tuple[float, float, float]] = {}
    for a in calls:
        for b in calls[a]:
            lat = float(rng.uniform(0.55, 1.0))
            err = float(rng.uniform(0.55, 0.95))
            mult = 1.0 if a in (edge_lb,) else float(rng.uniform(0.3, 1.3))
            weights[(a, b)] = (lat, err, mult)

    edges: list[tuple[str, str, str]] = []
    for a in calls:
        for b in calls[a]:
            edges.append((a, b, "calls"))
    for t in topics:
        for p in producers[t]:
            edges.append((p, t, "produces"))
    for g, (t, consumer) in groups.items():
        edges.append((g, t, "consumes"))
        edges.append((consumer, g, "member-of"))
    for s, ps in pods.items():
        for p in ps:
            edges.append((p, s, "instance-of"))
            edges.append((p, pod_node[p], "runs-on"))

    return Topology(
        domain=domain, shape=shape, components=components, edges=edges, gateways=[edge_lb, gw],
        services=services, entry=entry, calls=calls, callers=callers, weights=weights, pods=pods,
        pod_node=pod_node, nodes=nodes, node_zone=node_zone, databases=databases, caches=caches,
        externals=externals, topics=topics, groups=groups, producers=producers, kind=kind,
    )
