"""The investigation strategy of the MCP example agent, independent of how tools are reached (stdlib only).

A small but genuine investigator: walk the dependencies below the alerting component breadth-first (what it
calls, consumes, runs on, and its pods), query each component's most telling metric, score how far the
series moved after the alert against its own calm part (median / MAD), and blame the most shifted
component (the deeper one on a near tie), with a fault type guessed from the metric's name.

``investigate(call, trial)`` takes ``call(tool, args) -> (result, refs)`` (``result`` None when the tool
reported an error) and the trial (alert, seed, max_calls) and returns the finding to submit.
"""

from statistics import median

#: metric-name keywords, most telling first, and the fault type each suggests.
METRIC_HINTS = [("restart", "oom_kill_loop"), ("memory", "oom_kill_loop"), ("throttl", "cpu_throttling"),
                ("query_time", "slow_query"), ("pool", "db_pool_exhaustion"), ("lag", "kafka_rebalance_storm"),
                ("retransmit", "packet_loss"), ("dns", "dns_failure"), ("disk", "disk_full"),
                ("cert", "cert_expiry"), ("error", None), ("latency", "timeout_chain"), ("cpu", None)]
MAX_COMPONENTS = 6
CALLS_PER_COMPONENT = 2   # list_metrics + query_metric


def metric_rank(name):
    for i, (word, _) in enumerate(METRIC_HINTS):
        if word in name:
            return i
    return len(METRIC_HINTS)


def fault_for(metric):
    return next((fault for word, fault in METRIC_HINTS if word in metric and fault), None)


def shift(series, fired_at):
    """How far the series moved after the alert fired, in robust standard deviations of its calm part."""
    pts = [(t, v) for t, v in zip(series["timestamps"], series["values"]) if v is not None]
    calm = [v for t, v in pts if t < fired_at - 300]
    hot = [v for t, v in pts if t >= fired_at - 120]
    if len(calm) < 4 or len(hot) < 2:
        return 0.0
    m = median(calm)
    mad = median(abs(v - m) for v in calm) * 1.4826
    return min(abs(median(hot) - m) / max(mad, abs(m) * 0.02, 1e-6), 1000.0)


def dependencies(edges):
    deps = {}
    for e in edges:
        a, b = (e["target"], e["source"]) if e["relation"] == "instance-of" else (e["source"], e["target"])
        deps.setdefault(a, []).append(b)
    return deps


def investigate(call, trial):
    alert = trial["alert"]
    origin, fired_at = alert.get("component"), int(alert.get("fired_at") or 0)
    budget = int(trial.get("max_calls") or 60) - 1  # keep one call back: submit_finding is not a tool call
    topo, _ = call("get_topology", {})
    budget -= 1
    deps = dependencies((topo or {}).get("edges", []))
    order, seen = [origin], {origin}
    for comp in order:  # breadth-first below the alerting component
        for d in sorted(deps.get(comp, [])):
            if d not in seen:
                seen.add(d)
                order.append(d)
    scored = []
    for depth, comp in enumerate(order[:MAX_COMPONENTS]):
        if budget < CALLS_PER_COMPONENT:
            break
        metrics, refs = call("list_metrics", {"component": comp})
        budget -= 1
        if not metrics:
            continue
        metric = min((m["metric"] for m in metrics), key=lambda n: (metric_rank(n), n))
        series, more = call("query_metric", {"component": comp, "metric": metric})
        budget -= 1
        if series:
            scored.append((shift(series, fired_at), depth, comp, metric, list(refs) + list(more)))
    scored.sort(key=lambda s: (-round(s[0], 1), -s[1], s[2]))
    if not scored:
        return {"hypotheses": [{"component": origin, "confidence": 0.1}], "summary": "no signal to go on"}
    hyps = [{"component": comp, "fault_type": fault_for(metric), "confidence": round(z / (z + 5.0), 3),
             "evidence": refs} for z, _, comp, metric, refs in scored[:3]]
    z, _, comp, metric, _ = scored[0]
    return {"hypotheses": hyps, "summary": f"{comp}: {metric} moved {z:.1f} robust sd after the alert on {origin}"}
