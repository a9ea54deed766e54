"""The incident generator: realistic topology and telemetry, genuine evidence per fault type, alert
placement per category, variety across scenarios, and byte-identical replays across processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from suite_helpers import CORE, SMOKE, core_slice

KINDS = {"gateway", "service", "database", "cache", "kafka-topic", "consumer-group", "k8s-node", "pod", "dns",
         "external"}


def replay(category: str, seed: int, noise: float = 0.5):
    from evalkit.suite.generator import replay_with_notes

    return replay_with_notes(category, seed, noise)


def by_fault(fault_type: str, n: int = 4):
    """``n`` generated (world, plan) pairs whose fault is ``fault_type``."""
    from evalkit.suite.generator import CATEGORIES

    cat = next(c for c, (fts, _, _) in CATEGORIES.items() if fault_type in fts)
    out, seed = [], 0
    while len(out) < n:
        w, p, _ = replay(cat, seed)
        if p.fault_type == fault_type:
            out.append((w, p))
        seed += 1
    return out


def series(w, comp, metric):
    return np.asarray(w.metrics[comp][metric])


def pre_post(w, p, comp, metric):
    x, ts = series(w, comp, metric), w.timestamps
    return x[ts < p.onset - 120], x[ts >= p.onset + 300]


def logs_of(w, comp, after=None):
    return [r for r in w.logs if r["component"] == comp and (after is None or r["ts"] >= after)]


# --- shape of a world ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_world_is_a_realistic_microservice_system(seed):
    w, p, _ = replay("database/slow-query", seed)
    kinds = Counter(c["kind"] for c in w.components)
    assert len(w.components) >= 25
    assert KINDS <= set(kinds)
    assert kinds["service"] >= 9
    names = [c["name"] for c in w.components]
    assert len(names) == len(set(names))
    calls = [(s, t) for s, t, r in w.edges if r == "calls"]
    # every service is reachable from the edge through "calls"
    reach, frontier = {p.topo.gateways[0]}, [p.topo.gateways[0]]
    while frontier:
        n = frontier.pop()
        for s, t in calls:
            if s == n and t not in reach:
                reach.add(t)
                frontier.append(t)
    planned = {c["name"] for c in p.topo.components}
    services = {c["name"] for c in w.components if c["kind"] == "service"}
    assert services & planned <= reach  # look-alikes added by noise hang off a random caller


def test_metrics_cover_90_minutes_on_a_one_minute_grid_with_units():
    w, p, _ = replay("kubernetes/oom", 5)
    assert w.step == 60 and len(w.timestamps) == 90 and w.end - w.start == 90 * 60
    assert p.onset - w.start >= 55 * 60  # about an hour of healthy data before the fault
    for comp, ms in w.metrics.items():
        for m, v in ms.items():
            assert v.shape == (90,) and v.dtype == np.float64, (comp, m)
            assert m in w.metric_units
    svc = p.topo.services[0]
    assert {"latency_p50_ms", "latency_p99_ms", "error_rate_pct", "requests_per_s", "cpu_pct",
            "memory_pct"} <= set(w.metrics[svc])


def test_traffic_has_a_daily_shape_and_noise():
    from evalkit.suite.generator.baseline import daily_shape

    mid = np.arange(0, 86400, 3600, dtype=float)
    shape = daily_shape(mid)
    assert shape.max() / shape.min() > 1.8
    w, p, _ = replay("deploy/bad-release", 1)
    gw = series(w, p.topo.gateways[1], "requests_per_s")
    assert np.std(np.diff(gw)) > 0


def test_logs_traces_events_and_monitors_are_populated_and_well_formed():
    w, p, _ = replay("database/connection-pool", 2)
    assert len(w.logs) > 300 and len(w.traces) >= 50 and w.events and w.monitors
    assert [r["ts"] for r in w.logs] == sorted(r["ts"] for r in w.logs)
    assert all(w.start <= r["ts"] < w.end and r["level"] in {"DEBUG", "INFO", "WARN", "ERROR"} for r in w.logs)
    names = set(w.component_names())
    assert all(r["component"] in names for r in w.logs)
    for t in w.traces:
        assert t["spans"][0]["parent"] is None and t["root"] == t["spans"][0]["component"]
        for sp in t["spans"][1:]:
            assert 0 <= sp["parent"] < len(t["spans"]) and sp["component"] in names
    assert all(e["component"] in names and e["kind"] for e in w.events)
    assert all(m["state"] in {"OK", "ALERT", "NO_DATA"} for m in w.monitors)


def test_span_durations_are_rounded_exactly_as_round_does():
    from evalkit.suite.generator.traces import round2

    rng = np.random.default_rng(3)
    k = rng.integers(0, 10**9, 20_000)
    ties = (k + 0.5) / 100.0  # the doubles nearest the decimal ties, and their neighbours
    xs = np.concatenate([np.exp(rng.normal(3, 2, 20_000)), ties, np.nextafter(ties, 0), np.nextafter(ties, np.inf),
                         k / 100.0, [0.0, -0.0, -1.5, 0.005, 2.675, 1e11, 1e20, np.inf, np.nan]])
    assert [repr(round2(x)) for x in xs.tolist()] == [repr(round(x, 2)) for x in xs.tolist()]


# --- evidence per fault type --------------------------------------------------------------------
def test_oom_kill_loop_shows_restarts_memory_sawtooth_and_oomkilled_events():
    for w, p in by_fault("oom_kill_loop"):
        pods = p.topo.pods[p.cause]
        for pod in pods:
            r = series(w, pod, "restarts")
            assert r[-1] - r[0] >= 1
        mem = series(w, pods[0], "memory_mb")
        assert np.sum(np.diff(mem) < -0.2 * mem.max()) >= 1  # drops after kills
        assert any(e["component"] in pods and e["details"].get("reason") == "OOMKilled" for e in w.events)


def test_cpu_throttling_shows_throttled_pods_and_latency():
    for w, p in by_fault("cpu_throttling"):
        before, after = pre_post(w, p, p.topo.pods[p.cause][0], "cpu_throttled_pct")
        assert after.mean() > 20 > before.mean()
        b, a = pre_post(w, p, p.cause, "latency_p99_ms")
        assert a.mean() > 1.5 * b.mean()


def test_slow_query_shows_db_query_time_and_slow_query_logs():
    for w, p in by_fault("slow_query"):
        b, a = pre_post(w, p, p.cause, "query_time_p99_ms")
        assert a.mean() > 3 * b.mean()
        assert any("duration:" in r["message"] or "Query_time" in r["message"]
                   for r in logs_of(w, p.cause, p.onset) if r["level"] == "WARN")
        callers = [c for c in p.topo.callers[p.cause] if "db_pool_in_use_pct" in w.metrics.get(c, {})]
        assert all(series(w, c, "db_pool_in_use_pct").max() < 100 for c in callers)


def test_pool_exhaustion_shows_pool_at_100_and_acquire_timeouts_on_the_service():
    for w, p in by_fault("db_pool_exhaustion"):
        assert series(w, p.cause, "db_pool_in_use_pct").max() == pytest.approx(100)
        assert any("acquiring connection" in r["message"] or "Connection is not available" in r["message"]
                   for r in logs_of(w, p.cause, p.onset))
        db = p.params["db"]
        b, a = pre_post(w, p, db, "query_time_p99_ms")
        assert a.mean() < 2 * b.mean()  # the database itself is healthy


def test_kafka_storm_shows_rebalances_lag_and_rebalance_logs():
    for w, p in by_fault("kafka_rebalance_storm"):
        b, a = pre_post(w, p, p.cause, "rebalances_per_min")
        assert a.sum() > 10 and b.sum() <= 2
        lag = series(w, p.cause, "consumer_lag")
        assert lag[-1] > 20 * max(lag[:30].max(), 1)
        consumer = p.topo.groups[p.cause][1]
        assert any("rebalanc" in r["message"] or "Revoking" in r["message"] for r in logs_of(w, consumer, p.onset))


def test_packet_loss_shows_node_retransmits_and_slow_services_on_that_node():
    for w, p in by_fault("packet_loss"):
        b, a = pre_post(w, p, p.cause, "net_retransmit_pct")
        assert a.mean() > 1.0 > b.mean()
        worst = max(p.entry, key=p.entry.get)
        b, a = pre_post(w, p, worst, "latency_p99_ms")
        assert a.mean() > b.mean() * 1.2


def test_dns_failure_shows_servfails_coredns_errors_and_resolution_failures_in_callers():
    for w, p in by_fault("dns_failure"):
        b, a = pre_post(w, p, "coredns", "servfail_per_s")
        assert a.mean() > 10 * max(b.mean(), 0.01)
        assert any(r["level"] == "ERROR" and "plugin/errors" in r["message"] for r in logs_of(w, "coredns"))
        victim = sorted(p.entry)[0]
        assert any(k in r["message"] for r in logs_of(w, victim, p.onset)
                   for k in ("lookup", "name resolution", "EAI_AGAIN"))


def test_disk_full_shows_disk_at_100_and_no_space_left_logs():
    for w, p in by_fault("disk_full"):
        d = series(w, p.cause, "disk_used_pct")
        assert d.max() == pytest.approx(100) and d[0] < 97
        assert any("No space left on device" in r["message"] for r in logs_of(w, p.cause))


def test_third_party_timeout_shows_slow_external_spans():
    compared = 0
    for w, p in by_fault("third_party_timeout", 6):
        b, a = pre_post(w, p, p.cause, "latency_p99_ms")
        assert a.mean() > 3 * b.mean()
        ext = [sp["duration_ms"] for t in w.traces if t["ts"] >= p.onset + 300 for sp in t["spans"]
               if sp["component"] == p.cause]
        early = [sp["duration_ms"] for t in w.traces if t["ts"] < p.onset for sp in t["spans"]
                 if sp["component"] == p.cause]
        if ext and early:
            assert np.median(ext) > 2 * np.median(early)
            compared += 1
    assert compared >= 2


def test_cert_expiry_shows_tls_errors_naming_the_external_host_in_callers():
    for w, p in by_fault("cert_expiry"):
        host = p.topo.externals[p.cause]
        callers = p.topo.callers[p.cause]
        assert any("x509: certificate has expired" in r["message"] and host in r["message"]
                   for c in callers for r in logs_of(w, c, p.onset))


def test_traffic_surge_shows_a_throughput_spike_at_the_edge_and_saturation():
    for w, p in by_fault("traffic_surge"):
        b, a = pre_post(w, p, p.topo.gateways[1], "requests_per_s")
        assert a.mean() > 1.15 * b.mean()
        b, a = pre_post(w, p, p.cause, "requests_per_s")
        assert a.mean() > 2.5 * b.mean()
        assert series(w, p.cause, "cpu_pct")[-10:].mean() > 90


def test_timeout_chain_shows_a_timeout_config_change_and_504s():
    for w, p in by_fault("timeout_chain"):
        ev = [e for e in w.events if e["component"] == p.cause and e["kind"] == "config-change"
              and "timeout_ms" in e["details"].get("key", "")]
        assert ev and ev[0]["ts"] <= p.onset
        assert any("504" in r["message"] for r in logs_of(w, p.cause, p.onset))


@pytest.mark.parametrize("fault,kind", [("bad_deploy", "deploy"), ("bad_feature_flag", "feature-flag")])
def test_change_faults_show_the_change_event_then_an_error_spike(fault, kind):
    for w, p in by_fault(fault):
        ev = [e for e in w.events if e["component"] == p.cause and e["kind"] == kind]
        assert ev and ev[0]["ts"] <= p.onset
        b, a = pre_post(w, p, p.cause, "error_rate_pct")
        assert a.mean() > b.mean() + 2


# --- alert placement and propagation ------------------------------------------------------------
def test_alert_fires_on_the_cause_for_self_categories_and_upstream_for_downstream_ones():
    from evalkit.suite import load_suite, load_truth

    s = load_suite(CORE)
    for sc in s.scenarios[::3]:
        truth = load_truth(s, sc.id)
        a = sc.alert["component"]
        if "self" in sc.tags:
            assert a == truth.component
        else:
            assert a != truth.component and a not in truth.aliases
        assert sc.window[0] < sc.alert["fired_at"] < sc.window[1]


def test_downstream_alerts_sit_upstream_of_the_impact_and_errors_climb_toward_the_gateway():
    for cat in ("database/slow-query", "storage/disk-full", "dependency/external", "kubernetes/oom"):
        for seed in range(3):
            w, p, _ = replay(cat, seed)
            a = w.alert["component"]
            assert a in p.entry or a in {x for e in p.entry for x, _ in p.topo.ancestors(e)}
            metric = w.alert["metric"]
            b, after = pre_post(w, p, a, metric)
            assert after.max() > w.alert["threshold"] > b.max()


def test_the_same_component_is_not_always_the_answer():
    from evalkit.suite import load_suite, load_truth

    s = load_suite(CORE)
    causes: dict[str, Counter] = {}
    alerts: dict[str, Counter] = {}
    for sc in core_slice(s.scenarios):
        causes.setdefault(sc.category, Counter())[load_truth(s, sc.id).component] += 1
        alerts.setdefault(sc.category, Counter())[sc.alert["component"]] += 1
    for cat, c in causes.items():
        if cat != "network/connectivity":  # dns_failure's cause is always coredns
            assert len(c) >= 8 and c.most_common(1)[0][1] <= 10, (cat, c)
    for cat, c in alerts.items():
        assert len(c) >= 6, (cat, c)
    domains = Counter(t for sc in s.scenarios for t in sc.tags if t.startswith("domain:"))
    assert len(domains) >= 4


def test_both_fault_types_of_two_type_categories_occur():
    from evalkit.suite import load_suite, load_truth

    s = load_suite(CORE)
    for cat, pair in (("network/connectivity", {"packet_loss", "dns_failure"}),
                      ("dependency/external", {"third_party_timeout", "cert_expiry"})):
        seen = {load_truth(s, sc.id).fault_type for sc in s.scenarios if sc.category == cat}
        assert seen == pair


def test_shipped_suites_match_what_the_generator_replays():
    """Every smoke scenario's stored alert and window equal the replay (no stale suite files)."""
    from evalkit.suite import load_suite, load_world

    for sc in load_suite(SMOKE).scenarios:
        w = load_world(sc)
        assert w.alert == sc.alert and (w.start, w.end) == sc.window


@pytest.mark.slow
def test_core_scenarios_replay_to_their_stored_alert():
    """The 1.0 scenarios and every 40th of the pool (evalkit suite validate --replay checks all 4,800)."""
    from evalkit.suite import load_suite, load_world

    for sc in core_slice(load_suite(CORE).scenarios, every=40):
        assert load_world(sc).alert == sc.alert, sc.id


# --- determinism --------------------------------------------------------------------------------
_DIGEST = r"""
import hashlib, json, sys
from evalkit.suite import load_suite, load_world, suite_hash
s = load_suite(sys.argv[1])
seen, out = set(), {"hash": suite_hash(sys.argv[1])}
for sc in s.scenarios:
    if sc.category not in seen:
        seen.add(sc.category)
        out[sc.id] = hashlib.sha256(load_world(sc).to_bytes()).hexdigest()
print(json.dumps(out, sort_keys=True))
"""


def test_replays_are_byte_identical_across_processes_and_hash_seeds():
    results = []
    for hashseed in ("0", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=hashseed)
        proc = subprocess.run([sys.executable, "-c", _DIGEST, str(SMOKE)], capture_output=True, text=True,
                              env=env, timeout=300)
        assert proc.returncode == 0, proc.stderr
        results.append(json.loads(proc.stdout))
    assert results[0] == results[1]
    assert len(results[0]) == 13  # suite hash + one world per category
    from evalkit.suite import suite_hash

    assert results[0]["hash"] == suite_hash(SMOKE)


def test_generating_the_same_suite_twice_gives_the_same_files_and_hash(tmp_path):
    from evalkit.suite import generate_suite, suite_hash

    cats = ["messaging/kafka-lag", "network/connectivity"]
    a = generate_suite(tmp_path / "a", "x", 2, seed=11, categories=cats)
    b = generate_suite(tmp_path / "b", "x", 2, seed=11, categories=cats)
    assert suite_hash(a.path) == suite_hash(b.path) == a.hash == b.hash
    c = generate_suite(tmp_path / "c", "x", 2, seed=12, categories=cats)
    assert suite_hash(c.path) != suite_hash(a.path)


@pytest.mark.parametrize("materialize", [False, True])
def test_the_hash_generate_returns_is_the_hash_of_the_files_on_disk(tmp_path, materialize):
    from evalkit.suite import generate_suite, suite_hash

    done = generate_suite(tmp_path / "s", "x", 2, seed=4, categories=["kubernetes/oom", "network/connectivity"],
                          description="Générée: a non-ASCII description", materialize=materialize, pool=True)
    assert (done.path, done.scenarios) == (tmp_path / "s", 4)
    assert done.hash == suite_hash(tmp_path / "s")


def test_generate_refuses_to_overwrite_a_non_empty_folder(tmp_path):
    from evalkit.errors import UserError
    from evalkit.suite import generate_suite

    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "mine.txt").write_text("keep me")
    with pytest.raises(UserError, match="not empty"):
        generate_suite(tmp_path / "out", "x", 1, categories=["kubernetes/oom"])
    assert (tmp_path / "out" / "mine.txt").read_text() == "keep me"


def test_force_replaces_whatever_is_at_the_output_path_and_leaves_no_staging_folder(tmp_path):
    from evalkit.suite import generate_suite, load_suite

    (tmp_path / "out").write_text("a file where the suite should go")
    generate_suite(tmp_path / "out", "x", 1, categories=["kubernetes/oom"], force=True)
    assert [s.id for s in load_suite(tmp_path / "out").scenarios] == ["kubernetes-oom-001"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_log_messages_are_fully_rendered():
    import re

    from evalkit.suite.generator import CATEGORIES

    for cat in CATEGORIES:
        for seed in range(2):
            w, _, _ = replay(cat, seed, 1.0)
            left = [r["message"] for r in w.logs if re.search(r"\{(?!id\})[^}]*\}", r["message"])]
            assert not left, left[:3]
            assert all(r["message"] and not re.search(r"\bNone\b", r["message"]) for r in w.logs)


def test_every_fault_type_of_the_catalogue_has_a_placement_and_no_other():
    from evalkit.suite.generator.catalog import CATEGORIES
    from evalkit.suite.generator.plan import PLACEMENTS

    assert set(PLACEMENTS) == {f for fault_types, _, _ in CATEGORIES.values() for f in fault_types}


def _stepwise_history(x: np.ndarray, thr: float, ts: np.ndarray, step: int) -> tuple[list[dict], str]:
    """The monitor state machine stepped minute by minute (the reference the vectorised evaluate must match)."""
    above = np.nan_to_num(x, nan=-np.inf) > thr
    state, run_up, run_down, hist = "OK", 0, 0, []
    for i, a in enumerate(above.tolist()):
        run_up, run_down = (run_up + 1, 0) if a else (0, run_down + 1)
        if state == "OK" and run_up >= 2:
            state = "ALERT"
            hist.append({"ts": int(ts[i]) + step, "state": "ALERT"})
        elif state == "ALERT" and run_down >= 2:
            state = "OK"
            hist.append({"ts": int(ts[i]) + step, "state": "OK"})
    return hist, "NO_DATA" if np.all(np.isnan(x[-3:])) else state


def test_monitor_evaluation_matches_the_minute_by_minute_state_machine():
    from evalkit.suite.generator.monitors import evaluate

    rng = np.random.default_rng(7)
    big = float(np.finfo(np.float64).max)
    for trial in range(3000):
        n = int(rng.integers(0, 100))
        x = rng.random(n)
        for value, share in ((np.nan, 0.15), (np.inf, 0.05), (-np.inf, 0.05)):
            if trial % 3:
                x[rng.random(n) < share] = value
        thr = float(rng.choice([0.2, 0.5, 0.9, 0.0, np.inf, -np.inf, np.nan, big, -big]))
        ts = 1_000_000 + 60 * np.arange(n, dtype=np.int64)
        mon = {"threshold": thr}
        [hist] = evaluate([mon], [x], ts, 60)
        want, state = _stepwise_history(x, thr, ts, 60)
        assert hist == want and mon["state"] == state and mon["history"] == want[-20:]
        alerts = [h["ts"] for h in want if h["state"] == "ALERT"]
        assert mon["last_triggered"] == (alerts[-1] if alerts else None)


def test_monitors_evaluated_together_match_the_state_machine_one_by_one():
    from evalkit.suite.generator.monitors import evaluate

    rng = np.random.default_rng(8)
    big = float(np.finfo(np.float64).max)
    for n in (0, 1, 2, 3, 90):
        xs = [rng.random(n) for _ in range(40)]
        for x in xs[::2]:
            x[rng.random(n) < 0.2] = rng.choice([np.nan, np.inf, -np.inf])
        mons = [{"threshold": float(rng.choice([0.2, 0.5, 0.9, np.inf, -np.inf, np.nan, big, -big]))} for _ in xs]
        ts = 1_000_000 + 60 * np.arange(n, dtype=np.int64)
        hists = evaluate(mons, xs, ts, 60)
        for mon, x, hist in zip(mons, xs, hists):
            want, state = _stepwise_history(x, mon["threshold"], ts, 60)
            assert hist == want and mon["state"] == state and mon["history"] == want[-20:]
    assert evaluate([], [], np.arange(3), 60) == []


def test_fast_series_helpers_equal_the_numpy_functions_they_replace():
    from evalkit.suite.generator.numeric import mean, nantop, ramp_to, top

    rng = np.random.default_rng(11)
    stops = [0.0, -0.0, 0.3, 5e-324, -2.5, 1e300, *rng.uniform(-5, 5, 200).tolist()]
    for stop in stops:
        for n in (0, 1, 2, 3, 90):
            assert np.array_equal(ramp_to(stop, n), np.linspace(0, stop, n), equal_nan=True)
            assert ramp_to(stop, n).tobytes() == np.linspace(0, stop, n).tobytes()
    for _ in range(200):
        x = rng.lognormal(0, 2, int(rng.integers(1, 120)))
        assert mean(x) == float(np.mean(x)) and top(x) == float(np.max(x)) == nantop(x)
        x[0] = np.nan
        x[rng.random(x.size) < 0.2] = np.nan
        assert np.isnan(top(x)) and np.isnan(np.max(x))
        if np.isnan(x).all():
            with pytest.warns(RuntimeWarning):
                assert np.isnan(nantop(x))
        else:
            assert nantop(x) == float(np.nanmax(x))


def _standard_digest(world) -> str:
    """The world digest's definition: SHA-256 of the standard library's compact JSON of its discrete content."""
    import hashlib

    doc = [world.start, world.end, world.step, world.components, [list(e) for e in world.edges], world.alert,
           world.events, world.monitors, world.logs, world.traces]
    return hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()[:16]


def test_the_world_digest_is_the_standard_json_fingerprint_of_every_smoke_world():
    from evalkit.suite import load_suite, load_world
    from evalkit.suite.generator import world_digest

    for sc in load_suite(SMOKE).scenarios:
        world = load_world(sc, cache=False)
        assert world_digest(world) == _standard_digest(world) == sc.world["digest"], sc.id


@pytest.mark.parametrize("change", ["non-ascii message", "DEL in a message", "NaN duration", "numpy scalar",
                                    "null in a log", "tiny duration"])
def test_the_world_digest_keeps_the_standard_text_where_a_faster_encoder_would_differ(change):
    from evalkit.suite.generator import world_digest

    world, _, _ = replay("database/slow-query", 3)
    log, span = world.logs[0], world.traces[0]["spans"][0]
    if change == "non-ascii message":
        log["message"] += " café"
    elif change == "DEL in a message":
        log["message"] += "\x7f"
    elif change == "NaN duration":
        span["duration_ms"] = float("nan")
    elif change == "numpy scalar":
        span["duration_ms"] = np.float64(span["duration_ms"])
    elif change == "tiny duration":
        span["duration_ms"] = 1e-05
    else:
        log["extra"] = None
    assert world_digest(world) == _standard_digest(world)
