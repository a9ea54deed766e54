"""Run a candidate on a scenario pool in rounds until the sequential design has decided every category.

Each round runs the next ``round_size`` scenarios of every open category's draw order (fixed by the run
seed), then judges every cell again (:func:`evalkit.compare.pool_comparison.compare_sequential`). Rounds
share one journal (a temporary one when the run keeps none), so each round runs only its new scenarios, an
interrupted gate resumes where it stopped and the final run holds every round.
The budget of ``config.sequential`` (trials, wall time, cost) ends the rounds early; open categories are
then reported as they stand. Without ``config.trials`` each scenario runs once: a new scenario carries more
information about a category than another trial of one already seen.
"""

from __future__ import annotations

import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Iterator

from evalkit.errors import UserError
from evalkit.run.config import JournalConfig, RunConfig, SequentialConfig
from evalkit.vocab import Stop


@dataclass
class RoundsResult:
    """The final run (every round), its sequential comparison and what each round did."""

    run: Any
    comparison: Any
    rounds: list[dict] = field(default_factory=list)


def run_rounds(suite_obj: Any, agent: str, baseline_table: Any, policy: Any, config: RunConfig | None = None, *,
               progress: Callable[[int, int], None] | None = None, clock: Callable[[], float] = time.monotonic,
               log: Callable[[str], None] | None = None) -> RoundsResult:
    """Rounds of the candidate on ``suite_obj``'s pool, paired to ``baseline_table``; see the module docstring."""
    from evalkit.compare.pool_comparison import pool_orders
    from evalkit.run.executors import executor_for
    from evalkit.run.runner import run_suite

    config = config or RunConfig()
    if config.trials is None:
        config = config.replace(trials=1)
    orders = pool_orders(baseline_table, config.seed, keep={s.id for s in suite_obj.scenarios})
    if not orders:
        raise UserError.at(str(suite_obj.path), "baseline", "no shared scenarios",
                           "the baseline covers none of this suite's scenarios; promote a baseline of this suite")
    kept = config.journal.enabled
    # one executor (worker processes, a Ray connection) for every round, closed at the end
    with executor_for(config, agent) as exe, _rounds_journal(config.replace(executor=exe)) as config:
        # every round resumes the earlier rounds' trials from the journal; only the first may discard it (--fresh)
        configs = iter([config])
        resume = config.replace(journal=replace(config.journal, fresh=False))
        ran = [0]  # trials this gate ran itself; the others came from a journal written before it began

        def run_round(ids: list[str]) -> Any:
            result = run_suite(suite_obj, agent, next(configs, resume), progress=progress, scenario_ids=ids)
            ran[0] += result.meta["n_trials"] - result.meta["resumed_trials"]
            return result

        out = play_rounds(orders, baseline_table, policy, run_round, trials=int(config.trials),
                          budget=config.sequential, clock=clock, log=log)
    out.run.meta["resumed_trials"] = out.run.meta["n_trials"] - ran[0]  # not the earlier rounds' own trials
    if not kept:
        out.run.meta["journal"] = None  # the temporary one is gone
    return out


def play_rounds(orders: dict[str, list[str]], baseline_table: Any, policy: Any,
                run_ids: Callable[[list[str]], Any], *, trials: int = 1, budget: SequentialConfig | None = None,
                clock: Callable[[], float] = time.monotonic, log: Callable[[str], None] | None = None
                ) -> RoundsResult:
    """The sequential design's loop, whatever produces the candidate: ``run_ids(ids)`` returns the candidate's
    results (a RunResult or a results DataFrame) on every scenario in ``ids`` (all rounds so far, in draw
    order); the gate runs the agent, a simulation reads stored results. ``trials`` per scenario count
    against ``budget``."""
    from evalkit.compare import sequential as seq
    from evalkit.compare.pool_comparison import compare_sequential

    say = log or (lambda _msg: None)
    budget = budget or SequentialConfig()
    used = {c: 0 for c in orders}
    open_cats = list(orders)
    t0 = clock()
    result = comparison = table = None
    rounds: list[dict] = []
    note = None
    while open_cats:
        spent = len(table) if table is not None else 0
        room = None if budget.max_trials is None else (budget.max_trials - spent) // trials
        batch = seq.next_round(orders, used, open_cats, policy.round_size, room)
        if not batch:
            break
        for c, ids in batch.items():
            used[c] += len(ids)
        result = run_ids([s for c in orders for s in orders[c][:used[c]]])
        table = getattr(result, "table", result)
        comparison = compare_sequential(table, baseline_table, policy, orders)
        stops = comparison.meta["stops"]
        open_cats = [c for c in orders if stops[c] == Stop.OPEN]
        closed = sorted(c for c in batch if stops[c] != Stop.OPEN)
        rounds.append({"round": len(rounds) + 1, "new_scenarios": sum(len(v) for v in batch.values()),
                       "trials": len(table), "open": len(open_cats), "closed": closed})
        say(f"round {len(rounds)}: {len(table)} trials so far, {_categories(len(open_cats))} open"
            + (f"; stopped: {', '.join(f'{c} ({stops[c]})' for c in closed)}" if closed else ""))
        cost = float(table["cost_usd"].fillna(0).sum()) if "cost_usd" in table else 0.0
        note = budget.reached(len(table), clock() - t0, cost) if open_cats else None
        if note:
            break
    if table is None:
        raise UserError.at("--max-trials", "", budget.max_trials, f"too small for one round of {trials} trial(s)")
    if open_cats:
        note = note or "budget reached"
        comparison = compare_sequential(table, baseline_table, policy, orders, stopped_by_budget=True)
        comparison.notes.append(f"{note}: {_categories(len(open_cats))} still open, reported as they stand")
    comparison.meta["rounds"] = rounds
    return RoundsResult(result, comparison, rounds)


@contextmanager
def _rounds_journal(config: RunConfig) -> Iterator[RunConfig]:
    """``config`` with a journal the rounds share: a run without one (``NO_JOURNAL``) gets a temporary one, so
    that a round runs only its new scenarios and not every earlier round's again."""
    if config.journal.enabled:
        yield config
        return
    with tempfile.TemporaryDirectory(prefix="evalkit-rounds-") as tmp:
        yield config.replace(journal=JournalConfig(dir=Path(tmp), fresh=True))


def _categories(n: int) -> str:
    return f"{n} categor{'y' if n == 1 else 'ies'}"


__all__ = ["RoundsResult", "play_rounds", "run_rounds"]
