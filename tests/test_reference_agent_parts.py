"""The reference investigator's parts: anomaly scoring, evidence summaries, fault naming, graph, builds."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.agents.reference import FAULT_TYPES, REFERENCE_BUILDS, ReferenceAgent, flags_for
from evalkit.agents.reference.anomaly import level_shift, median, percentile90
from evalkit.agents.reference.evidence import (
    error_origins, latency_origins, recent_changes, summarise_logs,
)
from evalkit.agents.reference.faults import SIGNATURES, ComponentEvidence, classify, infra_hints
from evalkit.agents.reference.graph import DependencyGraph
from evalkit.errors import UserError

TS = 1_700_000_000 + 60 * np.arange(100)


def _noisy(level: float, seed: int = 0, rel: float = 0.03) -> np.ndarray:
    return level * (1 + rel * np.random.default_rng(seed).standard_normal(len(TS)))


# --- anomaly scoring ------------------------------------------------------------------------------
def test_the_fast_median_and_90th_percentile_are_numpys_bit_for_bit():
    rng = np.random.default_rng(5)
    for i in range(3000):
        n = int(rng.integers(1, 120))
        x = rng.normal(0, 10 ** rng.uniform(-3, 6), n) if i % 2 else rng.integers(0, 4, n).astype(float)
        if i % 7 == 0:
            x[rng.integers(n)] = np.nan
        expected = (float(np.median(x)), float(np.percentile(x, 90)))
        assert np.array_equal((median(x), percentile90(x)), expected, equal_nan=True), x


def test_level_shift_finds_onset_and_large_robust_z_of_a_step():
    x = _noisy(50.0)
    x[70:] *= 3
    a = level_shift(TS, x)
    assert abs(a.onset - TS[70]) <= 60
    assert a.z > 20 and a.direction == 1
    assert a.strength > 0.7


def test_level_shift_of_pure_noise_is_not_an_anomaly():
    for seed in range(20):
        assert level_shift(TS, _noisy(50.0, seed)).strength == 0.0


def test_level_shift_ignores_a_single_spike_but_not_a_sustained_one():
    x = _noisy(50.0, 1)
    x[60] = 500.0
    assert level_shift(TS, x).strength == 0.0
    y = _noisy(50.0, 1)
    y[60:75] = 200.0
    assert level_shift(TS, y).strength > 0.5


def test_level_shift_on_flat_series_uses_a_relative_floor():
    flat = np.full(len(TS), 100.0)
    small = flat.copy()
    small[70:] = 101.0                       # +1 %: below the relative floor, not an anomaly
    big = flat.copy()
    big[70:] = 130.0
    assert level_shift(TS, small).strength == 0.0
    assert level_shift(TS, big).strength > 0.5
    zero = np.zeros(len(TS))
    zero[70:] = 3.0                          # restarts going from 0 to 3: capped, not infinite
    assert np.isfinite(level_shift(TS, zero).z)


def test_level_shift_respects_latest_onset_and_missing_values():
    x = _noisy(10.0)
    x[90:] *= 5                              # begins after the alert
    x[10:20] = np.nan
    a = level_shift(TS, x, latest_onset=int(TS[60]))
    assert a.onset is None or a.onset <= TS[61]
    assert a.strength < level_shift(TS, x).strength


def test_level_shift_detects_drops_as_negative_z():
    x = _noisy(95.0)
    x[70:] = 40.0
    assert level_shift(TS, x).z < -10


# --- evidence -------------------------------------------------------------------------------------
def test_summarise_logs_measures_error_burst_and_named_components():
    onset = 1000
    recs = [{"ts": 100, "component": "api", "level": "ERROR", "message": "noise"}]
    recs += [{"ts": onset + i, "component": "api", "level": "ERROR",
              "message": "call to orders-db failed: timeout"} for i in range(9)]
    recs += [{"ts": onset + i, "component": "web", "level": "ERROR", "message": "upstream api error"}
             for i in range(3)]
    ev = summarise_logs(recs, onset, (0, 2000), ["api", "web", "orders-db", "orders"])
    assert ev.burst["api"] > ev.burst["web"] > 0
    assert ev.mentioned["orders-db"] > ev.mentioned.get("api", 0)
    assert "orders" not in ev.mentioned     # longest name wins, no partial match


def _trace(spans: list[tuple], error: bool = False) -> dict:
    return {"trace_id": "t", "ts": 0, "root": spans[0][0], "duration_ms": spans[0][2], "error": error,
            "spans": [{"component": c, "operation": f"{c}.op", "parent": p, "duration_ms": d, "error": e}
                      for c, p, d, e in spans]}


def test_error_origins_blame_the_deepest_failing_span():
    t = _trace([("gw", None, 100, True), ("svc", 0, 80, True), ("db", 1, 70, True), ("cache", 1, 1, False)], True)
    assert error_origins([t, t]) == {"db": 1.0}


def test_error_origins_accept_parent_given_as_operation_name():
    t = _trace([("gw", None, 100, True), ("svc", "gw.op", 80, True), ("db", "svc.op", 70, False)], True)
    assert error_origins([t]) == {"svc": 1.0}


def test_latency_origins_attribute_growth_to_own_span_time():
    before = [_trace([("gw", None, 50, False), ("svc", 0, 40, False), ("db", 1, 10, False)])] * 5
    after = [_trace([("gw", None, 250, False), ("svc", 0, 240, False), ("db", 1, 210, False)])] * 5
    lo = latency_origins(before, after)
    assert max(lo, key=lo.get) == "db" and lo["db"] == pytest.approx(1.0)
    assert latency_origins(before, before) == {}


def test_recent_changes_keep_changes_before_onset_within_the_window():
    ev = [{"ts": 900, "kind": "deploy", "component": "a", "summary": "v2"},
          {"ts": 100, "kind": "deploy", "component": "b", "summary": "old"},
          {"ts": 2000, "kind": "deploy", "component": "c", "summary": "later"},
          {"ts": 950, "kind": "k8s-event", "component": "d", "summary": "pod restarted"}]
    ch = recent_changes(ev, onset=1000, window_s=600)
    assert set(ch) == {"a"}
    assert ch["a"][0].recency(1000, 600) == pytest.approx(1 - 100 / 600)


# --- fault naming -------------------------------------------------------------------------------
def test_every_fault_type_has_a_signature():
    assert set(SIGNATURES) == set(FAULT_TYPES) and len(FAULT_TYPES) == 14


@pytest.mark.parametrize("kind, metrics, messages, changes, expected", [
    ("database", {"query_time_p99_ms": (0.9, 1)}, ["LOG:  duration: 4200.1 ms  statement: SELECT 1"], [],
     "slow_query"),
    ("service", {"db_pool_in_use_pct": (0.8, 1)}, ["timeout acquiring connection from pool for orders-db"], [],
     "db_pool_exhaustion"),
    ("pod", {"memory_mb": (0.7, 1), "restarts": (0.9, 1)}, ["Container was OOMKilled"], [], "oom_kill_loop"),
    ("service", {"memory_pct": (0.6, 1)}, ["java.lang.OutOfMemoryError: Java heap space"] * 3, [], "oom_kill_loop"),
    ("pod", {"cpu_throttled_pct": (0.9, 1)}, [], [], "cpu_throttling"),
    ("consumer-group", {"consumer_lag": (0.9, 1)}, ["Attempt to heartbeat failed since group is rebalancing"], [],
     "kafka_rebalance_storm"),
    ("k8s-node", {"net_retransmit_pct": (0.9, 1)}, [], [], "packet_loss"),
    ("dns", {"servfail_per_s": (0.9, 1)}, ["lookup orders-db on 10.96.0.10:53: server misbehaving"], [],
     "dns_failure"),
    ("database", {"disk_used_pct": (0.9, 1)}, ["could not extend file: No space left on device"], [], "disk_full"),
    ("external", {"latency_p99_ms": (0.9, 1)}, [], [], "third_party_timeout"),
    ("external", {"error_rate_pct": (0.9, 1)}, ["x509: certificate has expired or is not yet valid"], [],
     "cert_expiry"),
    ("service", {"error_rate_pct": (0.9, 1)}, ["NullPointerException in handler [build v2.1.0]"],
     [("deploy", "Deployed orders v2.1.0 (was v2.0.3)")], "bad_deploy"),
    ("service", {"error_rate_pct": (0.9, 1)}, ["request failed on code path 'fast-path'"],
     [("feature-flag", "Flag 'fast-path' changed off -> on")], "bad_feature_flag"),
    ("service", {"requests_per_s": (0.9, 1)}, [], [], "traffic_surge"),
    ("service", {"error_rate_pct": (0.9, 1)}, ["upstream request to cart timed out after 150ms"] * 3,
     [("config-change", "orders: clients.cart.timeout_ms changed 2000 -> 150")], "timeout_chain"),
])
def test_classify_names_the_fault_the_evidence_matches(kind, metrics, messages, changes, expected):
    ev = ComponentEvidence(kind, metrics, messages, [k for k, _ in changes], [t for _, t in changes])
    assert classify(ev) == expected


def test_generic_symptoms_alone_do_not_name_a_specific_fault_on_the_wrong_kind():
    # an error-rate shift on a service is not a certificate problem (that needs an external)
    ev = ComponentEvidence("service", {"error_rate_pct": (0.9, 1)}, [], [], [])
    assert classify(ev) != "cert_expiry"
    assert classify(ComponentEvidence("external", {"error_rate_pct": (0.9, 1)}, [], [], [])) == "cert_expiry"


def test_infra_hints_point_at_the_kind_the_log_wording_implicates():
    msgs = ["getaddrinfo EAI_AGAIN orders.prod.svc.cluster.local"] * 4 + ["GET /api 200 3ms"] * 10
    hints = infra_hints(msgs, saturation=4)
    assert hints == {"dns": 1.0}


# --- graph --------------------------------------------------------------------------------------
def test_dependency_graph_folds_pods_into_services_and_adds_cluster_dns():
    kinds = {"gw": "gateway", "svc": "service", "svc-pod-1": "pod", "node-a": "k8s-node", "coredns": "dns",
             "svc-consumer": "consumer-group", "events": "kafka-topic", "other": "service"}
    g = DependencyGraph.from_topology([
        {"source": "gw", "target": "svc", "relation": "calls"},
        {"source": "svc-pod-1", "target": "svc", "relation": "instance-of"},
        {"source": "svc-pod-1", "target": "node-a", "relation": "runs-on"},
        {"source": "svc", "target": "svc-consumer", "relation": "member-of"},
        {"source": "svc-consumer", "target": "events", "relation": "consumes"},
        {"source": "other", "target": "gw", "relation": "calls"},
    ], kinds)
    assert g.deps["svc"] == {"node-a", "coredns", "svc-consumer"}
    assert g.service_of("svc-pod-1") == "svc"
    assert g.distances(["gw"]) == {"gw": 0, "svc": 1, "coredns": 1, "node-a": 2, "svc-consumer": 2, "events": 3}
    assert g.descendants("gw") == {"svc", "node-a", "coredns", "svc-consumer", "events"}
    assert g.entry_points() == ["other"]


# --- builds -------------------------------------------------------------------------------------
def test_reference_builds_name_three_versions_with_distinct_flags():
    assert {"v1", "v2", "v3"} <= set(REFERENCE_BUILDS)
    flags = {v: flags_for(v) for v in REFERENCE_BUILDS}
    assert len({f for f in flags.values()}) == len(flags)
    assert flags["v2"].monitor_focus and not flags["v1"].monitor_focus
    assert flags["v3"].change_correlation and not flags["v1"].change_correlation


def test_build_id_differs_per_version_and_override():
    ids = {str(ReferenceAgent(v).build) for v in ("v1", "v2", "v3")}
    assert len(ids) == 3
    assert ReferenceAgent("v1", call_budget=20).build.config_hash != ReferenceAgent("v1").build.config_hash


def test_unknown_version_and_flags_are_user_errors_listing_every_problem():
    with pytest.raises(UserError) as err:
        flags_for("v9", bogus=1, call_budget="many")
    text = str(err.value)
    assert "v9" in text and "bogus" in text and "call_budget" in text
    assert len(err.value.problems) == 3


def test_flag_values_given_as_text_are_coerced():
    f = flags_for("v1", monitor_focus="true", call_budget="20", monitor_prior="0.6")
    assert f.monitor_focus is True and f.call_budget == 20 and f.monitor_prior == 0.6
