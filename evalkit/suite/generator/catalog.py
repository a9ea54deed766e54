"""The synthetic fault taxonomy: 12 categories, 14 fault types, and where each one's alert fires."""

from __future__ import annotations

#: category -> (fault types, where the alert fires: "self" or "downstream", one-line description)
CATEGORIES: dict[str, tuple[tuple[str, ...], str, str]] = {
    "deploy/bad-release": (("bad_deploy",), "self",
                           "A new release of a service throws errors right after its deploy."),
    "config/feature-flag": (("bad_feature_flag",), "self",
                            "A feature-flag change turns on a broken code path in one service."),
    "capacity/traffic-surge": (("traffic_surge",), "self",
                               "A burst of traffic from the edge saturates one service."),
    "latency/timeout-chain": (("timeout_chain",), "self",
                              "A client-timeout configuration change makes a service return 504s."),
    "kubernetes/oom": (("oom_kill_loop",), "downstream",
                       "A service's pods are OOM-killed in a loop; callers see resets and 503s."),
    "kubernetes/cpu-throttling": (("cpu_throttling",), "downstream",
                                  "A service's pods hit their CPU quota; latency climbs upstream."),
    "database/slow-query": (("slow_query",), "downstream",
                            "A slow query on a SQL database drags its callers' latency up."),
    "database/connection-pool": (("db_pool_exhaustion",), "downstream",
                                 "A service exhausts its database connection pool and fails requests."),
    "messaging/kafka-lag": (("kafka_rebalance_storm",), "downstream",
                            "A consumer group rebalances in a loop; lag grows and readers go stale."),
    "network/connectivity": (("packet_loss", "dns_failure"), "downstream",
                             "Packet loss on a node or DNS resolution failures break calls."),
    "storage/disk-full": (("disk_full",), "downstream",
                          "A database runs out of disk space and rejects writes."),
    "dependency/external": (("third_party_timeout", "cert_expiry"), "downstream",
                            "A third-party provider times out or presents an expired certificate."),
}

FAULT_TYPES: tuple[str, ...] = tuple(ft for fts, _, _ in CATEGORIES.values() for ft in fts)

#: the symptom each fault mainly shows upstream (decides which metric the triggering alert watches)
SYMPTOM: dict[str, str] = {
    "bad_deploy": "errors", "bad_feature_flag": "errors", "traffic_surge": "latency",
    "timeout_chain": "errors", "oom_kill_loop": "errors", "cpu_throttling": "latency",
    "slow_query": "latency", "db_pool_exhaustion": "errors", "kafka_rebalance_storm": "latency",
    "packet_loss": "latency", "dns_failure": "errors", "disk_full": "errors",
    "third_party_timeout": "latency", "cert_expiry": "errors",
}


def category_slug(category: str) -> str:
    return category.replace("/", "-")
