"""The pre-merge gate as one API call: run the build, log it, resolve the baseline, compare, report.

``evalkit gate`` is a thin wrapper over :func:`run_gate`; notebooks and other CI glue can call it directly.
Exit codes: 0 no regression, 1 regression, 2 could not evaluate (raised as UserError before anything is
half-done: the suite, policy and baseline are resolved before the candidate runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from evalkit.atomic import require_writable
from evalkit.errors import UserError
from evalkit.gate_outcome import exit_code_of, gate_tags
from evalkit.run.config import RunConfig
from evalkit.vocab import Design, ReportCommand, Role
from evalkit.workspace import DEFAULT_ALIAS, REPORTS_DIR, Workspace


@dataclass
class GateResult:
    """Everything a gate produced: the comparison, the candidate run, where things were written."""

    comparison: Any
    run: Any
    logged: Any
    baseline_source: str
    reports: dict[str, Path]
    context: Any
    messages: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return exit_code_of(self.comparison.verdict)

    def to_dict(self) -> dict:
        from evalkit.report.files import report_json

        return {**report_json(self.comparison, self.context), "exit_code": self.exit_code,
                "baseline_source": self.baseline_source, "candidate_run_id": getattr(self.logged, "run_id", None),
                "queued_in_outbox": bool(getattr(self.logged, "queued", False)),
                "reports": {k: str(v) for k, v in self.reports.items()}, "run_meta": self.run.meta,
                "messages": list(self.messages)}


def run_gate(suite: str | Path, agent: str, config: RunConfig | None = None, *, baseline_alias: str = DEFAULT_ALIAS,
             tracking_uri: str | None = None, output_dir: str | Path = REPORTS_DIR,
             policy: str | Path | None = None, baselines_dir: str | Path | None = None, pr: str | None = None,
             use_outbox: bool = True, progress: Callable[[int, int], None] | None = None,
             log: Callable[[str], None] | None = None) -> GateResult:
    """Gate ``agent`` on ``suite`` (run with ``config``) against the baseline ``baseline_alias``; see the module
    docstring.

    A pool suite is gated sequentially (rounds drawn from the pool, one trial per scenario unless
    ``config.trials`` says otherwise, until every category is decided or ``config.sequential``'s budget is
    spent); other suites, or ``config.sequential.fixed``, run every scenario and compare in one shot."""
    from evalkit.compare import compare
    from evalkit.compare.validity import check_baseline, check_comparable
    from evalkit.report import write_reports
    from evalkit.run.runner import run_suite
    from evalkit.store.exchange import resolve_baseline
    from evalkit.suite import load_suite

    say = log or (lambda _msg: None)
    ws = Workspace.resolve(tracking_uri=tracking_uri, baselines_dir=baselines_dir)
    suite_obj = load_suite(suite)
    base_dir, pol = _suite_policy(ws, suite_obj, policy)
    require_writable(output_dir, "--output-dir")  # the reports' folder: found unwritable before the run, not after
    store = ws.store()
    store.require_loggable(outbox=use_outbox)  # fail before spending the run, not after
    config = config or RunConfig()
    # the report folder (earlier reports name expected components) and the baselines stay hidden from agents
    hidden = (*config.sandbox.hidden, str(Path(output_dir).resolve()), str(Path(base_dir).resolve()))
    config = config.replace(sandbox=replace(config.sandbox, hidden=hidden))
    sequential = design_of(suite_obj, pol, config.sequential.fixed) == Design.SEQUENTIAL
    if sequential:
        from evalkit.compare.pool_comparison import check_sequential_metrics

        check_sequential_metrics(pol)
    baseline_table, baseline_source = resolve_baseline(store, suite_obj.name, baseline_alias, base_dir,
                                                       suite_hash=suite_obj.hash)
    check_baseline(baseline_table, pol)  # read and checked in full before the candidate spends anything

    if sequential:
        from evalkit.compare.planning import cached_plan
        from evalkit.compare.pool_comparison import with_resolvable
        from evalkit.rounds import run_rounds

        rounds = run_rounds(suite_obj, agent, baseline_table, pol, config, progress=progress, log=say)
        result = rounds.run
        comparison = with_resolvable(rounds.comparison, cached_plan(baseline_table, pol), pol.metrics[0])
    else:
        result = run_suite(suite_obj, agent, config, progress=progress)
        comparison = compare(result.table, baseline_table, pol)
    check_comparable(comparison)  # "nothing comparable" is exit 2, never a pass
    for warning in result.warnings:
        say(f"warning: {warning}")
    if result.meta.get("resumed_trials"):
        say(f"note: {result.meta['resumed_trials']} of {result.meta['n_trials']} trials resumed from the journal of an "
            f"earlier run of this build ({result.meta['journal']}); --fresh runs them again")
    comparison.notes.extend(w for w in result.warnings if w not in comparison.notes)  # e.g. an unsandboxed agent
    # Said after the run, so that a bad input found before it (agent spec, --trials, journal) is the only line.
    say(f"baseline {suite_obj.name}@{baseline_alias}: {baseline_source}")

    context = report_context(suite_obj.name, result.table, baseline_table, baseline_source,
                             tracking_uri=store.tracking_uri)
    out = Path(output_dir)
    reports = write_reports(comparison, out, context)
    logged = store.log_run(result, aggregates=result.aggregate(), role=Role.CANDIDATE,
                           reports=list(reports.values()), pr=pr, outbox=use_outbox,
                           tags=gate_tags(comparison, context, sequential, baseline_source))
    messages = [logged.message]
    if logged.settled:
        messages.append(logged.settled)
        say(f"note: {logged.settled}")
    if not logged.queued:
        context.candidate_run = logged.run_id
        reports = write_reports(comparison, out, context)  # now with the run reference
    say(logged.message)
    return GateResult(comparison, result, logged, baseline_source, reports, context, messages)


def report_context(suite: str, candidate, baseline, baseline_source: str, **extra: Any) -> Any:
    """The ReportContext of a comparison: suite, the two tables' build ids, where the baseline came from (and
    its MLflow run, when ``baseline_source`` is a :class:`~evalkit.store.exchange.BaselineSource` of one)."""
    from evalkit.report import ReportContext

    def build(table) -> str:
        return str(table["build_id"].iloc[0]) if len(table) else ""

    extra.setdefault("baseline_run", str(getattr(baseline_source, "run_id", "")))
    return ReportContext(suite=suite, candidate_build=build(candidate), baseline_build=build(baseline),
                         baseline_source=str(baseline_source), **extra)


def compare_refs(candidate: str, baseline: str | None = None, *, suite: str | None = None,
                 baseline_alias: str = DEFAULT_ALIAS, policy: str | Path | None = None, method: str | None = None,
                 allow_suite_mismatch: bool = False, tracking_uri: str | None = None,
                 missing_baseline: tuple[str, str, str] = ("compare", "BASELINE",
                                                           "pass a BASELINE run or --suite to use its baseline"),
                 ) -> tuple[Any, Any]:
    """Compare two stored runs (run ids, results .parquet files or run folders) without running an agent.

    Without ``baseline`` the suite's (``suite``, else the candidate's) ``baseline_alias`` is used; the
    policy is ``policy``, else the suite's policy file, else the default. Returns (Comparison, ReportContext)
    for :func:`evalkit.report.write_reports`. ``missing_baseline``: (where, field, fix) of the error when
    there is neither a baseline nor a suite.
    """
    from evalkit.compare import compare, default_policy, load_policy
    from evalkit.compare.planning import cached_plan
    from evalkit.compare.pool_comparison import compare_sequential, sequential_orders, with_resolvable
    from evalkit.compare.validity import check_baseline, check_comparable, check_policy_categories
    from evalkit.store import resolve_baseline
    from evalkit.store.exchange import BaselineNotFound
    from evalkit.tables import load_run_table

    ws = Workspace.resolve(tracking_uri=tracking_uri)
    store = ws.store()
    cand, _ = load_run_table(candidate, store)
    suite_name = suite or (str(cand["suite"].iloc[0]) if len(cand) else "")
    if baseline:
        base, base_src = load_run_table(baseline, store)
    elif suite_name:
        try:
            base, base_src = resolve_baseline(store, suite_name, baseline_alias,
                                              ws.baselines_dir(ws.suite_path(suite_name)))
        except BaselineNotFound as err:
            from evalkit.suite.loader import unknown_suite_note

            note = unknown_suite_note(suite_name) if suite and err.nothing_stored else ""  # a --suite naming no suite
            if note:
                raise UserError.at("--suite", "", suite_name, f"no baseline of it was found{note}") from None
            raise
    else:
        where, field_, fix = missing_baseline
        raise UserError.at(where, field_, "missing", fix)
    pol = ws.policy(suite_name, explicit=policy) if suite_name else load_policy(policy) if policy else None
    check_baseline(base, pol or default_policy())
    if pol is not None:  # the two runs' categories stand for the suite's
        check_policy_categories(pol, set(cand["category"]) | set(base["category"]), suite_name or "of these runs")
    orders = None if (pol is not None and pol.design == Design.FIXED) or method else sequential_orders(cand, base)
    if orders is not None:
        # a sequential gate's run: judged by the design that chose its scenarios, not as a fixed sample
        comparison = compare_sequential(cand, base, pol, orders, allow_suite_mismatch=allow_suite_mismatch)
        judged = pol or default_policy()
        comparison = with_resolvable(comparison, cached_plan(base, judged), judged.metrics[0])  # as the gate shows it
    else:
        comparison = compare(cand, base, pol, method=method, allow_suite_mismatch=allow_suite_mismatch)
    check_comparable(comparison)
    return comparison, report_context(suite_name, cand, base, base_src, command=ReportCommand.COMPARE,
                                      candidate_run=candidate)


def _suite_policy(ws: Workspace, suite_obj: Any, policy: str | Path | None) -> tuple[Path, Any]:
    """(baselines folder, policy) of a suite in the workspace: ``policy`` if given, else the one beside its
    baseline exports, else the default; its category margins must name the suite's categories."""
    from evalkit.compare.validity import check_policy_categories

    pol = ws.policy(suite_obj.name, suite_obj.path, explicit=policy)
    check_policy_categories(pol, set(suite_obj.categories) | {s.category for s in suite_obj.scenarios}, suite_obj.name)
    return ws.baselines_dir(suite_obj.path), pol


def plan_suite(suite: str | Path, *, baseline_alias: str = DEFAULT_ALIAS, policy: str | Path | None = None,
               baselines_dir: str | Path | None = None, tracking_uri: str | None = None, reps: int = 400,
               seed: int = 0) -> tuple[Any, Any, str]:
    """Plan a gate on ``suite`` from its baseline: (per-category plan DataFrame, policy, baseline source).

    See :func:`evalkit.compare.planning.plan_gate` for the columns; the simulation runs the sequential design
    on the baseline's own per-scenario results."""
    from evalkit.compare.planning import plan_gate
    from evalkit.store.exchange import resolve_baseline
    from evalkit.suite import load_suite

    ws = Workspace.resolve(tracking_uri=tracking_uri, baselines_dir=baselines_dir)
    suite_obj = load_suite(suite)
    base_dir, pol = _suite_policy(ws, suite_obj, policy)
    table, source = resolve_baseline(ws.store(), suite_obj.name, baseline_alias, base_dir, suite_hash=suite_obj.hash)
    return plan_gate(table, pol, reps=reps, seed=seed), pol, source


def design_of(suite_obj: Any, policy: Any, fixed: bool = False) -> str:
    """``sequential`` for a pool suite under a policy that allows it, else ``fixed`` (also when forced)."""
    if fixed or policy.design == Design.FIXED:
        return Design.FIXED
    if policy.design == Design.SEQUENTIAL or getattr(suite_obj, "pool", False):
        return Design.SEQUENTIAL
    return Design.FIXED


__all__ = ["GateResult", "compare_refs", "design_of", "exit_code_of", "gate_tags", "plan_suite", "report_context",
           "run_gate"]
