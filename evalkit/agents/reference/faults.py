"""Naming the fault type of a suspected component from the evidence gathered about it.

Each fault type has a signature: words in anomalous metric names, words in the component's error and
warning logs, kinds of recent change events and the component kinds it usually hits. The fault
type whose signature the evidence matches best wins; the component kind alone is the fallback.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

#: log lines read per component when naming a fault.
MAX_MESSAGES = 200

#: the 14 fault types of the synthetic suites.
FAULT_TYPES: tuple[str, ...] = (
    "bad_deploy", "bad_feature_flag", "traffic_surge", "timeout_chain", "oom_kill_loop", "cpu_throttling",
    "slow_query", "db_pool_exhaustion", "kafka_rebalance_storm", "packet_loss", "dns_failure", "disk_full",
    "third_party_timeout", "cert_expiry",
)


@dataclass(frozen=True)
class Signature:
    metric_words: tuple[str, ...] = ()
    log_words: tuple[str, ...] = ()
    event_words: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    #: direction of the metric shift that matches (+1 up, -1 down, 0 either)
    direction: int = 1


SIGNATURES: dict[str, Signature] = {
    "bad_deploy": Signature((),
                            ("exception", "nullpointer", "panic", "traceback", "unhandled", "typeerror",
                             "keyerror", "attributeerror", "illegalstate", "cannot unmarshal", "[build "),
                            ("deploy", "release", "rollout"), ("service", "gateway")),
    "bad_feature_flag": Signature((),
                                  ("flag", "feature", "experiment", "variant", "toggle", "code path"),
                                  ("feature-flag", "flag", "toggle"), ("service", "gateway")),
    "traffic_surge": Signature(("request", "rps", "qps", "throughput", "traffic", "inflight"),
                               ("rate limit", "429", "too many requests", "overload", "queue full", "shed",
                                "surge", "backpressure", "autoscaler"),
                               ("scaling", "autoscal", "hpa"), ("service", "gateway")),
    "timeout_chain": Signature((),
                               ("timed out after", "deadline exceeded", "retry budget", "504",
                                "did not answer"),
                               ("timeout",), ("service",)),
    "oom_kill_loop": Signature(("memory", "mem_", "rss", "heap", "restart", "oom"),
                               ("oomkill", "out of memory", "outofmemory", "memoryerror", "heap limit",
                                "crashloop", "back-off restarting", "memory limit"),
                               ("oom", "crashloop", "evict"), ("pod", "service")),
    "cpu_throttling": Signature(("throttl", "cpu"),
                                ("throttl", "cfs quota", "event loop lag", "goroutines waiting", "executor queue",
                                 "requests queued"),
                                ("limits.cpu", "cpu"), ("pod", "service")),
    "slow_query": Signature(("query_time", "slow", "lock", "scan", "rows"),
                            ("slow query", "query took", "lock wait", "full scan", "seq scan", "duration:",
                             "query_time", "statement timeout", "statement:"),
                            ("index", "migration", "schema"), ("database",)),
    "db_pool_exhaustion": Signature(("pool",),
                                    ("pool", "too many connections", "acquiring connection", "connection limit",
                                     "max_connections", "could not get a database connection"),
                                    ("pool", "max_connections"), ("service",)),
    "kafka_rebalance_storm": Signature(("lag", "rebalanc", "offset", "consumed"),
                                       ("rebalanc", "revoking", "(re-)joining", "consumer group", "heartbeat",
                                        "leavegroup", "max.poll"),
                                       ("rebalanc", "consumer"), ("kafka-topic", "consumer-group")),
    "packet_loss": Signature(("packet", "loss", "retrans", "drop"),
                             ("retransmi", "i/o timeout", "packet", "connection reset", "unreachable"),
                             ("network", "cni", "mtu"), ("k8s-node",)),
    "dns_failure": Signature(("dns", "servfail", "resolv", "nxdomain", "lookup"),
                             ("dns", "nxdomain", "name resolution", "no such host", "eai_again", "unknownhost",
                              "server misbehaving", "servfail", "plugin/errors"),
                             ("dns", "coredns", "corefile"), ("dns",)),
    "disk_full": Signature(("disk", "filesystem", "volume", "inode", "storage"),
                           ("no space left", "disk full", "disk is full", "read-only file system", "enospc",
                            "table is full", "could not extend file"),
                           ("disk", "volume", "pvc"), ("database", "k8s-node")),
    "third_party_timeout": Signature(("latency", "p99", "duration", "timeout"),
                                     ("timeout calling", "timed out", "deadline exceeded", "slow response from",
                                      "gateway timeout"),
                                     ("vendor", "provider"), ("external",)),
    "cert_expiry": Signature(("error", "cert", "tls", "ssl", "handshake"),
                             ("certificate", "x509", "tls handshake", "expired"),
                             ("cert", "tls"), ("external",)),
}


@dataclass
class ComponentEvidence:
    """What the investigator learnt about one component (input to :func:`classify`)."""

    kind: str = ""
    #: metric name -> (strength in [0,1], direction +1/-1)
    metrics: dict[str, tuple[float, int]] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    change_kinds: list[str] = field(default_factory=list)
    change_texts: list[str] = field(default_factory=list)


def _words_in(text: str, words: tuple[str, ...]) -> bool:
    return any(w in text for w in words)


@lru_cache(maxsize=None)
def _words_re(words: tuple[str, ...]) -> re.Pattern:
    return re.compile("|".join(re.escape(w) for w in words))


_VARYING = re.compile(r"\d+")


@lru_cache(maxsize=1 << 16)
def _shape(message: str) -> str:
    """A message lower-cased with its numbers blanked (cached: a worker reads the same lines trial after trial)."""
    return _VARYING.sub("#", message.lower())


def line_shapes(messages: list[str]) -> Counter:
    """Messages lower-cased with numbers blanked, counted: log lines come from few templates."""
    return Counter(map(_shape, messages))


def count_lines(shapes: Counter, words: tuple[str, ...]) -> int:
    """Number of log lines (given by :func:`line_shapes`) containing one of ``words``."""
    pattern = _words_re(words)
    return sum(n for shape, n in shapes.items() if pattern.search(shape))


@lru_cache(maxsize=1 << 16)
def _signature_hits(shape: str) -> tuple[bool, ...]:
    """Whether a line shape has each signature's log wording, in :data:`SIGNATURES` order (cached per shape)."""
    return tuple(_words_re(sig.log_words).search(shape) is not None for sig in SIGNATURES.values())


def _signature_lines(shapes: Counter) -> list[int]:
    """Per signature, the number of lines with its log wording: :func:`count_lines` for all at once."""
    counts = [0] * len(SIGNATURES)
    for shape, n in shapes.items():
        for i, hit in enumerate(_signature_hits(shape)):
            if hit:
                counts[i] += n
    return counts


def fault_scores(ev: ComponentEvidence, log_saturation: float = 5.0) -> dict[str, float]:
    """Signature match of every fault type (higher is better).

    Metric words only count for the fault's own kinds of component (an error-rate shift on an external
    says "certificate", on a service it says nothing specific); log wording counts by number of matching
    lines, saturating at ``log_saturation``.
    """
    lines = _signature_lines(line_shapes(ev.messages[:MAX_MESSAGES]))
    changes = [f"{k} {t}".lower() for k, t in zip(ev.change_kinds, ev.change_texts + [""] * len(ev.change_kinds))]
    out = {}
    for i, (ft, sig) in enumerate(SIGNATURES.items()):
        fits = ev.kind in sig.kinds
        m = 0.0
        for name, (strength, direction) in ev.metrics.items():
            if _words_in(name.lower(), sig.metric_words) and (sig.direction == 0 or direction == sig.direction):
                m = max(m, strength)
        logs = min(1.0, lines[i] / log_saturation)
        chg = 1.0 if any(_words_in(c, sig.event_words) for c in changes) else 0.0
        out[ft] = (1.0 if fits else 0.2) * (1.0 * m + 1.2 * logs + 0.8 * chg) + (0.2 if fits else 0.0)
    return out


def classify(ev: ComponentEvidence) -> str:
    """The best-matching fault type (ties broken by the order of :data:`FAULT_TYPES`)."""
    scores = fault_scores(ev)
    return max(FAULT_TYPES, key=lambda ft: scores[ft])


#: log wording that points an SRE at a kind of shared infrastructure (checked before any metric is read).
INFRA_WORDS: dict[str, tuple[str, ...]] = {
    "dns": ("name resolution", "nxdomain", "no such host", "eai_again", "unknownhost", "server misbehaving",
            "servfail", "dns"),
    "k8s-node": ("retransmi", "i/o timeout", "packet loss", "network unreachable"),
    "consumer-group": ("rebalanc", "consumer group", "heartbeat", "groupid", "partition"),
    "external": ("x509", "certificate", "tls handshake", "https://", "third-party", "vendor"),
    "database": ("statement timeout", "no space left", "query on", "sqlstate", "table is full", "slow query",
                 "deadlock", "lock wait"),
}


def infra_hints(messages: list[str], saturation: float = 10.0) -> dict[str, float]:
    """Component kind -> how strongly the log wording points at it (0..1, saturating at ``saturation`` lines)."""
    shapes = line_shapes(messages)
    counts = {kind: count_lines(shapes, words) for kind, words in INFRA_WORDS.items()}
    return {kind: min(1.0, n / saturation) for kind, n in counts.items() if n}
