"""Trace / span summaries: requests walk the call graph from the gateway; span durations and errors follow
each node's own latency and error level at that minute (fault included)."""

from __future__ import annotations

import math

import numpy as np

from evalkit.suite.generator.numeric import clip, mean

from evalkit.suite.generator.context import Ctx

Z99 = 2.326
MAX_SPANS = 12
#: adding and subtracting 1.5 * 2**52 rounds a double in [0, 2**51) to the nearest integer (IEEE arithmetic)
_RINT = 6755399441055744.0


def round2(x: float) -> float:
    """``round(x, 2)``, the same double, at a third of its cost (every span duration is rounded).

    round() takes the multiple of 0.01 nearest the exact ``x`` and returns the double nearest it. Below 1e11,
    ``y = x * 100`` is within 2**-17 of ``100 x``; where ``y`` is more than 1e-4 from a half-integer, ``k``
    (``y`` rounded) is thus the integer nearest ``100 x``, and ``k / 100.0`` (IEEE division) is the double
    nearest ``k / 100``. Near a tie, and outside that range, round() itself decides.
    """
    y = x * 100.0
    k = (y + _RINT) - _RINT
    return k / 100.0 if 0.0 < y < 1e11 and -0.4999 < y - k < 0.4999 else round(x, 2)


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


def _per_trace_rows(ctx: Ctx, names: list[str], minutes: np.ndarray) -> tuple[list, list, list]:
    """Per trace (its minute), the median latency, log-normal sigma and error probability of every node, as
    lists indexed like ``names``: the tables are cut to the sampled minutes and transposed before ``tolist``
    (elementwise, so the same values), which spares converting unsampled minutes and per-span dict lookups."""
    n = ctx.n
    o50 = _stacked(ctx.own50, ctx.d50, names, n)[:, minutes]
    o99 = _stacked(ctx.own99, ctx.d99, names, n)[:, minutes]
    sig = np.log(np.maximum(o99 / np.maximum(o50, 1e-6), 1.01)) / Z99
    perr = clip(_stacked(ctx.ownerr, ctx.derr, names, n)[:, minutes] / 100.0, 0, 1)
    return o50.T.tolist(), sig.T.tolist(), perr.T.tolist()


def build_traces(ctx: Ctx, rng: np.random.Generator, count: int = 60) -> list[dict]:
    """``count`` sampled traces (uniform in time), each a tree of spans with durations in ms.

    Nodes are walked by index into per-trace rows (see :func:`_per_trace_rows`); the gateway span is made
    in the trace loop, so ``visit`` needs no special case for the root's single call.
    """
    T, n = ctx.T, ctx.n
    names = list(ctx.own50)
    index = {k: i for i, k in enumerate(names)}
    entry_rps = np.array([mean(ctx.rps[e]) for e in T.entry])
    times = np.sort(ctx.start + rng.integers(0, n * 60, size=count))
    entries = rng.choice(len(T.entry), size=count, p=entry_rps / entry_rps.sum()).tolist()
    z = rng.standard_normal(count * MAX_SPANS).tolist()
    u = rng.random(count * MAX_SPANS * 4).tolist()
    picks = rng.integers(0, 1 << 30, size=count * MAX_SPANS).tolist()
    ids = rng.integers(0, 2**63 - 1, size=count).tolist()
    med_at, sig_at, perr_at = _per_trace_rows(ctx, names, np.minimum((times - ctx.start) // 60, n - 1))
    ops = [_operations(ctx, k) for k in names]
    children = [[(index[c], min(1.0, T.weights[(k, c)][2]), T.weights[(k, c)][0], T.weights[(k, c)][1])
                 for c in T.calls.get(k, [])] for k in names]
    exp = math.exp
    span_draws = MAX_SPANS * 4
    out: list[dict] = []
    # one trace's state, read and advanced by ``visit`` (cells, not arguments: a visit is the hot call here)
    spans: list = []
    med: list[float] = []
    sig: list[float] = []
    perr: list[float] = []
    draws: list[float] = []
    zb = cursor = 0

    def visit(node: int, parent: int | None, depth: int) -> tuple[float, bool]:
        nonlocal cursor
        idx = len(spans)
        spans.append(None)  # its place in pre-order; the span is made once its duration is known
        dur = med[node] * exp(sig[node] * z[zb + idx])
        cursor += 1
        err = draws[cursor % span_draws] < perr[node]
        if depth < 4:
            for c, p_call, w_lat, w_err in children[node]:
                if len(spans) >= MAX_SPANS:
                    break
                cursor += 1
                if draws[cursor % span_draws] > p_call:
                    continue
                cd, ce = visit(c, idx, depth + 1)
                dur += cd * w_lat
                if ce:
                    cursor += 1
                    if draws[cursor % span_draws] < w_err:
                        err = True
        op = ops[node]
        spans[idx] = {"component": names[node], "operation": op[picks[zb + idx] % len(op)], "parent": parent,
                      "duration_ms": round2(dur), "error": err}
        return dur, err

    gw = T.gateways[1]
    gw_index = index[gw]
    gw_ops = ops[gw_index]
    for k, ts in enumerate(times.tolist()):
        med, sig, perr = med_at[k], sig_at[k], perr_at[k]
        zb = k * MAX_SPANS
        draws = u[k * span_draws:(k + 1) * span_draws]
        # the gateway span: one request to one entry service (no call draw for it, an error always passes)
        spans = [None]
        cursor = 1
        err = draws[1] < perr[gw_index]
        cd, ce = visit(index[T.entry[entries[k]]], 0, 1)
        dur = med[gw_index] * exp(sig[gw_index] * z[zb]) + cd
        if ce:
            err = True
        root = {"component": gw, "operation": gw_ops[picks[zb] % len(gw_ops)], "parent": None,
                "duration_ms": round2(dur), "error": err}
        spans[0] = root
        out.append({"trace_id": f"{ids[k]:016x}", "ts": ts, "root": gw,
                    "duration_ms": root["duration_ms"], "error": err, "spans": spans})
    return out
