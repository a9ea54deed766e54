"""Run a suite against an agent build: k trials per scenario, bounded concurrency, resumable, scored.

The runner schedules :class:`~evalkit.run.tasks.TrialTask`\\s on an executor, retries infrastructure
failures with backoff, scores each outcome (through the scorer, which alone reads the ground truth),
journals it durably, and assembles the results table, the trajectories and the run metadata.
"""

from __future__ import annotations

import heapq
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from evalkit import __version__
from evalkit.agents.sandbox import label as sandbox_label
from evalkit.errors import UserError, whole_number
from evalkit.run.config import RunConfig
from evalkit.run.executors import Executor, executor_for, prestart
from evalkit.run.journal import Journal, JournalHeader, default_journal_path, journal_folder, record_key
from evalkit.run.seeds import trial_seed
from evalkit.run.spool import TrajectorySpool
from evalkit.run.tasks import TrialOutcome, TrialTask
from evalkit.score.schema import conform, sort_results
from evalkit.suite import Suite, load_suite
from evalkit.vocab import ErrorClass, SandboxMode, Status

_TICK_S = 0.25

#: progress callback: ``progress(done, total)`` after every acknowledged (journaled) batch.
ProgressFn = Callable[[int, int], None]


@dataclass
class RunResult:
    """A finished run: results table (one row per scenario x trial), trajectories and metadata."""

    table: pd.DataFrame
    trajectories: Sequence[dict]  # a run's own: a Trajectories read from disk on demand
    meta: dict
    warnings: list[str] = field(default_factory=list)

    def aggregate(self) -> pd.DataFrame:
        from evalkit.score.aggregate import aggregate

        return aggregate(self.table)


@dataclass
class _Context:
    """Everything constant across the trials of one run (identity columns and scoring)."""

    suite: Any
    build_id: str
    agent_spec: str
    run_seed: int
    scorer: Any
    categories: dict[str, str]

    def record(self, o: TrialOutcome) -> dict:
        """Journal record of one outcome: the scored result row, the trajectory and the raw outcome."""
        outcome = {"status": o.status, "error_class": o.error_class, "error_message": o.error_message,
                   "latency_s": o.latency_s, "seed": o.seed, "attempt": o.attempt}
        trajectory = {"scenario_id": o.scenario_id, "trial": o.trial, "calls": o.calls, "finding": o.finding,
                      "stderr": o.stderr}
        return {"key": record_key(self.suite.hash, o.scenario_id, o.trial, self.build_id),
                "row": self.row(o.scenario_id, o.trial, outcome, trajectory), "trajectory": trajectory,
                "outcome": outcome}

    def row(self, scenario_id: str, trial: int, outcome: dict, trajectory: dict) -> dict:
        row = {
            "suite": self.suite.name, "suite_hash": self.suite.hash, "build_id": self.build_id,
            "agent_spec": self.agent_spec, "run_seed": self.run_seed, "scenario_id": scenario_id,
            "category": self.categories[scenario_id], "trial": trial, "seed": outcome["seed"],
            "status": outcome["status"], "error_class": outcome["error_class"],
            "error_message": outcome["error_message"], "latency_s": outcome["latency_s"],
        }
        scored, failures = self.scorer.score(scenario_id, trajectory["finding"], trajectory["calls"],
                                             outcome["status"])
        row.update(scored)
        if failures:
            text = "; ".join(msg for _, msg in failures)
            row["error_message"] = f"{row['error_message']}; {text}" if row["error_message"] else text
            if row["status"] == Status.OK:
                row["error_class"] = ErrorClass.SCORER_ERROR
        return row


def run_suite(suite, agent_spec: str, config: RunConfig | None = None, *,
              progress: ProgressFn | None = None, scenario_ids: Iterable[str] | None = None,
              limit: int | None = None) -> RunResult:
    """Run every scenario of ``suite`` ``config.trials`` times against ``agent_spec`` and score the trials.

    ``suite`` is a Suite, a path or a bare name (``core``); ``config`` is a :class:`RunConfig` (default:
    ``RunConfig()``). Trial seeds derive from ``config.seed`` and (scenario, trial) only, so two builds run
    with the same seed are paired. ``config.executor`` is ``local`` (threads for ``cmd:``/``openai:``,
    processes otherwise), ``threads``, ``processes``, ``ray`` or an Executor. Finished trials are journaled
    (``config.journal``, default ``.evalkit/journal``); rerunning the same call resumes (``fresh=True``
    discards the journal and starts over). ``config.scorers`` are user scorer specs ``[name=]pkg.mod:fn`` (plus
    the suite's ``[scorers]`` table). ``scenario_ids``: run only these scenarios of the suite (a pool's
    rounds, ``evalkit run --scenario``); ``limit``: at most that many scenarios, one per category in turn
    (``evalkit run --limit``). Raises UserError on bad input or when no trial could be evaluated at all.
    """
    started_at, t0 = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), time.monotonic()
    config = config or RunConfig()
    prestart(config.executor, agent_spec)  # workers start while the suite loads and the build id is taken
    suite_obj = suite if isinstance(suite, Suite) else load_suite(suite)
    scenarios = _select(suite_obj, scenario_ids, limit)
    trials, seed = suite_obj.default_trials if config.trials is None else int(config.trials), config.seed
    if config.trials is None:
        config = config.replace(trials=trials)
    suite_path = str(Path(suite_obj.path).resolve())
    journal_dir = journal_folder(config.journal.dir)
    options = config.agent_kwargs(protect=(suite_path, str(journal_dir.resolve())))
    build_id = agent_build_id(agent_spec, options)
    scorer = _make_scorer(suite_obj, config.scorers)
    ctx = _Context(suite_obj, build_id, agent_spec, seed, scorer, {s.id: s.category for s in scenarios})

    jr = None
    if config.journal.enabled:
        header = JournalHeader(suite_obj.name, suite_obj.hash, build_id, agent_spec, seed, trials)
        jr = Journal(default_journal_path(config.journal.dir, suite_obj.name, build_id, seed, config.journal.name), header,
                     fresh=config.journal.fresh, scenario_ids=[s.id for s in suite_obj.scenarios])
    exe = None
    spool = TrajectorySpool()  # trajectories wait on disk, not in memory, until the run's reader asks
    try:
        wanted = {record_key(suite_obj.hash, s.id, t, build_id) for s in scenarios for t in range(trials)}
        finished = (jr.finished_keys() & wanted) if jr else set()
        resumed = {k: r for k, r in (jr.records.items() if jr else ()) if k in finished}
        tasks = [
            TrialTask.make(suite_path, suite_obj.hash, s.id, t, trial_seed(seed, s.id, t), agent_spec, options)
            for s in scenarios for t in range(trials)
            if record_key(suite_obj.hash, s.id, t, build_id) not in finished
        ]
        total = len(scenarios) * trials
        records = _rescored(resumed, jr, ctx, spool) if jr else {}
        if progress:
            progress(len(records), total)
        if tasks:
            with executor_for(config, agent_spec) as exe:
                _schedule(tasks, exe, ctx, jr, records, spool, total, progress, config)
    finally:
        if jr:
            jr.close()

    ordered = sorted(records.values(), key=lambda r: (r["row"]["scenario_id"], r["row"]["trial"]))
    table = sort_results(conform(pd.DataFrame.from_records([r["row"] for r in ordered])))
    trajectories = spool.view([r["key"] for r in ordered])
    execution = _execution_meta(table, exe, config, agent_spec)
    warnings = _run_warnings(table, execution, jr.warnings if jr else [], scorer, config)
    meta = {
        "suite": suite_obj.name, "suite_version": suite_obj.version, "suite_hash": suite_obj.hash,
        "build_id": build_id, "agent_spec": agent_spec, "trials": trials, "seed": seed,
        "evalkit_version": __version__, "started_at": started_at, "duration_s": time.monotonic() - t0,
        "n_scenarios": len(scenarios), "resumed_trials": len(resumed), "journal": str(jr.path) if jr else None,
        **execution,
        "scorers": [f"{s.name}={s.spec}" for s in scorer.user_scorers], "warnings": warnings,
    }
    if len(table) and meta["infra_errors"] == len(table):
        first = table["error_message"].iloc[0]
        raise UserError.at(f"agent {agent_spec}", "", first,
                           f"all {len(table)} trials failed with infrastructure errors; fix the endpoint/executor and"
                           " rerun the same command (finished trials are kept in the journal)")
    return RunResult(table, trajectories, meta, warnings)


def _execution_meta(table: pd.DataFrame, exe, config: RunConfig, agent_spec: str) -> dict:
    """How the trials ran: error counts, executor, parallelism, timeout and sandbox."""
    return {
        "infra_errors": int((table["status"] == Status.INFRA_ERROR).sum()),
        "agent_errors": int((table["status"] == Status.AGENT_ERROR).sum()), "n_trials": len(table),
        "executor": exe.name if exe is not None else config.executor_name,
        "jobs": getattr(exe, "capacity", config.jobs),
        "timeout_s": float(config.timeout_s), "sandbox": sandbox_label(agent_spec, config.sandbox),
    }


def _schedule(tasks: list[TrialTask], exe: Executor, ctx: _Context, jr: Journal | None, records: dict,
              spool: TrajectorySpool, total: int, progress: ProgressFn | None, config: RunConfig) -> None:
    """Keep the executor full, retry infra failures with exponential backoff, journal and acknowledge; each
    record's trajectory moves to ``spool`` once it is journaled."""
    max_retries, backoff_s = config.retry.max_retries, config.retry.backoff_s
    fsync_interval_s = config.journal.fsync_interval_s
    pending = deque(tasks)
    by_key = {t.key: t for t in tasks}
    busy: dict[str, int] = {}  # scenario id -> trials in flight
    delayed: list[tuple[float, int, TrialTask]] = []
    seq = 0
    acked = len(records)
    last_sync = 0.0
    first: list[TrialOutcome] = []  # the run's first finished trials, for the broken-agent check
    while pending or delayed or exe.in_flight():
        now = time.monotonic()
        while delayed and delayed[0][0] <= now:
            pending.append(heapq.heappop(delayed)[2])
        _refill(exe, pending, busy)
        wait = _TICK_S
        if delayed:
            wait = min(wait, max(0.0, delayed[0][0] - now))
        if jr and jr.unsynced:
            wait = min(wait, max(0.0, last_sync + fsync_interval_s - now))
        if exe.in_flight():
            outcomes = exe.poll(timeout=wait)
        else:  # only waiting for a retry backoff or the next fsync
            outcomes = []
            time.sleep(wait)
        for o in outcomes:
            if busy.get(o.scenario_id, 0) > 1:
                busy[o.scenario_id] -= 1
            else:
                busy.pop(o.scenario_id, None)
        if len(first) >= config.fail_fast and all(o.status != Status.SETUP_ERROR for o in outcomes):
            # past the broken-agent check and no setup error to stop on: the workers start their next trials
            # while these are scored and journaled (an idle worker per hand-off otherwise)
            _refill(exe, pending, busy)
        batch, setup_error = [], None
        for o in outcomes:
            if o.status == Status.SETUP_ERROR:
                setup_error = o
                continue
            task = by_key[o.key]
            if o.status == Status.INFRA_ERROR and task.attempt < max_retries:
                retry = by_key[o.key] = task.retry()
                seq += 1
                heapq.heappush(delayed, (time.monotonic() + backoff_s * (2 ** task.attempt), seq, retry))
                continue
            if len(first) < config.fail_fast:
                first.append(o)
                _fail_fast(first, config.fail_fast, ctx.agent_spec)  # raises before a broken agent's trials are kept
            rec = ctx.record(o)
            records[rec["key"]] = rec
            batch.append(rec)
        if jr is None:
            acked += len(batch)
            for rec in batch:
                spool.put(rec["key"], rec.pop("trajectory"))
        else:
            for rec, line in zip(batch, jr.append(batch, sync=False)):
                del rec["trajectory"]
                spool.put_record(rec["key"], line)  # the journal's line holds the trajectory, encoded once
            if jr.unsynced and time.monotonic() - last_sync >= fsync_interval_s:
                acked += jr.sync()
                last_sync = time.monotonic()
        if progress and (batch or not outcomes):
            progress(acked, total)
        if setup_error is not None:  # finished trials stay journaled; the run stops with the user's error
            if jr:
                jr.sync()
            raise UserError(*setup_error.error_message.splitlines())
    if jr:
        acked += jr.sync()
    if progress:
        progress(acked, total)


def silent_failure(o: TrialOutcome) -> bool:
    """The agent failed without a single tool call or message of its own (it did not report an error): the
    mark of a broken agent or adapter setup rather than a bad answer."""
    return o.status == Status.AGENT_ERROR and not o.calls and o.error_class != ErrorClass.AGENT_ERROR


def _fail_fast(first: list[TrialOutcome], n: int, agent_spec: str) -> None:
    """UserError once the run's first ``n`` finished trials all failed silently (``--fail-fast``)."""
    if len(first) < n or not all(silent_failure(o) for o in first):
        return
    last = first[-1]
    tail = " ".join(last.stderr.split())[-300:] if last.stderr.strip() else "(empty)"
    message = last.error_message.split(": ", 1)[-1][:400]
    raise UserError.at(f"agent {agent_spec}", "", last.error_class,
                       f"the first {n} trials all failed before the agent's first tool call or message ({message}); "
                       f"its stderr ends: {tail}; fix the agent (`evalkit agents check SPEC` shows the protocol "
                       "exchange) or pass --fail-fast 0")


def _refill(exe: Executor, pending: deque, busy: dict[str, int]) -> None:
    """Submit pending trials until the executor is full (see :func:`_next_task` for which one goes next)."""
    while pending and exe.in_flight() < exe.capacity:
        task = _next_task(pending, busy)
        busy[task.scenario_id] = busy.get(task.scenario_id, 0) + 1
        exe.submit(task)


def _next_task(pending: deque, busy: dict[str, int]) -> TrialTask:
    """The first pending task whose scenario is not in flight, so a scenario's trials follow each other on
    the worker that has its world cached (the scan passes at most the in-flight scenarios' own trials).
    Only when every pending trial belongs to a scenario in flight (a run's tail) does a second worker help."""
    for i, task in enumerate(pending):
        if task.scenario_id not in busy:
            del pending[i]
            return task
    return pending.popleft()


def _select(suite_obj, scenario_ids: Iterable[str] | None, limit: int | None = None) -> list:
    """The suite's scenarios, or the named ones (in suite order); an unknown id is the user's error.
    ``limit``: at most that many, taken one per category in turn (so a few trials span the categories)."""
    if limit is not None:
        if not whole_number(limit, 1):
            raise UserError.at("--limit", "", limit, "give a number of scenarios >= 1")
        chosen = _select(suite_obj, scenario_ids)
        turns: defaultdict[str, count] = defaultdict(count)  # each category's own 0, 1, 2, ...
        rank = [next(turns[s.category]) for s in chosen]
        order = sorted(range(len(chosen)), key=lambda i: (rank[i], i))[:limit]
        return [chosen[i] for i in sorted(order)]
    if scenario_ids is None:
        return list(suite_obj.scenarios)
    wanted = set(scenario_ids)
    picked = [s for s in suite_obj.scenarios if s.id in wanted]
    if len(picked) != len(wanted):
        suite_obj.scenario(sorted(wanted - {s.id for s in picked})[0])  # the first unknown id: a UserError
    return picked


def _rescored(resumed: dict[str, dict], jr: Journal, ctx: _Context, spool: TrajectorySpool) -> dict[str, dict]:
    """Journaled trials re-scored from their stored finding and trajectory: same scores, and any scorer added
    since applies to them too. Each journal line moves into ``spool`` as it is, one at a time, and its trajectory
    is read back from there. The new row replaces the journal's in its record, so the two are not held at once."""
    records: dict[str, dict] = {}
    for key, rec in resumed.items():
        spool.put_record(key, jr.line(key))
        tr = spool.read(key)
        rec["row"] = ctx.row(tr["scenario_id"], int(tr["trial"]), rec["outcome"], tr)
        records[key] = rec
    return records


def _run_warnings(table: pd.DataFrame, execution: dict, journal_warnings: Iterable[str], scorer: Any,
                  config: RunConfig) -> list[str]:
    """What the run's reader should know: damaged journal records (quarantined and rerun), failing user
    scorers, an agent that mostly failed, no sandbox, infrastructure errors (the counts and the sandbox come
    from ``execution``, the run's :func:`_execution_meta`)."""
    infra, failed = execution["infra_errors"], execution["agent_errors"]
    warnings = list(journal_warnings)
    warnings += [f"user scorer '{name}' failed on {n} trial(s), its columns are NaN there: {first}"
                 for name, (n, first) in sorted(scorer.failures.items())]
    if len(table) and failed > config.failure_warning_share * len(table):
        top = table.loc[table["status"] == Status.AGENT_ERROR, "error_class"].value_counts()
        warnings.append(f"the agent failed in {failed} of {len(table)} trials (mostly {top.index[0]}): the "
                        "scores say more about the agent's failures than its investigations")
    if execution["sandbox"] == SandboxMode.NONE:
        warnings.append("the agent ran unsandboxed (--sandbox none): it could have read the suite's truth, "
                        "and processes it started may outlive the run")
    if infra:
        warnings.append(f"{infra} trial(s) ended in infrastructure errors after {config.retry.max_retries} "
                        "retries; they are reported apart and not scored (rerun the same command to retry them)")
    return warnings


def agent_build_id(agent_spec: str, options: dict) -> str:
    """Load the agent once in the driver for its build id (workers load their own copies)."""
    from evalkit.agents.spec import load_agent

    agent = load_agent(agent_spec, **options)
    build = str(agent.build)
    close = getattr(agent, "close", None)
    if callable(close):
        close()
    return build


def _make_scorer(suite, scorers: Iterable):
    from evalkit.score.custom import UserScorer, load_scorers, suite_scorer_specs
    from evalkit.score.scorer import TrialScorer

    given = list(scorers or ())
    ready = [s for s in given if isinstance(s, UserScorer)]
    specs = [s for s in given if not isinstance(s, UserScorer)]
    user = ready + load_scorers(specs, where="--scorer")
    names = {s.name for s in user}
    from_suite = [s for s in suite_scorer_specs(suite.path) if s[0] not in names]
    user += load_scorers(from_suite, where=f"{Path(suite.path) / 'suite.toml'} [scorers]")
    return TrialScorer(suite, user)

