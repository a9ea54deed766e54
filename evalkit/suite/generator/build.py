"""Replay a generated scenario: plan -> baseline -> fault -> propagation -> telemetry -> noise -> monitors.

``build_world`` is the whole replay; it is deterministic in (category, seed, noise level) and returns the
World plus the generator's private notes (distractors), which only the suite writer uses.
"""

from __future__ import annotations

import numpy as np

from evalkit.suite.generator.baseline import UNITS, assemble_metrics, baseline_flows, propagate
from evalkit.suite.generator.catalog import SYMPTOM
from evalkit.suite.generator.context import Ctx
from evalkit.suite.generator.faults import APPLY
from evalkit.suite.generator.logs import (CACHE_ROUTINE, CONSUMER_ROUTINE, DB_ROUTINE, DNS_ROUTINE,
                                          GATEWAY_ROUTINE, GATEWAY_ROUTINE_P, METHODS, POOL_STATS,
                                          SERVICE_ROUTINE, SERVICE_ROUTINE_P)
from evalkit.suite.generator.monitors import LABELS, alert_threshold, evaluate, healthy_threshold, monitor_def
from evalkit.suite.generator.numeric import clip, mean, pick, top
from evalkit.suite.generator.plan import STEP_S, Plan, stream
from evalkit.suite.generator.traces import build_traces
from evalkit.world.model import World
from evalkit.world.noise import AUTHORS, EVENT_ORDER, LOG_ORDER, inject_noise

RESOURCES = ["orders", "items", "users", "sessions", "quotes", "payments", "profiles", "status", "search", "events"]
GENERIC_ERR = [("ERROR", "call to {callee} failed: 503 Service Unavailable ({route})"),
               ("ERROR", "call to {callee} failed: 500 Internal Server Error ({route})")]
GENERIC_SLOW = [("WARN", "slow response from {callee}: {slow}ms ({route})")]
GATEWAY_ERR = [("WARN", '10.0.{n3}.{n4} "{method} {route} HTTP/1.1" 503 upstream={callee} {ms}ms'),
               ("WARN", '10.0.{n3}.{n4} "{method} {route} HTTP/1.1" 502 upstream={callee} {ms}ms'),
               ("WARN", '10.0.{n3}.{n4} "{method} {route} HTTP/1.1" 504 upstream={callee} {ms}ms')]
GATEWAY_SLOW = [("WARN", 'slow upstream {callee}: "{method} {route}" took {slow}ms')]


def _routes(name: str, rng: np.random.Generator) -> list[str]:
    base = name.replace("-api", "").replace("-bff", "").split("-")[0]
    res = pick(rng, RESOURCES)
    return [f"/api/v1/{base}", f"/api/v1/{base}/{{id}}", f"/api/v1/{base}/{res}", f"/internal/{base}/sync"]


def _log_contexts(ctx: Ctx, rng: np.random.Generator) -> None:
    T = ctx.T
    for c in T.components:
        name, kind = c["name"], c["kind"]
        lc: dict = {"method": METHODS, "ms_median": float(ctx.static.get(name, {}).get("p50", 20.0))}
        if kind in ("service", "gateway"):
            lc["route"] = _routes(name, rng)
        if kind == "database":
            lc.update(dbname=name.replace("-db", ""), table=["orders", "accounts", "events", "sessions"],
                      client=T.callers.get(name, ["app"]), qms=[f"{v}.{v % 97}" for v in (1, 2, 3, 5, 8, 13)])
        ctx.log_ctx[name] = lc
    gw = T.gateways[1]
    ctx.log_ctx[gw]["route"] = [r for e in T.entry for r in ctx.log_ctx[e]["route"][:2]]
    ctx.log_ctx[gw]["upstream"] = list(T.entry)


def _scale_to_alert(ctx: Ctx, metric: str, base: np.ndarray, delta: np.ndarray) -> float:
    """Scale factor for the fault so the alerting component's symptom clearly leaves its healthy range."""
    pre = ctx.mid < ctx.plan.onset
    post = (ctx.mid >= ctx.plan.onset) & (ctx.mid < ctx.plan.onset + 20 * 60)
    pre_top = top(base[pre])
    peak = top(delta[post]) if post.any() else 0.0
    need = max(1.5 if metric == "error_rate_pct" else 120.0, 0.9 * pre_top)
    if peak <= 0:
        return 1.0
    return max(1.0, need / peak)


def _caller_logs(ctx: Ctx, rng: np.random.Generator, d99: dict, derr: dict, b99: dict) -> None:
    T = ctx.T
    for node in T.order():
        if T.kind[node] not in ("service", "gateway") or node == T.gateways[0]:
            continue
        callees = T.calls.get(node, [])
        if not callees:
            continue
        is_gw = T.kind[node] == "gateway"
        err_c = {c: T.weights[(node, c)][1] * derr[c] for c in callees}
        lat_c = {c: T.weights[(node, c)][0] * d99[c] for c in callees}
        top_e = max(callees, key=lambda c: top(err_c[c]))
        if top(err_c[top_e]) > 0.3:
            tmpl = GATEWAY_ERR if is_gw else ctx.caller_errors.get(top_e, GENERIC_ERR)
            lc = dict(ctx.log_ctx[node], callee=top_e, resource=RESOURCES, to=[2000, 3000, 5000])
            rate = clip(err_c[top_e] * 0.25, 0, 3)
            ctx.log(rng, node, rate, tmpl, None, lc)
        top_l = max(callees, key=lambda c: top(lat_c[c]))
        ref = mean(b99[node])
        peak = top(lat_c[top_l])
        if peak > max(100.0, 0.5 * ref):
            tmpl = GATEWAY_SLOW if is_gw else ctx.caller_slow.get(top_l, GENERIC_SLOW)
            lc = dict(ctx.log_ctx[node], callee=top_l, ms_median=(ref + peak) / 12, resource=RESOURCES)
            rate = clip(lat_c[top_l] / max(ref, 1.0) * 0.3, 0, 2)
            ctx.log(rng, node, rate, tmpl, None, lc)


def _routine_logs(ctx: Ctx, rng: np.random.Generator, facts: dict) -> None:
    """Healthy background logs of every component kind (access logs, pool stats, DB/Redis/CoreDNS/Kafka)."""
    T, n = ctx.T, ctx.n
    gw = T.gateways[1]
    load = ctx.rps[gw] / mean(ctx.rps[gw][: max(1, n // 2)])
    ctx.log(rng, gw, 0.6 * load, GATEWAY_ROUTINE, GATEWAY_ROUTINE_P, ctx.log_ctx[gw])
    for s in T.services:
        ctx.log(rng, s, rng.uniform(0.12, 0.4), SERVICE_ROUTINE, SERVICE_ROUTINE_P, ctx.log_ctx[s])
        if "pool_max" in facts.get(s, {}):
            pm = facts[s]["pool_max"]
            base = facts[s]["pool_base"] / 100 * pm
            states = [f"active={a} idle={pm - a}" for a in sorted({max(1, int(base * f)) for f in (0.8, 1.0, 1.2)})]
            ctx.log(rng, s, 0.08, POOL_STATS, None, {"db": facts[s]["dbs"], "pool_state": states, "pool_max": pm})
    for db in T.databases:
        engine = next(c["engine"] for c in T.components if c["name"] == db)
        ctx.log(rng, db, rng.uniform(0.1, 0.25), DB_ROUTINE[engine], None, ctx.log_ctx[db])
    for c in T.caches:
        ctx.log(rng, c, 0.06, CACHE_ROUTINE, None, {})
    lookups = [f"{s}.prod.svc.cluster.local" for s in T.services] + list(T.externals.values())
    ctx.log(rng, T.dns, 0.1, DNS_ROUTINE, [0.9, 0.1], {"lookup": lookups})
    for g, (topic, consumer) in T.groups.items():
        ctx.log(rng, consumer, 0.2, CONSUMER_ROUTINE, None, dict(ctx.log_ctx[consumer], group=g, topic=topic,
                                                                 client=T.pods[consumer],
                                                                 lag_small=[3, 12, 40, 85, 150]))


def _routine_events(ctx: Ctx, rng: np.random.Generator) -> None:
    T = ctx.T
    for _ in range(int(rng.integers(1, 4))):
        s = pick(rng, T.services)
        ts = int(ctx.start + rng.integers(0, ctx.n * 60))
        r = len(T.pods[s])
        ctx.event(ts, "scaling", s, f"HorizontalPodAutoscaler {s}: scaled from {r} to {r + 1} replicas "
                  "(cpu utilisation above target)", {"from": r, "to": r + 1})
    if rng.random() < 0.5:
        ts = int(ctx.start + rng.integers(0, ctx.n * 60))
        ctx.event(ts, "cert", T.gateways[0], f"Certificate {T.gateways[0]}-tls renewed by cert-manager (valid 90 days)",
                  {"issuer": "letsencrypt-prod"})
    if rng.random() < 0.5:
        s = pick(rng, T.services)
        ts = int(ctx.start + rng.integers(0, ctx.n * 60))
        ctx.event(ts, "config-change", s, f"{s}: logging.level changed INFO -> DEBUG",
                  {"key": "logging.level", "from": "INFO", "to": "DEBUG", "actor": pick(rng, AUTHORS)})


def _monitors(ctx: Ctx, rng: np.random.Generator, metrics: dict, alert_metric: str) -> list[dict]:
    T = ctx.T
    pre = ctx.mid < ctx.plan.onset
    n_pre = int(np.count_nonzero(pre))  # the grid is sorted: the minutes before onset are its first n_pre
    healthy = slice(0, n_pre) if n_pre else slice(None)  # (the whole window if the fault is there from the start)
    mons: list[dict] = []

    def add(comp: str, metric: str, floor: float, cap: float | None = None) -> None:
        if metric in metrics.get(comp, {}):
            mons.append(monitor_def(comp, metric, healthy_threshold(metrics[comp][metric], healthy, rng, floor,
                                                                    cap)))

    gw = T.gateways[1]
    add(gw, "error_rate_pct", 2.0)
    add(gw, "latency_p99_ms", 200.0)
    for s in T.services:
        if s in T.entry or rng.random() < 0.5:
            add(s, "latency_p99_ms", 100.0)
        if rng.random() < 0.5:
            add(s, "error_rate_pct", 2.0)
    for db in T.databases:
        if rng.random() < 0.5:
            add(db, "query_time_p99_ms", 50.0)
        if rng.random() < 0.5:
            add(db, "disk_used_pct", 90.0, cap=90.0)
    for g in T.groups:
        if rng.random() < 0.5:
            add(g, "consumer_lag", 1000.0)
    for nd in T.nodes:
        if rng.random() < 0.3:
            add(nd, "cpu_pct", 80.0, cap=90.0)
    if rng.random() < 0.3:
        add(T.dns, "servfail_per_s", 1.0)
    for x in T.externals:
        if rng.random() < 0.3:
            add(x, "latency_p99_ms", 1000.0)
    # the alerting monitor: threshold between the healthy range and what the incident reached
    comp = ctx.plan.alert_component
    x = metrics[comp][alert_metric]
    post = (ctx.mid >= ctx.plan.onset) & (ctx.mid < ctx.plan.onset + 20 * 60)
    thr = alert_threshold(x, pre, post, rng)
    if thr is None:
        raise RuntimeError(f"scenario {ctx.plan.category}/{ctx.plan.seed}: alert on {comp} never fires")
    mons = [m for m in mons if not (m["component"] == comp and m["metric"] == alert_metric)]
    mons.append(monitor_def(comp, alert_metric, thr))
    return mons


def _fire_alert(world: World, plan: Plan, metric: str) -> dict:
    """Evaluate every monitor; the triggering alert is the alerting monitor's first firing after onset."""
    a = plan.alert_component
    fired: list[int] = []
    hists = evaluate(world.monitors, [world.metrics[m["component"]][m["metric"]] for m in world.monitors],
                     world.timestamps, world.step)
    for mon, hist in zip(world.monitors, hists):
        if mon["component"] == a and mon["metric"] == metric:
            amon = mon
            fired = [h["ts"] for h in hist if h["state"] == "ALERT" and h["ts"] > plan.onset]
    if not fired:
        raise RuntimeError(f"scenario {plan.category}/{plan.seed}: alert on {a} never fires")
    value = float(world.metrics[a][metric][(fired[0] - world.step - world.start) // world.step])
    unit = UNITS[metric]
    sev = "P1" if value >= 2 * amon["threshold"] else "P2"
    return {"monitor": amon["name"], "component": a, "metric": metric, "value": round(value, 3),
            "threshold": amon["threshold"], "fired_at": int(fired[0]), "severity": sev,
            "title": f"[{sev}] {a}: {LABELS[metric]} {value:.4g}{unit} above {amon['threshold']:g}{unit}"}


def build_world(plan: Plan, noise_level: float) -> tuple[World, dict[str, list[str]]]:
    """The full replay of one generated scenario. Returns (world, noise kinds -> distractor components)."""
    T = plan.topo
    ts = np.arange(plan.start, plan.end, STEP_S, dtype=np.int64)
    ctx = Ctx(plan=plan, T=T, ts=ts, mid=ts + STEP_S / 2.0, rng=stream(plan.category, plan.seed, "fault"))
    rs = stream(plan.category, plan.seed, "series")
    rl = stream(plan.category, plan.seed, "logs")
    baseline_flows(ctx, rs)
    _log_contexts(ctx, rl)
    APPLY[plan.fault_type](ctx)

    # healthy totals and the fault's added totals propagate separately; the fault is scaled so that the
    # alerting component's symptom clearly leaves its healthy range
    b50, b99, berr = propagate(ctx, ctx.own50, ctx.own99, ctx.ownerr, 0.7, 0.3)
    d50, d99, derr = propagate(ctx, ctx.d50, ctx.d99, ctx.derr, 1.0, 1.0)
    alert_metric = "latency_p99_ms" if SYMPTOM[plan.fault_type] == "latency" else "error_rate_pct"
    a = plan.alert_component
    base_a, delta_a = (b99[a], d99[a]) if alert_metric == "latency_p99_ms" else (berr[a], derr[a])
    s = _scale_to_alert(ctx, alert_metric, base_a, delta_a)
    if s != 1.0:
        for store in (ctx.d50, ctx.d99, ctx.derr):
            for k in store:
                store[k] = store[k] * s
        d50, d99, derr = propagate(ctx, ctx.d50, ctx.d99, ctx.derr, 1.0, 1.0)
    for node, x in b50.items():  # log lines quote whole-request latencies (own time + callees)
        ctx.log_ctx[node]["ms_median"] = mean(x)
    t50 = {k: b50[k] + d50[k] for k in b50}
    t99 = {k: b99[k] + d99[k] for k in b99}
    terr = {k: berr[k] + derr[k] for k in berr}
    metrics, facts = assemble_metrics(ctx, rs, t50, t99, terr, b50)
    for patch in ctx.patches:
        patch(metrics, facts)

    _caller_logs(ctx, rl, d99, derr, b99)
    _routine_logs(ctx, rl, facts)
    _routine_events(ctx, stream(plan.category, plan.seed, "events"))
    world = World(
        start=plan.start, end=plan.end, step=STEP_S,
        components=[dict(c) for c in T.components], edges=list(T.edges),
        metrics={c: {m: np.asarray(v, dtype=np.float64) for m, v in ms.items()} for c, ms in metrics.items()},
        logs=ctx.sink.records(), traces=build_traces(ctx, stream(plan.category, plan.seed, "traces")),
        events=list(ctx.events),
        monitors=_monitors(ctx, stream(plan.category, plan.seed, "monitors"), metrics, alert_metric),
    )
    keep_clean = [plan.cause] + list(T.pods.get(plan.cause, []))
    protect = keep_clean + [a] + sorted(plan.entry)
    noise = inject_noise(world, stream(plan.category, plan.seed, "noise"), noise_level, protect, keep_clean,
                         plan.onset)
    world.metric_units = {m: UNITS[m] for m in sorted({m for ms in world.metrics.values() for m in ms})}
    world.logs.sort(key=LOG_ORDER)
    world.events.sort(key=EVENT_ORDER)
    world.alert = _fire_alert(world, plan, alert_metric)
    return world, noise
