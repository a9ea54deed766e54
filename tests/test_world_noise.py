"""Noise injection: every scenario carries distractors of at least three kinds, checked on the replayed
worlds themselves; noise is fixed per scenario, scales with the level and never touches the cause."""

from __future__ import annotations

import numpy as np
import pytest

from suite_helpers import CORE, SMOKE, core_slice


def verified_noise_kinds(scenario, suite) -> set[str]:
    """Noise kinds whose distractors are really present in the scenario's replayed world."""
    from evalkit.suite import load_truth
    from evalkit.suite.generator import replay_with_notes
    from evalkit.world.noise import lookalike_names

    world, plan, notes = replay_with_notes(scenario.category, scenario.world["seed"], scenario.noise_level)
    assert world.alert == scenario.alert  # the same world load_world replays (byte-identity is tested apart)
    truth = load_truth(suite, scenario.id)
    cause = {truth.component, *truth.aliases}
    names = set(world.component_names())
    planned = {c["name"] for c in plan.topo.components}
    clean = None
    verified = set()
    warn_before: dict[str, int] = {}
    for r in world.logs:
        if r["ts"] < plan.onset and r["level"] in ("ERROR", "WARN"):
            warn_before[r["component"]] = warn_before.get(r["component"], 0) + 1
    for kind, comps in notes.items():
        comps = [c for c in comps if c not in cause]
        if not comps:
            continue
        assert set(comps) <= set(truth.distractors), (scenario.id, kind)
        ok = []
        for c in comps:
            if kind == "unrelated_deploy":
                ok.append(any(e["kind"] == "deploy" and e["component"] == c for e in world.events))
            elif kind == "lookalike":
                ok.append(c in names and c not in planned and any(c in lookalike_names(b) for b in planned))
            elif kind == "flapping_monitor":
                ok.append(any(m["component"] == c and len(m["history"]) >= 4 for m in world.monitors))
            elif kind == "benign_errors":
                ok.append(warn_before.get(c, 0) >= 3)
            elif kind == "unrelated_anomaly":
                if clean is None:
                    clean, _, _ = replay_with_notes(scenario.category, scenario.world["seed"], 0.0)
                ok.append(any(not np.allclose(v, clean.metrics[c][m], equal_nan=True)
                              for m, v in world.metrics[c].items()))
        if ok and all(ok):
            verified.add(kind)
    return verified


def test_every_smoke_scenario_has_distractors_of_at_least_three_kinds():
    from evalkit.suite import load_suite

    s = load_suite(SMOKE)
    for sc in s.scenarios:
        assert len(verified_noise_kinds(sc, s)) >= 3, sc.id


@pytest.mark.slow
def test_core_scenarios_have_distractors_of_at_least_three_kinds():
    """The 1.0 scenarios and every 40th of the pool (`evalkit suite validate` checks every scenario)."""
    from evalkit.suite import load_suite

    s = load_suite(CORE)
    counts = []
    for sc in core_slice(s.scenarios, every=40):
        kinds = verified_noise_kinds(sc, s)
        assert len(kinds) >= 3, (sc.id, kinds)
        counts.append(len(kinds))
    assert np.mean(counts) > 3.3  # higher levels add a fourth and fifth kind


def test_noise_level_zero_adds_nothing_and_higher_levels_add_more_kinds():
    from evalkit.suite.generator import replay_with_notes

    w0, plan, notes0 = replay_with_notes("database/slow-query", 4, 0.0)
    assert notes0 == {}
    assert {c["name"] for c in w0.components} == {c["name"] for c in plan.topo.components}
    low = [len(replay_with_notes("database/slow-query", s, 0.2)[2]) for s in range(4)]
    high = [len(replay_with_notes("database/slow-query", s, 0.9)[2]) for s in range(4)]
    assert min(low) >= 3 and max(low) == 3
    assert min(high) >= 4


def test_noise_never_touches_the_cause_or_the_alerting_signal():
    from evalkit.suite.generator import replay_with_notes

    for cat, seed in (("kubernetes/oom", 1), ("deploy/bad-release", 2), ("database/slow-query", 3)):
        clean, plan, _ = replay_with_notes(cat, seed, 0.0)
        noisy, _, _ = replay_with_notes(cat, seed, 1.0)
        for comp in [plan.cause, *plan.topo.pods.get(plan.cause, [])]:
            for m, v in clean.metrics.get(comp, {}).items():
                assert np.array_equal(v, noisy.metrics[comp][m]), (comp, m)
        assert [r for r in clean.logs if r["component"] == plan.cause] == \
               [r for r in noisy.logs if r["component"] == plan.cause]
        a, m = noisy.alert["component"], noisy.alert["metric"]
        assert np.array_equal(clean.metrics[a][m], noisy.metrics[a][m])


def test_noise_is_fixed_per_scenario():
    from evalkit.suite import load_suite, load_world

    sc = load_suite(SMOKE).scenarios[5]
    assert load_world(sc).to_bytes() == load_world(sc).to_bytes()


def test_noise_places_a_co_occurring_deploy_near_the_onset():
    from evalkit.suite.generator import replay_with_notes

    near = 0
    for seed in range(12):
        w, plan, notes = replay_with_notes("database/connection-pool", seed, 0.8)
        for c in notes.get("unrelated_deploy", []):
            ts = [e["ts"] for e in w.events if e["kind"] == "deploy" and e["component"] == c]
            near += any(abs(t - plan.onset) <= 15 * 60 for t in ts)
    assert near >= 4


def test_lookalike_names_are_confusable():
    from evalkit.world.noise import lookalike_names

    assert "payment-api" in lookalike_names("payments-api")
    assert "orders" in lookalike_names("order") and "order" in lookalike_names("orders")
    assert all(n != "cart" for n in lookalike_names("cart"))


def test_inject_noise_works_on_any_world_and_reports_what_it_touched():
    """Noise is a World-level operation: it needs only the world's own data plus names to leave alone."""
    from evalkit.suite.generator import replay_with_notes
    from evalkit.world.noise import NOISE_KINDS, inject_noise

    w, plan, _ = replay_with_notes("storage/disk-full", 9, 0.0)
    before = len(w.logs)
    notes = inject_noise(w, np.random.default_rng(0), 1.0, protect=[plan.alert_component],
                         keep_clean=[plan.cause], around=plan.onset)
    assert set(notes) == set(NOISE_KINDS)
    assert len(w.logs) > before and plan.cause not in {c for v in notes.values() for c in v}


def test_an_unrelated_latency_anomaly_also_shows_in_the_traces():
    from evalkit.suite.generator import replay_with_notes

    checked = 0
    for seed in range(30):
        noisy, plan, notes = replay_with_notes("storage/disk-full", seed, 1.0)
        comps = [c for c in notes.get("unrelated_anomaly", []) if plan.topo.kind.get(c) == "service"]
        if not comps:
            continue
        clean, _, _ = replay_with_notes("storage/disk-full", seed, 0.0)
        slower = [(a["duration_ms"], b["duration_ms"]) for ta, tb in zip(clean.traces, noisy.traces)
                  for a, b in zip(ta["spans"], tb["spans"]) if a["component"] in comps]
        if any(b > a for a, b in slower):
            checked += 1
            for ta, tb in zip(clean.traces, noisy.traces):
                assert tb["duration_ms"] >= ta["duration_ms"] and tb["duration_ms"] == tb["spans"][0]["duration_ms"]
        if checked >= 2:
            break
    assert checked >= 2


def _per_line_steady_logs(world, rng, component, templates, per_min, fill) -> None:
    """The steady log writer as it was before its lines were formatted column-wise: one dict of named values
    and one ``format_map`` per line (the reference the vectorised writer must match)."""
    from evalkit.world.noise import JOBS

    minutes = (world.end - world.start) // 60
    counts = rng.poisson(per_min, size=minutes)
    m = np.repeat(np.arange(minutes), counts)
    ts = (world.start + m * 60 + rng.integers(0, 60, size=m.size)).tolist()
    which = rng.integers(0, len(templates), size=m.size).tolist()
    for t, w, (a, b, c) in zip(ts, which, rng.integers(1, 250, size=(m.size, 3)).tolist()):
        lvl, fmt = templates[w]
        vals = dict(fill, a=a, b=b, port=30000 + 17 * c, ms=200 + 9 * c, job=JOBS[c % len(JOBS)])
        if isinstance(fill.get("dep"), list):
            vals["dep"] = fill["dep"][a % len(fill["dep"])] if fill["dep"] else "upstream"
        world.logs.append({"ts": t, "component": component, "level": lvl, "message": fmt.format_map(vals)})


def test_steady_logs_equal_the_per_line_writer_and_draw_the_same():
    from types import SimpleNamespace

    from evalkit.world.noise import BENIGN, _steady_logs

    odd = [("INFO", "{a:>5}|{b!r}|{{literal}}|{job}|{ms}|{port}|{a}"), ("WARN", "no fields {{braces}}"),
           ("ERROR", "{dep} via {region}")]
    for seed in range(60):
        pick = np.random.default_rng(seed)
        templates = [t for t in BENIGN + odd if pick.random() < 0.4] or BENIGN[:1]
        fill = [{"dep": [], "region": "eu"}, {"dep": ["db", "cache", "auth"], "region": "us"},
                {"dep": "fixed", "region": "ap"}][seed % 3]
        per_min = float(pick.uniform(0.1, 2))
        got, want = (SimpleNamespace(start=1_700_000_000, end=1_700_005_400, logs=[]) for _ in range(2))
        rngs = [np.random.default_rng([seed, 1]) for _ in range(2)]
        _steady_logs(got, rngs[0], "svc", templates, per_min, fill)
        _per_line_steady_logs(want, rngs[1], "svc", templates, per_min, fill)
        assert got.logs == want.logs and got.logs
        assert rngs[0].bit_generator.state == rngs[1].bit_generator.state
