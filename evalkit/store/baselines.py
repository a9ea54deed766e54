"""Baseline promotions: an append-only history, one small MLflow run per promotion.

Each promotion is its own run in the experiment ``evalkit-promotions`` whose tags carry the record (suite,
alias, promoted run id, suite hash, build, time, who, reason), written atomically by ``create_run``.
Concurrent promoters therefore never read-modify-write shared state: each only inserts a row. Order is
``(start_time, record run id)``. ``start_time`` is chosen by the promoter as ``max(now, latest seen + 1 ms)``,
so a promotion made after another was visible sorts after it even if the two machines' clocks disagree;
truly concurrent promotions are ordered by time and then by record id, identically for every reader.
The current baseline of ``suite@alias`` is the last record; rollback is promoting an older run again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass
from typing import Any

from evalkit.errors import Problem, UserError
from evalkit.store import names
from evalkit.store.payload import current_user
from evalkit.store.runs import ensure_experiment, get_info
from evalkit.store.tracking import TrackingTarget, retry_locked
from evalkit.vocab import Outcome

#: default ceiling on the share of trials that failed for infrastructure reasons in a promotable run.
MAX_INFRA_ERROR_RATE = 0.05


@dataclass(frozen=True)
class Promotion:
    """One entry of the promotion history."""

    suite: str
    alias: str
    run_id: str
    suite_hash: str
    build_id: str
    promoted_at: str  # ISO-8601 UTC
    who: str
    reason: str
    record_id: str  # the promotion record's own MLflow run id
    order: int  # start_time of the record (ms), the primary ordering key

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_promotable(client: Any, target: TrackingTarget, run_id: str, suite: str,
                     suite_hash: str | None, max_infra_error_rate: float) -> Any:
    """The run's :class:`~evalkit.store.runs.RunInfo` if it may become a baseline of ``suite``; else UserError
    naming every reason (wrong suite, other suite version, failed/unfinished, too many infra errors)."""
    info = get_info(client, target, run_id)
    problems = []
    where = f"run {run_id}"
    if info.suite != suite or info.experiment != names.experiment_name(suite):
        problems.append(Problem(where, "suite", info.suite or info.experiment,
                                f"is not a run of suite '{suite}'; promote a run of that suite"))
    if suite_hash and info.suite_hash != suite_hash:
        problems.append(Problem(where, "suite_hash", info.suite_hash,
                                f"was run on another version of suite '{suite}' (current hash {suite_hash});"
                                " re-run the build on the current suite and promote that run"))
    if info.status != names.RUN_FINISHED or info.outcome != Outcome.COMPLETE or not info.uploaded:
        state = info.status if info.outcome != Outcome.FAILED else f"{info.status}, evaluation failed"
        problems.append(Problem(where, "status", state,
                                "only finished, complete runs can be baselines; re-run the evaluation"))
    elif info.infra_error_rate > max_infra_error_rate:
        problems.append(Problem(where, "infra_error_rate", round(info.infra_error_rate, 4),
                                f"exceeds {max_infra_error_rate:g} (infrastructure failures make it "
                                "unrepresentative); re-run it when the infrastructure is healthy, or raise "
                                "--max-infra-error-rate"))
    if problems:
        raise UserError(*problems)
    return info


def promote(client: Any, target: TrackingTarget, run_id: str, suite: str, alias: str, *, reason: str = "",
            who: str | None = None, suite_hash: str | None = None,
            max_infra_error_rate: float = MAX_INFRA_ERROR_RATE) -> Promotion:
    """Append a promotion of ``run_id`` as ``suite@alias`` to the history (see the module docstring)."""
    names.check_name(suite, "promote", "--suite")
    names.check_name(alias, "promote", "--alias")
    info = check_promotable(client, target, run_id, suite, suite_hash, max_infra_error_rate)
    exp_id = ensure_experiment(client, target, names.PROMOTIONS_EXPERIMENT)
    now = dt.datetime.now(dt.timezone.utc)
    order = int(now.timestamp() * 1000)
    latest = current(client, target, suite, alias)
    if latest is not None and latest.order >= order:
        order = latest.order + 1  # causal order even when this machine's clock lags
    who = current_user(who)
    ts = now.isoformat(timespec="milliseconds")
    tags = {
        names.TAG_P_SUITE: suite, names.TAG_P_ALIAS: alias, names.TAG_P_RUN: run_id,
        names.TAG_P_SUITE_HASH: info.suite_hash, names.TAG_P_BUILD: info.build_id, names.TAG_P_TS: ts,
        names.TAG_P_WHO: who, names.TAG_P_REASON: reason[:5000], "mlflow.user": who,
    }
    record = retry_locked(client.create_run, exp_id, start_time=order, tags=tags,
                          run_name=f"{suite}@{alias} <- {info.build_id or run_id}")
    with contextlib.suppress(Exception):  # the record is complete at creation; the status is cosmetic
        retry_locked(client.set_terminated, record.info.run_id, names.RUN_FINISHED, end_time=order)
    return Promotion(suite, alias, run_id, info.suite_hash, info.build_id, ts, who, reason,
                     record.info.run_id, order)


def history(client: Any, target: TrackingTarget, suite: str, alias: str | None = None) -> list[Promotion]:
    """All promotions of ``suite`` (optionally one alias), oldest first."""
    from mlflow.entities import ViewType

    names.check_name(suite, "history", "--suite")
    if alias:
        names.check_name(alias, "history", "--alias")
    exp = retry_locked(client.get_experiment_by_name, names.PROMOTIONS_EXPERIMENT)
    if exp is None:
        return []
    flt = f"tags.`{names.TAG_P_SUITE}` = '{suite}'"
    if alias:
        flt += f" and tags.`{names.TAG_P_ALIAS}` = '{alias}'"
    records, token = [], None
    while True:
        page = retry_locked(client.search_runs, [exp.experiment_id], filter_string=flt,
                            run_view_type=ViewType.ACTIVE_ONLY, max_results=1000,
                            order_by=["attributes.start_time ASC"], page_token=token)
        records.extend(page)
        token = page.token
        if not token:
            break
    return sorted(map(_record, records), key=lambda p: (p.order, p.record_id))


def current(client: Any, target: TrackingTarget, suite: str, alias: str) -> Promotion | None:
    """The current baseline of ``suite@alias``: its latest promotion, or None."""
    records = history(client, target, suite, alias)
    return records[-1] if records else None


def _record(run: Any) -> Promotion:
    t = run.data.tags
    return Promotion(suite=t.get(names.TAG_P_SUITE, ""), alias=t.get(names.TAG_P_ALIAS, ""),
                     run_id=t.get(names.TAG_P_RUN, ""), suite_hash=t.get(names.TAG_P_SUITE_HASH, ""),
                     build_id=t.get(names.TAG_P_BUILD, ""), promoted_at=t.get(names.TAG_P_TS, ""),
                     who=t.get(names.TAG_P_WHO, ""), reason=t.get(names.TAG_P_REASON, ""),
                     record_id=run.info.run_id, order=int(run.info.start_time or 0))
