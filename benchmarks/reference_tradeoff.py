"""Top-1 accuracy per category of the reference builds on a suite (default ``core``), one trial each.

Shows the monitor-focus trade-off of ``reference:v2`` (gains where the alert fires on the cause
itself, losses where the cause lies downstream), the change-correlation pattern of ``v3`` and the
symptom-following ``v4``.
Uses only the suite loader, the agent and a top-1 check (no runner):

    python benchmarks/reference_tradeoff.py [--suite core] [--seed 0] [--versions v1,v2,v3,v4] [--per-category N]

``--per-category 30`` evaluates core's 1.0 scenarios (the first 30 of each category of the pool).
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict

from evalkit.agents.reference import ReferenceAgent
from evalkit.suite import load_suite, load_truth, load_world
from evalkit.world.toolbox import Toolbox

#: categories whose alert fires on the cause itself (the rest: the cause lies downstream).
SELF_CATEGORIES = frozenset({"deploy/bad-release", "config/feature-flag", "capacity/traffic-surge",
                             "latency/timeout-chain"})


def evaluate(suite_name: str, versions: list[str], seed: int,
             per_category: int | None = None) -> dict[str, dict[str, list[tuple[bool, bool]]]]:
    """version -> category -> [(top-1 correct, fault type correct)] over the suite's scenarios (the first
    ``per_category`` of each category, in id order, when given)."""
    suite = load_suite(suite_name)
    agents = {v: ReferenceAgent(v) for v in versions}
    out: dict[str, dict[str, list[tuple[bool, bool]]]] = {v: defaultdict(list) for v in versions}
    taken: dict[str, int] = defaultdict(int)
    for sc in suite.scenarios:
        if per_category is not None and taken[sc.category] >= per_category:
            continue
        taken[sc.category] += 1
        world = load_world(sc)
        truth = load_truth(suite, sc.id)
        for v, agent in agents.items():
            tb = Toolbox(world, max_calls=sc.max_tool_calls)
            finding = agent.investigate(world.alert, tb, seed)
            h = finding.hypotheses[0] if finding.hypotheses else None
            out[v][sc.category].append((bool(h and truth.accepts(h.component)),
                                        bool(h and h.fault_type == truth.fault_type)))
    return out


def _pct(xs: list[bool]) -> float:
    return 100.0 * sum(xs) / len(xs) if xs else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--suite", default="core")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--versions", default="v1,v2,v3,v4")
    ap.add_argument("--per-category", type=int, default=None, help="only the first N scenarios of each category")
    args = ap.parse_args(argv)
    versions = args.versions.split(",")
    res = evaluate(args.suite, versions, args.seed, args.per_category)
    cats = sorted({c for v in versions for c in res[v]}, key=lambda c: (c not in SELF_CATEGORIES, c))
    head = f"{'category':28} {'where':10} {'n':>4} " + " ".join(f"{v:>6}" for v in versions)
    extra = [v for v in versions if v != versions[0]]
    head += " " + " ".join(f"{v + '-' + versions[0]:>7}" for v in extra)

    def row(label: str, where: str, n: int, acc: dict[str, float]) -> None:
        print(f"{label:28} {where:10} {n:>4} " + " ".join(f"{acc[v]:6.1f}" for v in versions) + " "
              + " ".join(f"{acc[v] - acc[versions[0]]:+7.1f}" for v in extra))

    print(f"top-1 accuracy (%) on suite {args.suite!r}, seed {args.seed}, one trial per scenario")
    print(head)
    print("-" * len(head))
    for c in cats:
        row(c, "self" if c in SELF_CATEGORIES else "downstream", len(res[versions[0]][c]),
            {v: _pct([t for t, _ in res[v][c]]) for v in versions})
    print("-" * len(head))
    for label, pick in (("self categories", lambda c: c in SELF_CATEGORIES),
                        ("downstream categories", lambda c: c not in SELF_CATEGORIES),
                        ("overall (micro)", lambda c: True)):
        row(label, "", sum(len(res[versions[0]][c]) for c in cats if pick(c)),
            {v: _pct([t for c in cats if pick(c) for t, _ in res[v][c]]) for v in versions})
    macro = {v: sum(_pct([t for t, _ in res[v][c]]) for c in cats) / len(cats) for v in versions}
    print(f"{'overall (macro)':28} {'':10} {'':>4} " + " ".join(f"{macro[v]:6.1f}" for v in versions))
    ft = {v: _pct([f for c in cats for _, f in res[v][c]]) for v in versions}
    print(f"{'fault type correct':28} {'':10} {'':>4} " + " ".join(f"{ft[v]:6.1f}" for v in versions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
