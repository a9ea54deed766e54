"""Run a candidate on a scenario pool in rounds until the sequential design has decided every category.

Each round runs the next ``round_size`` scenarios of every open category's draw order (fixed by the run
seed), then judges every cell again (:func:`evalkit.compare.pool_comparison.compare_sequential`). Rounds
share one journal, so an interrupted gate resumes where it stopped and the final run holds every round.
A budget (trials, wall time, cost) ends the rounds early; open categories are then reported as such.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from evalkit.errors import UserError


@dataclass(frozen=True)
class Budget:
    """Caps on what one gate may spend; None = no cap."""

    max_trials: int | None = None
    max_wall_s: float | None = None
    max_cost_usd: float | None = None

    def __post_init__(self) -> None:
        t = self.max_trials
        if t is not None and (isinstance(t, bool) or not isinstance(t, int) or t < 1):
            raise UserError.at("--max-trials", "", t, "give a whole number of trials >= 1, or leave it out")
        for name in ("max_wall_s", "max_cost_usd"):
            v = getattr(self, name)
            if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < v < math.inf):
                raise UserError.at(f"--{name.replace('_', '-')}", "", v, "give a positive number, or leave it out")

    def reached(self, trials: int, wall_s: float, cost_usd: float) -> str | None:
        """Which cap is reached, if any (a sentence for the report), else None."""
        if self.max_trials is not None and trials >= self.max_trials:
            return f"trial budget reached ({trials} of {self.max_trials} trials)"
        if self.max_wall_s is not None and wall_s >= self.max_wall_s:
            return f"time budget reached ({wall_s:.0f} s of {self.max_wall_s:g} s)"
        if self.max_cost_usd is not None and cost_usd >= self.max_cost_usd:
            return f"cost budget reached (${cost_usd:.2f} of ${self.max_cost_usd:.2f})"
        return None


@dataclass
class RoundsResult:
    """The final run (every round), its sequential comparison and what each round did."""

    run: Any
    comparison: Any
    rounds: list[dict] = field(default_factory=list)
    budget_note: str | None = None


def run_rounds(suite_obj: Any, agent: str, baseline_table: Any, policy: Any, *, trials: int = 1, seed: int = 0,
               budget: Budget = Budget(), run_kwargs: dict | None = None,
               clock: Callable[[], float] = time.monotonic, log: Callable[[str], None] | None = None
               ) -> RoundsResult:
    """Rounds of the candidate on ``suite_obj``'s pool, paired to ``baseline_table``; see the module docstring."""
    from evalkit.compare import sequential as seq
    from evalkit.compare.pool_comparison import compare_sequential, pool_orders
    from evalkit.run.runner import run_suite

    say = log or (lambda _msg: None)
    in_suite = {s.id for s in suite_obj.scenarios}
    orders = {c: [s for s in o if s in in_suite] for c, o in pool_orders(baseline_table, seed).items()}
    orders = {c: o for c, o in orders.items() if o}
    if not orders:
        raise UserError.at(str(suite_obj.path), "baseline", "no shared scenarios",
                           "the baseline covers none of this suite's scenarios; promote a baseline of this suite")
    used = {c: 0 for c in orders}
    open_cats = list(orders)
    t0 = clock()
    result = comparison = None
    rounds: list[dict] = []
    note = None
    while open_cats:
        spent = len(result.table) if result is not None else 0
        room = None if budget.max_trials is None else (budget.max_trials - spent) // trials
        batch = seq.next_round(orders, used, open_cats, policy.round_size, room)
        if not batch:
            break
        for c, ids in batch.items():
            used[c] += len(ids)
        ids = [s for c in orders for s in orders[c][:used[c]]]
        result = run_suite(suite_obj, agent, trials=trials, seed=seed, scenario_ids=ids, **(run_kwargs or {}))
        comparison = compare_sequential(result.table, baseline_table, policy, orders)
        stops = comparison.meta["stops"]
        open_cats = [c for c in orders if stops[c] == seq.STOP_OPEN]
        closed = sorted(c for c in batch if stops[c] != seq.STOP_OPEN)
        rounds.append({"round": len(rounds) + 1, "new_scenarios": sum(len(v) for v in batch.values()),
                       "trials": len(result.table), "open": len(open_cats), "closed": closed})
        say(f"round {len(rounds)}: {len(result.table)} trials so far, {len(open_cats)} categor{'y' if len(open_cats) == 1 else 'ies'} open"
            + (f"; stopped: {', '.join(f'{c} ({stops[c]})' for c in closed)}" if closed else ""))
        cost = float(result.table["cost_usd"].fillna(0).sum()) if "cost_usd" in result.table else 0.0
        note = budget.reached(len(result.table), clock() - t0, cost) if open_cats else None
        if note:
            break
    if result is None:
        raise UserError.at("--max-trials", "", budget.max_trials, f"too small for one round of {trials} trial(s)")
    if open_cats:
        note = note or "budget reached"
        comparison = compare_sequential(result.table, baseline_table, policy, orders, stopped_by_budget=True)
        comparison.notes.append(f"{note}: {len(open_cats)} categories still open are reported as they stand")
    comparison.meta["rounds"] = rounds
    return RoundsResult(result, comparison, rounds, note)


__all__ = ["Budget", "RoundsResult", "run_rounds"]
