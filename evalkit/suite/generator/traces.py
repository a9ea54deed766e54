"""Trace / span summaries: requests walk the call graph from the gateway; span durations and errors follow
each node's own latency and error level at that minute (fault included)."""

from __future__ import annotations

import math

import numpy as np

from evalkit.suite.generator.numeric import clip, mean

from evalkit.suite.generator.context import Ctx

Z99 = 2.326
MAX_SPANS = 12


def _operations(ctx: Ctx, node: str) -> list[str]:
    kind = ctx.T.kind[node]
    if kind == "database":
        table = node.replace("-db", "")
        return [f"SELECT {table}", f"INSERT {table}", f"UPDATE {table}", f"SELECT {table}"]
    if kind == "cache":
        return ["GET", "MGET", "SET", "HGET"]
    if kind == "external":
        return [f"POST https://{ctx.T.externals[node]}/v1"]
    return [m + r for r in ctx.log_ctx[node]["route"] for m in ("GET ", "POST ")]


def _stacked(own: dict[str, np.ndarray], fault: dict[str, np.ndarray], nodes: list[str], n: int) -> np.ndarray:
    """One row per node: ``own[k] + fault.get(k, 0.0)``, as one matrix sum (elementwise, so the same values as
    row by row) to spare the per-node numpy calls of the trace tables."""
    add = np.zeros((len(nodes), n))
    for i, k in enumerate(nodes):
        if k in fault:
            add[i] = fault[k]
    return np.array([own[k] for k in nodes]) + add


def build_traces(ctx: Ctx, rng: np.random.Generator, count: int = 60) -> list[dict]:
    """``count`` sampled traces (uniform in time), each a tree of spans with durations in ms."""
    T, n = ctx.T, ctx.n
    gw = T.gateways[1]
    nodes = list(ctx.own50)
    o50, o99 = _stacked(ctx.own50, ctx.d50, nodes, n), _stacked(ctx.own99, ctx.d99, nodes, n)
    med = dict(zip(nodes, o50.tolist()))
    sig = dict(zip(nodes, (np.log(np.maximum(o99 / np.maximum(o50, 1e-6), 1.01)) / Z99).tolist()))
    perr = dict(zip(nodes, clip(_stacked(ctx.ownerr, ctx.derr, nodes, n) / 100.0, 0, 1).tolist()))
    ops = {k: _operations(ctx, k) for k in nodes}
    children = {k: [(c, min(1.0, T.weights[(k, c)][2]), T.weights[(k, c)][0], T.weights[(k, c)][1])
                    for c in T.calls.get(k, [])] for k in nodes}
    entry_rps = np.array([mean(ctx.rps[e]) for e in T.entry])
    times = np.sort(ctx.start + rng.integers(0, n * 60, size=count)).tolist()
    entries = rng.choice(len(T.entry), size=count, p=entry_rps / entry_rps.sum()).tolist()
    z = rng.standard_normal(count * MAX_SPANS).tolist()
    u = rng.random(count * MAX_SPANS * 4).tolist()
    picks = rng.integers(0, 1 << 30, size=count * MAX_SPANS).tolist()
    ids = rng.integers(0, 2**63 - 1, size=count).tolist()
    span_draws = MAX_SPANS * 4
    out: list[dict] = []
    # one trace's state, read and advanced by ``visit`` (cells, not arguments: a visit is the hot call here)
    spans: list = []
    minute = zb = ub = cursor = 0

    def visit(node: str, parent: int | None, depth: int, only: list | None = None) -> tuple[float, bool]:
        nonlocal cursor
        idx = len(spans)
        spans.append(None)  # its place in pre-order; the span is made once its duration is known
        dur = med[node][minute] * math.exp(sig[node][minute] * z[zb + idx])
        cursor += 1
        err = u[ub + cursor % span_draws] < perr[node][minute]
        if depth < 4:
            for c, p_call, w_lat, w_err in (only or children[node]):
                if len(spans) >= MAX_SPANS:
                    break
                if only is None:
                    cursor += 1
                    if u[ub + cursor % span_draws] > p_call:
                        continue
                cd, ce = visit(c, idx, depth + 1)
                dur += cd * w_lat
                if ce:
                    cursor += 1
                    if u[ub + cursor % span_draws] < w_err:
                        err = True
        op = ops[node]
        spans[idx] = {"component": node, "operation": op[picks[zb + idx] % len(op)], "parent": parent,
                      "duration_ms": round(dur, 2), "error": err}
        return dur, err

    for k in range(count):
        minute = min((times[k] - ctx.start) // 60, n - 1)
        spans = []
        zb, ub, cursor = k * MAX_SPANS, k * span_draws, 0
        visit(gw, None, 0, only=[(T.entry[entries[k]], 1.0, 1.0, 1.0)])  # one request, one entry service
        out.append({"trace_id": f"{ids[k]:016x}", "ts": times[k], "root": gw,
                    "duration_ms": spans[0]["duration_ms"], "error": spans[0]["error"], "spans": spans})
    return out
