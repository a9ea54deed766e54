"""The 14 fault types: each adds its cause's own evidence (metrics, logs, events) and the latency/error
contribution that then propagates up the call graph. Magnitudes are drawn from the fault rng stream."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np

from evalkit.suite.generator.numeric import clip, pick, wiggle
from evalkit.world.noise import AUTHORS
from evalkit.suite.generator.context import Ctx

FLAGS = ["new-pricing-engine", "async-writes", "v2-serializer", "batch-lookups", "smart-retries",
         "grpc-transport", "edge-caching", "fast-path-auth", "parallel-fanout", "compact-payloads"]
TABLES = ["orders", "line_items", "accounts", "sessions", "events", "payments", "inventory_levels", "trips"]

EXC = {
    "java": [("ERROR", "java.lang.NullPointerException: Cannot invoke \"{cls}.getAmount()\" because \"item\" is "
                       "null at com.acme.{pkg}.{cls}Handler.handle({cls}Handler.java:{n3}) [build {version}]"),
             ("ERROR", "Unhandled exception on {method} {route}: java.lang.IllegalStateException: {cls} not "
                       "initialised [build {version}]")],
    "go": [("ERROR", "panic recovered in handler {route}: runtime error: invalid memory address or nil pointer "
                     "dereference [build {version}]"),
           ("ERROR", "{method} {route} 500: decode {cls}: json: cannot unmarshal string into Go struct field "
                     "{cls}.amount of type int64 [build {version}]")],
    "node": [("ERROR", "TypeError: Cannot read properties of undefined (reading 'amount') at {cls}Controller.handle "
                       "(/app/dist/{pkg}.js:{n3}:{n4}) [build {version}]"),
             ("ERROR", "Unhandled promise rejection on {method} {route}: {cls}ValidationError [build {version}]")],
    "python": [("ERROR", "Exception on {method} {route}: KeyError: 'amount' in {pkg}/handlers.py line {n3} "
                         "[build {version}]"),
               ("ERROR", "Traceback: AttributeError: 'NoneType' object has no attribute 'currency' in "
                         "{pkg}/{cls}.py line {n3} [build {version}]")],
}
OOM = {"java": "java.lang.OutOfMemoryError: Java heap space",
       "go": "fatal error: runtime: out of memory",
       "node": "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
       "python": "MemoryError: Unable to allocate array (worker will be restarted)"}
DNS_ERR = {"go": "dial tcp: lookup {lookup} on 10.96.0.10:53: server misbehaving",
           "node": "getaddrinfo EAI_AGAIN {lookup}",
           "java": "java.net.UnknownHostException: {lookup}: Temporary failure in name resolution",
           "python": "socket.gaierror: [Errno -3] Temporary failure in name resolution ({lookup})"}


def _lang(ctx: Ctx, name: str) -> str:
    for c in ctx.T.components:
        if c["name"] == name:
            return c.get("language", "go")
    return "go"


def _version(rng: np.random.Generator) -> tuple[str, str]:
    a, b, c = int(rng.integers(1, 6)), int(rng.integers(0, 40)), int(rng.integers(0, 12))
    return f"v{a}.{b}.{c}", f"v{a}.{b + 1}.0"


def _cls(name: str) -> str:
    return "".join(p.capitalize() for p in name.split("-")[:2])


def _host(ctx: Ctx, node: str) -> str:
    return ctx.T.externals.get(node, f"{node}.prod.svc.cluster.local")


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def bad_deploy(ctx: Ctx) -> None:
    p, rng, S = ctx.plan, ctx.rng, ctx.plan.cause
    deploy_ts = p.onset - int(rng.integers(20, 150))
    old, new = _version(rng)
    sha = f"{int(rng.integers(0, 2**28)):07x}"
    prof = ctx.ramp(p.onset, float(rng.uniform(60, 180)))
    ctx.add(ctx.derr, S, float(rng.uniform(6, 30)) * prof * wiggle(rng, ctx.n, 0.1))
    ctx.add(ctx.d99, S, float(np.mean(ctx.own99[S])) * float(rng.uniform(0.1, 0.5)) * prof)
    ctx.event(deploy_ts, "deploy", S, f"Deployed {S} {new} (was {old})",
              {"version": new, "previous_version": old, "commit": sha, "author": pick(rng, AUTHORS),
               "strategy": "rolling"})
    ctx.event(deploy_ts + 4, "k8s-event", S, f"Scaled up replica set {S}-{sha[:6]}f9 to {len(ctx.T.pods[S])}",
              {"reason": "ScalingReplicaSet"})
    for i, pod in enumerate(ctx.T.pods[S]):
        ctx.sink.add(deploy_ts + 10 + 15 * i, S, "INFO", f"Starting {S} {new} (commit {sha}) on pod {pod}")
    lctx = dict(ctx.log_ctx[S], version=new, cls=_cls(S), pkg=S.replace("-", "_"))
    ctx.log(rng, S, prof * float(rng.uniform(2, 5)), EXC[_lang(ctx, S)], None, lctx)


def bad_feature_flag(ctx: Ctx) -> None:
    p, rng, S = ctx.plan, ctx.rng, ctx.plan.cause
    flag = pick(rng, FLAGS)
    ts = p.onset - int(rng.integers(10, 60))
    pct = pick(rng, [10, 25, 50, 100])
    prof = ctx.ramp(p.onset, 60.0)
    ctx.add(ctx.derr, S, float(rng.uniform(5, 25)) * pct / 100 * 2 * prof * wiggle(rng, ctx.n, 0.1))
    ctx.event(ts, "feature-flag", S, f"Flag '{flag}' changed off -> on ({pct}% of traffic) for {S}",
              {"flag": flag, "from": "off", "to": "on", "rollout_pct": pct, "actor": pick(rng, AUTHORS)})
    running, _ = _version(rng)  # the flag flips a code path inside the build that was already running
    lctx = dict(ctx.log_ctx[S], flag=flag, cls=_cls(S) + "V2", pkg=S.replace("-", "_"), version=running)
    ctx.sink.add(ts + 3, S, "INFO", f"feature flags refreshed: {flag}=true (rollout {pct}%)")
    tmpl = EXC[_lang(ctx, S)] + [("ERROR", "request failed on code path '{flag}': {cls} returned invalid state")]
    ctx.log(rng, S, prof * float(rng.uniform(2, 5)), tmpl, None, lctx)


def traffic_surge(ctx: Ctx) -> None:
    p, rng, S, T = ctx.plan, ctx.rng, ctx.plan.cause, ctx.plan.topo
    factor = float(rng.uniform(3, 6))
    prof = ctx.ramp(p.onset, float(rng.uniform(60, 150)))
    extra = {S: ctx.rps[S] * (factor - 1) * prof}
    for node in T.order():
        if node in extra:
            continue
        add = [extra[c] * T.weights[(c, node)][2] for c in T.callers.get(node, []) if c in extra]
        if add:
            extra[node] = sum(add)
    for node, x in extra.items():
        ctx.rps[node] = ctx.rps[node] + x
    for g in T.gateways:
        ctx.rps[g] = ctx.rps[g] + extra[S]
    ctx.add(ctx.d99, S, float(rng.uniform(400, 1500)) * prof ** 2)
    ctx.add(ctx.d50, S, float(rng.uniform(40, 200)) * prof ** 2)
    ctx.add(ctx.derr, S, float(rng.uniform(2, 10)) * prof ** 2 * wiggle(rng, ctx.n, 0.15))
    n_pods = len(T.pods[S])
    ctx.event(p.onset + int(rng.integers(60, 180)), "scaling", S,
              f"HorizontalPodAutoscaler {S}: scaled from {n_pods} to {n_pods * 3} replicas "
              "(cpu utilisation above target)", {"from": n_pods, "to": n_pods * 3, "reason": "cpu"})
    ctx.event(p.onset + int(rng.integers(240, 420)), "k8s-event", S,
              f"HorizontalPodAutoscaler {S}: desired replicas {n_pods * 5} above max {n_pods * 3}",
              {"reason": "ScalingLimited"})
    tmpl = [("WARN", "request queue depth {n} above soft limit 200"),
            ("ERROR", "503 Service Unavailable: worker pool saturated (in-flight {n})"),
            ("WARN", "rate limiter rejected request from 10.0.{n3}.{n4} (429 Too Many Requests)")]
    ctx.log(rng, S, prof ** 2 * float(rng.uniform(2, 5)), tmpl, None, ctx.log_ctx[S])


def timeout_chain(ctx: Ctx) -> None:
    p, rng, S = ctx.plan, ctx.rng, ctx.plan.cause
    callee = p.params["callee"]
    old = pick(rng, [2000, 3000, 5000])
    new = pick(rng, [100, 150, 200, 250])
    ts = p.onset - int(rng.integers(10, 90))
    prof = ctx.ramp(p.onset, 60.0)
    ctx.add(ctx.derr, S, float(rng.uniform(6, 25)) * prof * wiggle(rng, ctx.n, 0.12))
    key = f"clients.{callee}.timeout_ms"
    ctx.event(ts, "config-change", S, f"{S}: {key} changed {old} -> {new}",
              {"key": key, "from": old, "to": new, "actor": pick(rng, AUTHORS)})
    lctx = dict(ctx.log_ctx[S], callee=callee, to=new)
    tmpl = [("ERROR", "upstream request to {callee} timed out after {to}ms: context deadline exceeded"),
            ("ERROR", "returning 504 Gateway Timeout for {method} {route}: {callee} did not answer within {to}ms"),
            ("WARN", "retry budget exhausted calling {callee} ({route})")]
    ctx.log(rng, S, prof * float(rng.uniform(2, 5)), tmpl, [0.45, 0.45, 0.1], lctx)
    ctx.caller_errors[S] = [("ERROR", "call to {callee} failed: 504 Gateway Timeout ({route})")]


def oom_kill_loop(ctx: Ctx) -> None:
    p, rng, S, T = ctx.plan, ctx.rng, ctx.plan.cause, ctx.plan.topo
    period = float(rng.uniform(180, 420))
    lead = float(rng.uniform(300, 1200))
    pods = T.pods[S]
    kills: dict[str, list[int]] = {}
    down = np.zeros(ctx.n)
    for i, pod in enumerate(pods):
        first = p.onset + int(rng.integers(0, 150)) + i * int(period / max(len(pods), 1) / 2)
        ks = [int(first + j * period * rng.uniform(0.85, 1.15)) for j in range(int((p.end - first) / period) + 1)]
        kills[pod] = [k for k in ks if k < p.end]
        for j, k in enumerate(kills[pod]):
            dur = min(10 * 2 ** j, 150) + 20
            ov = clip(np.minimum(ctx.ts + 60, k + dur) - np.maximum(ctx.ts, k), 0, 60) / 60.0
            down += ov / len(pods)
    lang = _lang(ctx, S)
    prof = ctx.ramp(p.onset, 60.0)
    ctx.add(ctx.derr, S, float(rng.uniform(15, 40)) * np.minimum(1.0, down * 1.5 + 0.15 * prof))
    ctx.add(ctx.d99, S, float(rng.uniform(150, 500)) * prof)

    @ctx.patches.append
    def patch(metrics: dict, facts: dict) -> None:
        limit = facts[S]["mem_limit_mb"]
        mems = []
        for pod in pods:
            mem = metrics[pod]["memory_mb"]
            base = float(np.mean(mem[: max(1, int(0.3 * ctx.n))]))
            ks = kills[pod]
            grow_from = (ks[0] if ks else p.end) - lead
            level = np.array(mem, dtype=float)
            prev = grow_from
            for k in ks + [p.end + period]:
                seg = (ctx.mid >= prev) & (ctx.mid < k)
                span = max(k - prev, 1.0)
                level[seg] = base + (limit - base) * clip((ctx.mid[seg] - prev) / span, 0, 1) ** 1.2
                prev = k
            level = np.minimum(level * wiggle(rng, ctx.n, 0.01), limit * 0.995)
            metrics[pod]["memory_mb"] = level
            count = np.searchsorted(np.asarray(ks, dtype=float), ctx.ts + 60, side="left")
            metrics[pod]["restarts"] = metrics[pod]["restarts"] + count
            mems.append(level / limit * 100)
        metrics[S]["memory_pct"] = np.mean(mems, axis=0)

    for pod, ks in kills.items():
        for j, k in enumerate(ks):
            ctx.event(k, "k8s-event", pod,
                      f"Container {S} in pod {pod} was OOMKilled (exit code 137, memory limit reached)",
                      {"reason": "OOMKilled", "exit_code": 137, "restart_count": j + 1})
            if j >= 1:
                ctx.event(k + 25, "k8s-event", pod, f"Back-off restarting failed container {S} in pod {pod}",
                          {"reason": "BackOff"})
            ctx.sink.add(k - int(rng.integers(1, 20)), S, "ERROR", f"{OOM[lang]} (pod {pod})")
            if lang == "java" and rng.random() < 0.7:
                ctx.sink.add(k - int(rng.integers(30, 90)), S, "WARN",
                             f"GC overhead high: {int(rng.integers(40, 95))}% of time in GC (pod {pod})")
            ctx.sink.add(k + int(rng.integers(15, 60)), S, "INFO", f"Starting {S} (pid 1) on pod {pod}")
    ctx.caller_errors[S] = [
        ("ERROR", "upstream connect error or disconnect/reset before headers calling {callee}: connection refused"),
        ("ERROR", "call to {callee} failed: 503 Service Unavailable (no healthy upstream)"),
        ("WARN", "call to {callee} failed: connection reset by peer; retrying"),
    ]


def cpu_throttling(ctx: Ctx) -> None:
    p, rng, S, T = ctx.plan, ctx.rng, ctx.plan.cause, ctx.plan.topo
    prof = ctx.ramp(p.onset, float(rng.uniform(60, 240)))
    lat = float(rng.uniform(300, 1500))
    ctx.add(ctx.d99, S, lat * prof * wiggle(rng, ctx.n, 0.1))
    ctx.add(ctx.d50, S, lat / 4 * prof)
    ctx.add(ctx.derr, S, float(rng.uniform(0.5, 3)) * prof)
    thr = float(rng.uniform(30, 70))

    @ctx.patches.append
    def patch(metrics: dict, facts: dict) -> None:
        for pod in T.pods[S]:
            m = metrics[pod]
            m["cpu_throttled_pct"] = clip(m["cpu_throttled_pct"] + thr * prof * wiggle(rng, ctx.n, 0.1), 0, 100)
            m["cpu_pct"] = clip(m["cpu_pct"] * (1 - prof) + (96 + rng.normal(0, 1.5, ctx.n)) * prof, 0, 100)
        metrics[S]["cpu_pct"] = np.mean([metrics[pod]["cpu_pct"] for pod in T.pods[S]], axis=0)

    if rng.random() < 0.4:
        old, new = pick(rng, [1000, 2000]), pick(rng, [250, 500])
        ctx.event(p.onset - int(rng.integers(30, 200)), "config-change", S,
                  f"{S}: resources.limits.cpu changed {old}m -> {new}m",
                  {"key": "resources.limits.cpu", "from": f"{old}m", "to": f"{new}m"})
    tmpl = {"node": [("WARN", "event loop lag {ms}ms; request handling slow ({slow}ms on {route})")],
            "java": [("WARN", "request processing slow: {slow}ms on {route}; executor queue size {n3}")],
            "go": [("WARN", "slow handler {route}: {slow}ms (goroutines waiting {n3})")],
            "python": [("WARN", "worker busy: {route} took {slow}ms, {n3} requests queued")]}[_lang(ctx, S)]
    ctx.log(rng, S, prof * float(rng.uniform(0.8, 2.5)), tmpl, None, dict(ctx.log_ctx[S], ms_median=lat / 6))


def slow_query(ctx: Ctx) -> None:
    p, rng, D, T = ctx.plan, ctx.rng, ctx.plan.cause, ctx.plan.topo
    prof = ctx.ramp(p.onset, float(rng.uniform(60, 240)))
    lat = float(rng.uniform(400, 3000))
    ctx.add(ctx.d99, D, lat * prof * wiggle(rng, ctx.n, 0.1))
    ctx.add(ctx.d50, D, lat * float(rng.uniform(0.1, 0.3)) * prof)
    ctx.add(ctx.derr, D, float(rng.uniform(0, 2)) * prof)
    table = pick(rng, TABLES)
    cpu_add = float(rng.uniform(30, 50))

    @ctx.patches.append
    def patch(metrics: dict, facts: dict) -> None:
        metrics[D]["cpu_pct"] = clip(metrics[D]["cpu_pct"] + cpu_add * prof, 0, 99.5)

    engine = next(c.get("engine") for c in T.components if c["name"] == D)
    if engine == "postgresql":
        tmpl = [("WARN", "LOG:  duration: {slow}.{n3} ms  statement: SELECT o.* FROM {table} o WHERE "
                         "o.customer_id = $1 AND o.status = $2 ORDER BY o.created_at DESC LIMIT 50"),
                ("WARN", "LOG:  duration: {slow}.{n3} ms  execute <unnamed>: SELECT count(*) FROM {table} WHERE "
                         "updated_at > $1")]
    else:
        tmpl = [("WARN", "# Query_time: {slow_s}  Lock_time: 0.000120 Rows_sent: 50  Rows_examined: {n}000  "
                         "SELECT * FROM {table} WHERE customer_id = ? ORDER BY created_at DESC LIMIT 50")]
    lctx = dict(ctx.log_ctx[D], table=table, ms_median=lat / 10, slow_s=f"{lat / 1000:.3f}")
    ctx.log(rng, D, prof * float(rng.uniform(2, 5)), tmpl, None, lctx)
    if rng.random() < 0.3:
        ctx.event(p.onset - int(rng.integers(60, 600)), "config-change", D,
                  f"{D}: schema migration applied (drop index idx_{table}_customer_id)",
                  {"migration": f"drop_idx_{table}_customer_id"})
    ctx.caller_slow[D] = [("WARN", "query on {callee} took {slow}ms ({route})")]
    ctx.caller_errors[D] = [("ERROR", "query on {callee} failed: canceling statement due to statement timeout")]


def db_pool_exhaustion(ctx: Ctx) -> None:
    p, rng, S = ctx.plan, ctx.rng, ctx.plan.cause
    db = p.params["db"]
    lead = float(rng.uniform(120, 600))
    prof = ctx.ramp(p.onset, 60.0)
    wait = pick(rng, [1000, 2000, 3000, 5000])
    ctx.add(ctx.d99, S, wait * float(rng.uniform(0.6, 1.0)) * prof)
    ctx.add(ctx.d50, S, wait * float(rng.uniform(0.1, 0.3)) * prof)
    ctx.add(ctx.derr, S, float(rng.uniform(6, 30)) * prof * wiggle(rng, ctx.n, 0.12))
    climb = ctx.ramp(p.onset - lead, lead)

    pool_max = ctx.static[S]["pool_max"]

    @ctx.patches.append
    def patch(metrics: dict, facts: dict) -> None:
        m = metrics[S]
        m["db_pool_in_use_pct"] = clip(m["db_pool_in_use_pct"] * (1 - climb) + 100 * climb, 0, 100)
        add = (m["db_pool_in_use_pct"] - facts[S]["pool_base"]) / 100 * pool_max * len(ctx.T.pods[S])
        metrics[db]["connections_active"] = np.round(metrics[db]["connections_active"] + np.maximum(add, 0) * 0.5)

    if _lang(ctx, S) == "java":
        t = ("ERROR", "HikariPool-1 - Connection is not available, request timed out after {wait}ms "
                      "(total={pool_max}, active={pool_max}, idle=0, waiting={n3}) [{db}]")
    else:
        t = ("ERROR", "timeout acquiring connection from pool for {db} after {wait}ms (active={pool_max}, "
                      "idle=0, waiting={n3})")
    lctx = dict(ctx.log_ctx[S], wait=wait, db=db, pool_max=pool_max)
    ctx.log(rng, S, prof * float(rng.uniform(2, 6)),
            [t, ("ERROR", "{method} {route} failed: could not get a database connection within {wait}ms")],
            [0.75, 0.25], lctx)
    stats = ("DEBUG", "connection pool stats pool={db} active={pool_max} idle=0 max={pool_max} waiting={n3}")
    ctx.log(rng, S, climb * 0.5, [stats], None, lctx)


def kafka_rebalance_storm(ctx: Ctx) -> None:
    p, rng, G, T = ctx.plan, ctx.rng, ctx.plan.cause, ctx.plan.topo
    topic, C = T.groups[G]
    prof = ctx.ramp(p.onset, 60.0)
    stall = float(rng.uniform(0.6, 0.95))
    rate = float(rng.uniform(2, 8))
    ctx.add(ctx.d99, C, float(rng.uniform(300, 2000)) * prof * wiggle(rng, ctx.n, 0.1))
    ctx.add(ctx.derr, C, float(rng.uniform(1, 6)) * prof)

    @ctx.patches.append
    def patch(metrics: dict, facts: dict) -> None:
        g = metrics[G]
        inflow = metrics[topic]["messages_in_per_s"]
        g["messages_consumed_per_s"] = g["messages_consumed_per_s"] * (1 - stall * prof)
        g["consumer_lag"] = np.round(g["consumer_lag"] + np.cumsum(inflow * stall * prof * 60))
        g["rebalances_per_min"] = g["rebalances_per_min"] + rng.poisson(rate * prof).astype(float)

    parts = next(c.get("partitions", 12) for c in T.components if c["name"] == topic)
    lctx = dict(ctx.log_ctx[C], group=G, topic=topic, part=[str(i) for i in range(parts)], client=T.pods[C])
    tmpl = [("INFO", "[Consumer clientId={client}, groupId={group}] Revoking previously assigned partitions "
                     "[{topic}-{part}, {topic}-{part}]"),
            ("INFO", "[Consumer clientId={client}, groupId={group}] (Re-)joining group"),
            ("WARN", "[Consumer clientId={client}, groupId={group}] Attempt to heartbeat failed since group "
                     "is rebalancing"),
            ("WARN", "[Consumer clientId={client}, groupId={group}] consumer poll timeout has expired. This "
                     "means the time between subsequent calls to poll() was longer than the configured "
                     "max.poll.interval.ms; sending LeaveGroup request to coordinator")]
    ctx.log(rng, C, prof * rate * 1.5, tmpl, [0.3, 0.3, 0.25, 0.15], lctx)
    if rng.random() < 0.5:
        pod = T.pods[C][0]
        for k in range(int(rng.integers(1, 4))):
            ctx.event(p.onset + 60 + 240 * k + int(rng.integers(0, 60)), "k8s-event", pod,
                      f"Liveness probe failed for {pod}: HTTP probe failed with statuscode: 503",
                      {"reason": "Unhealthy"})
    ctx.caller_slow[C] = [("WARN", "stale read from {callee}: projection lag {n}ms, retrying ({route})")]


def packet_loss(ctx: Ctx) -> None:
    p, rng, N = ctx.plan, ctx.rng, ctx.plan.cause
    prof = ctx.ramp(p.onset, float(rng.uniform(30, 180)))
    loss = float(rng.uniform(3, 15))
    lat = float(rng.uniform(300, 1200))
    for s, share in p.entry.items():
        ctx.add(ctx.d99, s, lat * share * prof * wiggle(rng, ctx.n, 0.12))
        ctx.add(ctx.d50, s, lat * share / 6 * prof)
        ctx.add(ctx.derr, s, float(rng.uniform(1, 5)) * share * prof)
        tmpl = [("WARN", "read tcp {ip}:{port}->{peer}:8080: i/o timeout (retrying)"),
                ("WARN", "request to downstream took {slow}ms after TCP retransmissions")]
        ctx.log(rng, s, prof * 2.0 * share, tmpl, None, ctx.log_ctx[s])
        ctx.caller_errors[s] = [("WARN", "retrying request to {callee} after i/o timeout (attempt 2/3)"),
                                ("ERROR", "call to {callee} failed: context deadline exceeded")]

    @ctx.patches.append
    def patch(metrics: dict, facts: dict) -> None:
        metrics[N]["net_retransmit_pct"] = metrics[N]["net_retransmit_pct"] + loss * prof * wiggle(rng, ctx.n, 0.15)


def dns_failure(ctx: Ctx) -> None:
    p, rng, T = ctx.plan, ctx.rng, ctx.plan.topo
    prof = ctx.ramp(p.onset, float(rng.uniform(30, 120)))
    lookups: list[str] = []
    for v in sorted(p.entry):
        targets = [_host(ctx, c) for c in T.calls.get(v, [])]
        lookups += targets
        ctx.add(ctx.derr, v, float(rng.uniform(5, 25)) * prof * wiggle(rng, ctx.n, 0.15))
        tmpl = [("ERROR", DNS_ERR[_lang(ctx, v)]), ("ERROR", "{method} {route} failed: " + DNS_ERR[_lang(ctx, v)])]
        ctx.log(rng, v, prof * float(rng.uniform(2, 5)), tmpl, None, dict(ctx.log_ctx[v], lookup=targets))
    servfail = float(rng.uniform(5, 50))
    lat = float(rng.uniform(100, 2000))

    @ctx.patches.append
    def patch(metrics: dict, facts: dict) -> None:
        m = metrics[T.dns]
        m["servfail_per_s"] = m["servfail_per_s"] + servfail * prof * wiggle(rng, ctx.n, 0.2)
        m["latency_p99_ms"] = m["latency_p99_ms"] + lat * prof

    tmpl = [("ERROR", "[ERROR] plugin/errors: 2 {lookup}. A: read udp 10.244.{n3}.{n4}:{port}->10.0.0.2:53: "
                      "i/o timeout"),
            ("ERROR", "[ERROR] plugin/errors: 2 {lookup}. AAAA: read udp 10.244.{n3}.{n4}:{port}->10.0.0.2:53: "
                      "i/o timeout"),
            ("WARN", "[WARNING] plugin/health: Local health request to \"http://:8080/health\" took more than 1s")]
    ctx.log(rng, T.dns, prof * float(rng.uniform(3, 8)), tmpl, [0.45, 0.35, 0.2], {"lookup": lookups})
    if rng.random() < 0.5:
        ctx.event(p.onset - int(rng.integers(20, 150)), "config-change", T.dns,
                  "ConfigMap kube-system/coredns updated (Corefile: forward . 10.0.0.2)",
                  {"key": "Corefile", "actor": pick(rng, AUTHORS)})


def disk_full(ctx: Ctx) -> None:
    p, rng, D, T = ctx.plan, ctx.rng, ctx.plan.cause, ctx.plan.topo
    prof = ctx.ramp(p.onset, 30.0)
    ctx.add(ctx.derr, D, float(rng.uniform(10, 40)) * prof * wiggle(rng, ctx.n, 0.12))
    ctx.add(ctx.d99, D, float(rng.uniform(20, 200)) * prof)
    start_pct = float(rng.uniform(86, 94))

    @ctx.patches.append
    def patch(metrics: dict, facts: dict) -> None:
        m = metrics[D]
        growth = clip((ctx.mid - ctx.start) / max(p.onset - ctx.start, 1), 0, 1)
        m["disk_used_pct"] = np.minimum(100.0, start_pct + (100 - start_pct) * growth ** 1.5)
        m["queries_per_s"] = m["queries_per_s"] * (1 - 0.3 * prof)

    engine = next(c.get("engine") for c in T.components if c["name"] == D)
    if engine == "postgresql":
        tmpl = [("ERROR", "PANIC:  could not write to file \"pg_wal/xlogtemp.{n}\": No space left on device"),
                ("ERROR", "ERROR:  could not extend file \"base/16384/{n}{n2}\": No space left on device"),
                ("INFO", "LOG:  WAL writer process (PID {n}) was terminated by signal 6: Aborted")]
        ctx.caller_errors[D] = [("ERROR", "write to {callee} failed: could not extend file: No space left on "
                                          "device (SQLSTATE 53100)")]
    else:
        tmpl = [("ERROR", "[ERROR] [MY-011012] [InnoDB] Write to file ./{dbname}/{table}.ibd failed at offset "
                          "{n}{n2}. 16384 bytes should have been written, only 0 were written. OS error 28 "
                          "(No space left on device)"),
                ("ERROR", "[ERROR] Disk is full writing './binlog.000{n3}' (OS errno 28 - No space left on device)")]
        ctx.caller_errors[D] = [("ERROR", "write to {callee} failed: Error 1114 (HY000): The table is full")]
    ctx.log(rng, D, prof * float(rng.uniform(2, 5)), tmpl, None, dict(ctx.log_ctx[D], table=pick(rng, TABLES)))


def third_party_timeout(ctx: Ctx) -> None:
    p, rng, E = ctx.plan, ctx.rng, ctx.plan.cause
    prof = ctx.ramp(p.onset, float(rng.uniform(60, 180)))
    lat = float(rng.uniform(1500, 8000))
    ctx.add(ctx.d99, E, lat * prof * wiggle(rng, ctx.n, 0.1))
    ctx.add(ctx.d50, E, lat * 0.4 * prof)
    ctx.add(ctx.derr, E, float(rng.uniform(3, 15)) * prof)
    host = ctx.T.externals[E]
    ctx.caller_errors[E] = [("ERROR", "timeout calling https://" + host + "/v1/{resource}: context deadline "
                                      "exceeded after {to}ms")]
    ctx.caller_slow[E] = [("WARN", "slow response from " + host + ": {slow}ms")]


def cert_expiry(ctx: Ctx) -> None:
    p, rng, E = ctx.plan, ctx.rng, ctx.plan.cause
    prof = ctx.ramp(p.onset, 30.0)
    ctx.add(ctx.derr, E, float(rng.uniform(60, 100)) * prof)
    host = ctx.T.externals[E]
    ctx.caller_errors[E] = [
        ("ERROR", "x509: certificate has expired or is not yet valid: current time {now} is after "
                  + _iso(p.onset) + " (https://" + host + ")"),
        ("ERROR", "TLS handshake with " + host + ":443 failed: certificate expired"),
    ]


#: fault type -> the function that adds it (named after it)
APPLY = {f.__name__: f for f in (bad_deploy, bad_feature_flag, traffic_surge, timeout_chain, oom_kill_loop,
                                 cpu_throttling, slow_query, db_pool_exhaustion, kafka_rebalance_storm, packet_loss,
                                 dns_failure, disk_full, third_party_timeout, cert_expiry)}
