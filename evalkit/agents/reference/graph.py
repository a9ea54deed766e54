"""The dependency graph the investigator walks, built from ``get_topology`` edges and component kinds.

Edges become "depends on" links: a caller depends on what it calls, a producer on its topic, a
consumer service on its consumer group and the group on its topic. Pods are folded into their
service (a service depends on the nodes its pods run on), and every service depends on the cluster
DNS (kind ``dns``) even though no edge says so: that is how Kubernetes name resolution works.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

#: component kinds that resolve names through the cluster DNS.
_DNS_CLIENTS = ("service", "gateway")


@dataclass
class DependencyGraph:
    """Dependency links between (non-pod) components: ``deps[a]`` is what ``a`` depends on."""

    deps: dict[str, set[str]] = field(default_factory=dict)
    users: dict[str, set[str]] = field(default_factory=dict)
    pod_of: dict[str, str] = field(default_factory=dict)       # pod -> service
    pods: dict[str, list[str]] = field(default_factory=dict)    # service -> pods

    def link(self, a: str, b: str) -> None:
        if a != b:
            self.deps.setdefault(a, set()).add(b)
            self.users.setdefault(b, set()).add(a)

    @classmethod
    def from_topology(cls, edges: list[dict], kinds: dict[str, str]) -> "DependencyGraph":
        g = cls()
        for e in edges:
            if e.get("relation") == "instance-of":
                g.pod_of[e["source"]] = e["target"]
                g.pods.setdefault(e["target"], []).append(e["source"])
        for e in edges:
            s, t, rel = e["source"], e["target"], e.get("relation", "calls")
            if rel == "instance-of":
                continue
            g.link(g.pod_of.get(s, s), g.pod_of.get(t, t))   # runs-on: the pod's service runs on the node
        for name in kinds:
            g.users.setdefault(name, set())
        dns = [n for n, k in kinds.items() if k == "dns"]
        for name, kind in kinds.items():
            if kind in _DNS_CLIENTS and name not in g.pod_of:
                for d in dns:
                    g.link(name, d)
        return g

    def service_of(self, name: str) -> str:
        """The service a pod belongs to (any other component is its own service)."""
        return self.pod_of.get(name, name)

    def distances(self, roots: list[str]) -> dict[str, int]:
        """Hop distance of every component reachable from ``roots`` along dependencies."""
        dist = {r: 0 for r in roots}
        queue = deque(roots)
        while queue:
            node = queue.popleft()
            for nxt in sorted(self.deps.get(node, ())):
                if nxt not in dist:
                    dist[nxt] = dist[node] + 1
                    queue.append(nxt)
        return dist

    def entry_points(self) -> list[str]:
        """Components nothing depends on: where requests enter the system."""
        return sorted(n for n, users in self.users.items() if not users and n not in self.pod_of and n in self.deps)

    def descendants(self, node: str) -> set[str]:
        """Everything ``node`` transitively depends on."""
        seen: set[str] = set()
        stack = [node]
        while stack:
            for nxt in self.deps.get(stack.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        seen.discard(node)
        return seen
