"""The reference investigator's mechanics on small hand-built Worlds (no generator involved).

Topology of the test world: gateway -> orders -> {orders-db, cache}; gateway -> payments -> payments-db.
A fault multiplies one metric of one component from ``ONSET`` on and slows every component that
depends on it; the alert fires on ``alert_on``'s latency.
"""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.agents.base import Finding
from evalkit.agents.reference import ReferenceAgent
from evalkit.world.model import World
from evalkit.world.toolbox import Toolbox


START, STEP, N = 1_700_000_000, 60, 120
ONSET = START + 80 * STEP
FIRED = START + 88 * STEP

KINDS = {"gateway": "gateway", "orders": "service", "payments": "service", "orders-db": "database",
         "payments-db": "database", "cache": "cache"}
EDGES = [("gateway", "orders", "calls"), ("gateway", "payments", "calls"), ("orders", "orders-db", "calls"),
         ("orders", "cache", "calls"), ("payments", "payments-db", "calls")]
METRICS = {
    "gateway": {"latency_p99": 120.0, "error_rate": 0.5, "request_rate": 400.0},
    "orders": {"latency_p99": 80.0, "error_rate": 0.3, "request_rate": 200.0, "cpu_usage": 40.0},
    "payments": {"latency_p99": 70.0, "error_rate": 0.2, "request_rate": 150.0, "cpu_usage": 35.0},
    "orders-db": {"db_query_time_p99": 15.0, "connections_active": 40.0, "cpu_usage": 30.0},
    "payments-db": {"db_query_time_p99": 12.0, "connections_active": 30.0, "cpu_usage": 25.0},
    "cache": {"latency_p99": 2.0, "hit_rate": 95.0},
}
UNITS = {"latency_p99": "ms", "error_rate": "%", "request_rate": "req/s", "cpu_usage": "%",
         "db_query_time_p99": "ms", "connections_active": "count", "hit_rate": "%"}


def callers_of(name: str) -> list[str]:
    """Everything that (transitively) calls ``name``."""
    out, frontier = [], [name]
    while frontier:
        nxt = [s for s, t, _ in EDGES if t in frontier]
        out += [n for n in nxt if n not in out]
        frontier = nxt
    return out


OWN_MS = {"gateway": 5.0, "orders": 20.0, "payments": 15.0, "orders-db": 10.0, "payments-db": 8.0, "cache": 1.0}


def make_traces(cause: str, metric: str, factor: float) -> list[dict]:
    """A trace per minute through gateway -> orders|payments -> their stores; the cause slows/fails after ONSET."""
    out = []
    for i in range(N):
        ts = START + i * STEP
        svc = "orders" if i % 2 == 0 else "payments"
        chain = ["gateway", svc] + (["orders-db", "cache"] if svc == "orders" else ["payments-db"])
        hit = ts >= ONSET and cause in chain
        spans = []
        for j, comp in enumerate(chain):
            own = OWN_MS[comp] * (factor if hit and comp == cause and metric != "error_rate" else 1.0)
            spans.append({"component": comp, "operation": f"{comp} op", "parent": None if j == 0 else (0 if j == 1 else 1),
                          "duration_ms": own, "error": hit and metric == "error_rate" and comp == cause})
        for j in (1, 0):                      # parents include their children's time and errors
            kids = [sp for sp in spans if sp["parent"] == j]
            spans[j]["duration_ms"] += sum(k["duration_ms"] for k in kids)
            spans[j]["error"] = spans[j]["error"] or any(k["error"] for k in kids)
        out.append({"trace_id": f"t{i}", "ts": int(ts), "root": "gateway", "duration_ms": spans[0]["duration_ms"],
                    "error": spans[0]["error"], "spans": spans})
    return out


def make_world(cause: str = "orders-db", metric: str = "db_query_time_p99", factor: float = 4.0,
               alert_on: str = "gateway", propagate: float = 1.0, extra: tuple = (), deploys: tuple = (),
               error_logs: tuple = (), noise_seed: int = 0, traces: bool = False) -> World:
    """A World with one fault (``cause``.``metric`` × ``factor``) and optional extra shifts.

    ``extra``: (component, metric, factor, onset_index) shifts unrelated to the fault;
    ``deploys``: (component, minutes_before_onset) deploy events;
    ``error_logs``: (component, message, count) ERROR records after the onset;
    ``traces``: add one request trace per minute (own span times grow at the cause).
    """
    rng = np.random.default_rng(noise_seed)
    ts = START + STEP * np.arange(N)
    after = ts >= ONSET
    metrics = {c: {m: base * (1 + 0.03 * rng.standard_normal(N)) for m, base in ms.items()}
               for c, ms in METRICS.items()}
    metrics[cause][metric] = np.where(after, metrics[cause][metric] * factor, metrics[cause][metric])
    if propagate:
        for up in callers_of(cause):
            lat = metrics[up]["latency_p99"]
            metrics[up]["latency_p99"] = np.where(after, lat * (1 + propagate * (factor - 1) / 2), lat)
    if cause in ("orders", "payments", "gateway") and metric != "latency_p99" and propagate:
        lat = metrics[cause]["latency_p99"]
        metrics[cause]["latency_p99"] = np.where(after, lat * (1 + propagate * (factor - 1) / 2), lat)
    for comp, m, f, at in extra:
        s = metrics[comp][m]
        metrics[comp][m] = np.where(np.arange(N) >= at, s * f, s)
    alert_series = metrics[alert_on]["latency_p99"]
    events = [{"ts": int(ONSET - 60 * mins), "kind": "deploy", "component": comp,
               "summary": f"deploy {comp} v2.{i}", "details": {}} for i, (comp, mins) in enumerate(deploys)]
    logs = []
    for comp, msg, count in error_logs:
        for i in range(count):
            logs.append({"ts": int(ONSET + 30 * i), "component": comp, "level": "ERROR", "message": msg})
    logs.sort(key=lambda r: r["ts"])
    return World(
        start=START, end=START + N * STEP, step=STEP,
        components=[{"name": n, "kind": k, "tier": "backend"} for n, k in KINDS.items()],
        edges=list(EDGES), metrics=metrics, metric_units=UNITS, logs=logs,
        traces=make_traces(cause, metric, factor) if traces else [],
        events=sorted(events, key=lambda e: e["ts"]),
        monitors=[{"name": f"{alert_on} latency", "component": alert_on, "metric": "latency_p99",
                   "comparator": ">", "threshold": 150.0, "state": "ALERT", "last_triggered": FIRED}],
        alert={"monitor": f"{alert_on} latency", "component": alert_on, "metric": "latency_p99",
               "value": float(alert_series[88]), "threshold": 150.0, "fired_at": FIRED, "severity": "high",
               "title": f"{alert_on} p99 latency high"},
    )


def investigate(world: World, version: str = "v1", seed: int = 0, max_calls: int = 60,
                **flags: object) -> tuple[Finding, Toolbox]:
    tb = Toolbox(world, max_calls=max_calls)
    return ReferenceAgent(version, **flags).investigate(world.alert, tb, seed), tb


def top(finding: Finding) -> str:
    return finding.hypotheses[0].component


def rank_of(finding: Finding, component: str) -> int:
    names = [h.component for h in finding.hypotheses]
    return names.index(component) if component in names else len(names)


# --- localisation ---------------------------------------------------------------------------------
def test_names_the_component_with_the_strongest_anomaly_downstream_of_the_alert():
    world = make_world(cause="orders-db", metric="db_query_time_p99", factor=4.0, alert_on="gateway",
                       extra=(("payments-db", "db_query_time_p99", 1.3, 80),))
    for seed in range(5):
        finding, tb = investigate(world, seed=seed)
        h = finding.hypotheses[0]
        assert h.component == "orders-db"
        assert h.fault_type == "slow_query"
        assert "metric:orders-db:db_query_time_p99" in h.evidence
        assert h.confidence == max(x.confidence for x in finding.hypotheses)


def test_callers_slowed_by_the_fault_are_explained_away_as_victims():
    world = make_world(cause="orders-db", factor=4.0, alert_on="gateway", traces=True)
    finding, _ = investigate(world)
    assert rank_of(finding, "orders-db") < rank_of(finding, "orders")
    assert rank_of(finding, "orders-db") < rank_of(finding, "gateway")


def test_a_cause_in_the_alerting_service_itself_is_found_when_nothing_below_is_anomalous():
    world = make_world(cause="orders", metric="error_rate", factor=6.0, alert_on="orders", traces=True)
    for version in ("v1", "v2", "v3"):
        assert top(investigate(world, version)[0]) == "orders"


def test_trace_evidence_leads_to_the_slow_span():
    # the database's own span time grows; its metrics are not even needed to suspect it first
    world = make_world(cause="orders-db", factor=6.0, alert_on="gateway", traces=True)
    finding, tb = investigate(world)
    inspected = [c.args["component"] for c in tb.trajectory if c.tool == "query_metric"]
    assert inspected[1] == "orders-db"          # right after the alert metric itself
    assert top(finding) == "orders-db"


def test_shifts_that_begin_after_the_alert_fired_weigh_less():
    early = make_world(cause="orders", metric="error_rate", factor=6.0, alert_on="orders",
                       extra=(("cache", "latency_p99", 4.0, 80),))
    late = make_world(cause="orders", metric="error_rate", factor=6.0, alert_on="orders",
                      extra=(("cache", "latency_p99", 4.0, 110),))
    assert top(investigate(early)[0]) == "cache"     # the deepest anomaly at the onset takes the blame
    assert top(investigate(late)[0]) == "orders"     # one that starts after the alert does not


# --- builds -------------------------------------------------------------------------------------
def test_v1_surveys_from_the_entry_points_and_v2_starts_at_the_alerting_service():
    world = make_world(cause="orders-db", factor=1.8, alert_on="orders")
    _, tb1 = investigate(world, "v1")
    _, tb2 = investigate(world, "v2")
    looked = [[c.args["component"] for c in tb.trajectory if c.tool == "query_metric"][1:] for tb in (tb1, tb2)]
    assert "gateway" in looked[0]                        # v1 also looks above the alerting service
    assert looked[1][:3] == ["orders"] * 3               # v2 reads the alerting service thoroughly first...
    assert set(looked[1]) <= {"orders", "orders-db", "cache"}   # ...and stays below it
    assert looked[1].count("orders") > looked[0].count("orders")


def test_v2_prefers_the_alerting_service_over_a_moderate_downstream_anomaly():
    world = make_world(cause="orders-db", factor=1.8, alert_on="orders")
    assert top(investigate(world, "v1")[0]) == "orders-db"
    assert top(investigate(world, "v2")[0]) == "orders"


def test_v1_blames_a_moderately_anomalous_dependency_where_v2_keeps_the_alerting_service():
    # the alerting service itself broke; its database drifted at the same time
    world = make_world(cause="orders", metric="error_rate", factor=6.0, alert_on="orders",
                       extra=(("orders-db", "db_query_time_p99", 1.4, 80),))
    for seed in range(3):
        assert top(investigate(world, "v1", seed=seed)[0]) == "orders-db"
        assert top(investigate(world, "v2", seed=seed)[0]) == "orders"


def test_a_slight_blip_in_a_dependency_does_not_explain_a_strong_fault_away():
    # below ``explain_floor`` a dependency's anomaly explains its dependents only in proportion
    world = make_world(cause="orders", metric="error_rate", factor=6.0, alert_on="orders",
                       extra=(("orders-db", "db_query_time_p99", 1.1, 80),))
    for seed in range(3):
        assert top(investigate(world, "v1", seed=seed)[0]) == "orders"


def test_a_dependency_whose_latency_fell_is_recovering_not_failing():
    # the database got twice as fast at the onset (a cache warmed up): that explains nothing upstream
    faster = make_world(cause="orders", metric="error_rate", factor=6.0, alert_on="orders",
                        extra=(("orders-db", "db_query_time_p99", 0.5, 80),))
    slower = make_world(cause="orders", metric="error_rate", factor=6.0, alert_on="orders",
                        extra=(("orders-db", "db_query_time_p99", 2.0, 80),))
    for seed in range(3):
        assert top(investigate(faster, "v1", seed=seed)[0]) == "orders"
        assert top(investigate(slower, "v1", seed=seed)[0]) == "orders-db"   # the same shift upwards does


def test_v2_still_follows_overwhelming_downstream_evidence():
    world = make_world(cause="orders-db", factor=10.0, alert_on="orders", traces=True,
                       error_logs=(("orders", "query to orders-db timed out", 15),))
    assert top(investigate(world, "v2")[0]) == "orders-db"


def test_v3_boosts_a_recently_deployed_component():
    # orders was deployed 2 minutes before its error rate rose a little; payments' errors jumped more
    world = make_world(cause="orders", metric="error_rate", factor=1.3, alert_on="gateway",
                       extra=(("payments", "error_rate", 3.0, 80),), deploys=(("orders", 2),))
    for seed in range(3):
        v1, _ = investigate(world, "v1", seed=seed)
        v3, _ = investigate(world, "v3", seed=seed)
        assert top(v1) == "payments"
        assert top(v3) == "orders"
        assert v3.hypotheses[0].fault_type == "bad_deploy"
        assert "events:orders" in v3.hypotheses[0].evidence


def test_v3_is_misled_by_an_unrelated_deploy_that_v1_ignores():
    world = make_world(cause="orders-db", factor=1.8, alert_on="gateway", deploys=(("payments", 3),),
                       extra=(("payments", "error_rate", 1.2, 80),))
    assert top(investigate(world, "v1")[0]) == "orders-db"
    assert top(investigate(world, "v3")[0]) == "payments"


def test_v4_reads_the_alerts_own_metric_first_and_leaves_components_that_do_not_show_it():
    world = make_world(cause="orders", metric="latency_p99", factor=4.0, alert_on="gateway")
    finding, tb = investigate(world, "v4")
    assert top(finding) == "orders"
    reads: dict[str, list[str]] = {}
    for c in tb.trajectory:
        if c.tool == "query_metric":
            reads.setdefault(c.args["component"], []).append(c.args["metric"])
    for comp, metrics in reads.items():
        if "latency_p99" in METRICS[comp]:
            assert metrics[0] == "latency_p99", comp           # the symptom first...
    assert reads["payments"] == ["latency_p99"]                # ...and no more where it is absent
    _, tb1 = investigate(world, "v1")
    assert len([c for c in tb1.trajectory if c.args.get("component") == "payments"]) > 1


# --- randomness and budget ------------------------------------------------------------------------
def _calls(tb: Toolbox) -> list[tuple[str, dict]]:
    return [(c.tool, c.args) for c in tb.trajectory]


@pytest.mark.parametrize("version", ["v1", "v2", "v3"])
def test_same_seed_gives_the_same_finding_and_trajectory(version):
    world = make_world(cause="orders-db", factor=2.0, alert_on="gateway", deploys=(("payments", 10),), traces=True)
    f1, tb1 = investigate(world, version, seed=7)
    f2, tb2 = investigate(world, version, seed=7)
    assert f1 == f2
    assert _calls(tb1) == _calls(tb2)


def test_different_seeds_explore_differently_and_can_reach_different_conclusions():
    # two equally plausible causes and a budget too small to inspect everything
    world = make_world(cause="orders-db", factor=2.5, alert_on="gateway",
                       extra=(("payments-db", "db_query_time_p99", 2.5, 80),))
    runs = [investigate(world, seed=s, call_budget=22) for s in range(12)]
    trajectories = {tuple((t, tuple(sorted(a.items()))) for t, a in _calls(tb)) for _, tb in runs}
    assert len(trajectories) > 1
    assert len({top(f) for f, _ in runs}) > 1


@pytest.mark.parametrize("max_calls, budget", [(60, 34), (9, 34), (60, 12), (3, 34)])
def test_the_investigation_stays_within_its_budget_and_still_concludes(max_calls, budget):
    world = make_world(traces=True)
    finding, tb = investigate(world, max_calls=max_calls, call_budget=budget)
    assert len(tb.trajectory) <= min(max_calls, budget)
    assert finding.hypotheses                     # it always names something
    assert all(h.component in world.component_names() for h in finding.hypotheses)


def test_cited_evidence_was_actually_looked_at():
    world = make_world(cause="orders-db", alert_on="gateway", deploys=(("orders", 20),), traces=True,
                       error_logs=(("orders", "query to orders-db timed out", 12),))
    for version in ("v1", "v2", "v3"):
        finding, tb = investigate(world, version)
        seen = {r for c in tb.trajectory for r in c.refs}
        for h in finding.hypotheses:
            assert set(h.evidence) <= seen, (version, h)


def test_the_agent_uses_the_toolbox_alert_not_extra_knowledge():
    world = make_world(cause="orders-db", alert_on="gateway")
    tb = Toolbox(world)
    finding = ReferenceAgent("v1").investigate({}, tb, 0)       # no alert handed in: it asks the toolbox
    assert tb.trajectory[0].tool == "get_alert"
    assert top(finding) == "orders-db"


def test_confidences_are_a_ranking_that_sums_to_one():
    finding, _ = investigate(make_world(traces=True))
    conf = [h.confidence for h in finding.hypotheses]
    assert conf == sorted(conf, reverse=True)
    assert sum(conf) == pytest.approx(1.0, abs=1e-3)
