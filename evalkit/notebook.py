"""The Python API for notebooks: stored runs, results tables, comparisons, flips, drift, trajectories.

Everything returns a pandas DataFrame or a small object with ``to_frame()``, so a notebook cell shows it
as a table. The store is the one the CLI uses (:mod:`evalkit.workspace`): ``EVALKIT_TRACKING_URI``, else
``MLFLOW_TRACKING_URI``, else the project's embedded SQLite store in ``.evalkit/`` (or pass ``store=`` /
``tracking_uri=`` explicitly)::

    import evalkit.notebook as nb
    runs = nb.list_runs("core")                       # one row per stored run
    gates = nb.gate_history("core")                   # every build against the baseline in force before it
    cmp = nb.compare_runs(candidate_id, baseline_id)  # evalkit.compare.Comparison (.to_frame(), .flips())
    sbs = nb.side_by_side(baseline_id, candidate_id, "messaging-kafka-lag-001")
    sbs.to_frame(); sbs.focus(); sbs.findings()

Reading the answer key: :meth:`SideBySide.focus` marks the true root cause and the suite's distractors
using the ground truth (``evalkit.suite.load_truth``). That is for the human analysing a finished run; the
agents never see it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evalkit.errors import UserError
from evalkit.store import names
from evalkit.store.tracking import TRACKING_URI_ENVS
from evalkit.workspace import DEFAULT_ALIAS, Workspace

RUN_COLUMNS = ["start_time", "run_id", "build_id", "role", "outcome", "status", "suite_hash", "rows",
               "infra_error_rate", "promoted", "label", "phase"]
CALL_COLUMNS = ["step", "tool", "component", "args", "refs", "result_size", "error"]


# ----------------------------------------------------------------------------------------------- store
@lru_cache(maxsize=8)
def _cached_store(uri: str | None, environment: tuple[str | None, ...], root: Path) -> Any:
    """The store at ``uri``, else at the first URI of ``environment`` (the variables, paths made absolute)."""
    from evalkit.store import Store

    chosen = uri or next((value for value in environment if value), None)
    if chosen and not uri:  # from a variable: keep its name in messages
        env_var = TRACKING_URI_ENVS[environment.index(chosen)]
        store = Store(chosen, root=root)
        store.target = replace(store.target, source="env", env_var=env_var)
        return store
    return Workspace.resolve(tracking_uri=chosen, cwd=root).store()


def user_dir() -> Path:
    """The user's working directory: where Jupyter was started (``$PWD``, which the kernel inherits), not the
    notebook's folder that the kernel runs in; outside Jupyter the two are the same."""
    pwd = os.environ.get("PWD", "")
    return Path(pwd) if pwd and Path(pwd).is_dir() else Path.cwd()


def open_store(tracking_uri: str | None = None) -> Any:
    """The :class:`evalkit.store.Store` the CLI would use: ``tracking_uri``, else ``$EVALKIT_TRACKING_URI``,
    else ``$MLFLOW_TRACKING_URI``, else the project's embedded store. A relative ``sqlite:///`` path is relative
    to :func:`user_dir`; a store file that does not exist is a UserError naming it ("no store at ...").
    Cached per location within the kernel."""
    from evalkit.store.tracking import absolute_sqlite_uri

    root = Workspace.resolve().root
    environment = tuple(absolute_sqlite_uri(os.environ[name], user_dir()) if os.environ.get(name) else None
                        for name in TRACKING_URI_ENVS)
    uri = absolute_sqlite_uri(tracking_uri, user_dir()) if tracking_uri else None
    store = _cached_store(uri, environment, root)
    store.require_existing()
    return store


def _store(store: Any) -> Any:
    return store if store is not None else open_store()


# ------------------------------------------------------------------------------------------------ runs
def list_runs(suite: str, *, alias: str = DEFAULT_ALIAS, build_id: str | None = None, role: str | None = None,
              limit: int = 1000, store: Any = None) -> pd.DataFrame:
    """Stored evaluation runs of ``suite``, oldest first: :data:`RUN_COLUMNS` (``promoted``: the run was
    promoted as a baseline of ``alias``; ``label``/``phase``: set by the demo history generator)."""
    st = _store(store)
    infos = st.find_runs(suite, build_id=build_id, role=role, max_results=limit)
    promoted = {p.run_id for p in st.history(suite, alias)}
    rows = [{"start_time": pd.Timestamp(i.start_time, unit="ms", tz="UTC"), "run_id": i.run_id,
             "build_id": i.build_id, "role": i.role, "outcome": i.outcome, "status": i.status,
             "suite_hash": i.suite_hash, "rows": i.rows, "infra_error_rate": i.infra_error_rate,
             "promoted": i.run_id in promoted, "label": i.tags.get(names.TAG_HISTORY_LABEL, ""),
             "phase": i.tags.get(names.TAG_HISTORY_PHASE, "")} for i in infos]
    frame = pd.DataFrame(rows, columns=RUN_COLUMNS)
    return frame.sort_values(["start_time", "run_id"], kind="mergesort").reset_index(drop=True)


def promotions(suite: str, alias: str | None = DEFAULT_ALIAS, *, store: Any = None) -> pd.DataFrame:
    """The promotion history of ``suite`` (one alias, or all with ``alias=None``), oldest first."""
    rows = [p.to_dict() for p in _store(store).history(suite, alias)]
    cols = ["suite", "alias", "run_id", "suite_hash", "build_id", "promoted_at", "who", "reason", "record_id", "order"]
    return pd.DataFrame(rows, columns=cols)


_TABLE_CACHE: dict[tuple[str, str], pd.DataFrame] = {}


def load_table(run_id: str, *, store: Any = None) -> pd.DataFrame:
    """The results table of a stored run (one row per scenario × trial; see docs/results-table.md). Cached
    per run within the kernel (runs are immutable); a copy is returned."""
    st = _store(store)
    key = (st.tracking_uri, run_id)
    if key not in _TABLE_CACHE:
        _TABLE_CACHE[key] = st.load_table(run_id)
    return _TABLE_CACHE[key].copy()


@dataclass
class RunData:
    """One stored run: its info (tags, metrics), results table, trajectories and meta."""

    run_id: str
    info: Any
    table: pd.DataFrame
    trajectories: list[dict]
    meta: dict

    @property
    def build_id(self) -> str:
        return self.info.build_id

    def to_frame(self) -> pd.DataFrame:
        """The results table."""
        return self.table.copy()

    def aggregate(self) -> pd.DataFrame:
        """Per-category mean, clustered SE and 95% CI of every metric (``evalkit.score.aggregate``)."""
        from evalkit.score.aggregate import aggregate

        return aggregate(self.table)

    def trajectory(self, scenario_id: str, trial: int = 0) -> "Trajectory":
        """The recorded investigation of one scenario and trial."""
        for t in self.trajectories:
            if t.get("scenario_id") == scenario_id and int(t.get("trial", -1)) == int(trial):
                row = self.table[(self.table["scenario_id"] == scenario_id) & (self.table["trial"] == trial)]
                return Trajectory(self.run_id, self.build_id, scenario_id, int(trial), list(t.get("calls") or []),
                                  dict(t.get("finding") or {}), row.iloc[0].to_dict() if len(row) else {})
        known = sorted({str(t.get("scenario_id")) for t in self.trajectories})
        hint = f"known scenarios: {', '.join(known[:5])}{' ...' if len(known) > 5 else ''}" if known else \
            "the run has no stored trajectories"
        raise UserError.at(f"run {self.run_id}", "scenario/trial", f"{scenario_id}#{trial}", hint)


_RUN_CACHE: dict[tuple[str, str], RunData] = {}


def load_run(run_id: str, *, store: Any = None) -> RunData:
    """Table, trajectories, meta and info of a stored run (cached per run within the kernel: runs are
    immutable)."""
    st = _store(store)
    key = (st.tracking_uri, run_id)
    if key not in _RUN_CACHE:
        _RUN_CACHE[key] = RunData(run_id, st.run_info(run_id), load_table(run_id, store=st),
                                  st.load_trajectories(run_id), st.load_meta(run_id))
    return _RUN_CACHE[key]


def _as_table(run: Any, store: Any) -> pd.DataFrame:
    if isinstance(run, str):
        return load_table(run, store=store)
    return run.table if isinstance(run, RunData) else run  # a DataFrame, or RunResult-like: compare() accepts it


# ------------------------------------------------------------------------------------------ comparisons
def compare_runs(candidate: Any, baseline: Any, policy: Any = None, *, store: Any = None) -> Any:
    """:func:`evalkit.compare.compare` on two runs given as run ids, :class:`RunData` or results tables.
    ``policy``: a Policy, a policy file, a suite name, or None (the candidate suite's policy file if any)."""
    from evalkit.compare import compare
    from evalkit.compare.policy import policy_for_suite

    cand, base = _as_table(candidate, store), _as_table(baseline, store)
    if policy is None and len(cand):
        policy = policy_for_suite(str(cand["suite"].iloc[0]))
    return compare(cand, base, policy)


def flips(comparison: Any, category: str | None = None) -> pd.DataFrame:
    """Scenarios that flipped between baseline and candidate on the primary metric (pass→fail first per
    category, most consistent first), with each run's top prediction and the expected component."""
    return comparison.flips(category)


def category_verdicts(comparison: Any, metric: str | None = None) -> pd.DataFrame:
    """The comparison's gated cells, one row per category (× metric): means, difference, CI, verdict."""
    cols = ["category", "metric", "n", "baseline_mean", "candidate_mean", "diff", "ci_low", "ci_high", "margin",
            "p_adj", "verdict"]
    frame = comparison.to_frame()
    frame = frame[frame["gated"]]
    if metric is not None:
        frame = frame[frame["metric"] == metric]
    return frame[cols].reset_index(drop=True)


def baseline_before(builds: pd.DataFrame, order: int) -> str | None:
    """The run id of the baseline in force when build ``order`` was evaluated: the latest promoted build
    evaluated before it (``builds`` as :attr:`evalkit.drift.BuildSeries.builds`)."""
    earlier = builds[(builds["order"] < order) & builds["promoted"]]
    return None if earlier.empty else str(earlier.sort_values("order")["run_id"].iloc[-1])


def gate_history(suite: str, alias: str = DEFAULT_ALIAS, policy: Any = None, *, since: Any = None,
                 store: Any = None) -> pd.DataFrame:
    """Every build of ``suite`` compared with the baseline in force before it (see :func:`baseline_before`),
    as the pre-merge gate would have: order, build, baseline, verdict, regressed cells, headline."""
    from evalkit.drift.series import load_series

    st = _store(store)
    series = load_series(st, suite, alias, since=since)
    rows = []
    for b in series.builds.sort_values("order").itertuples():
        base = baseline_before(series.builds, b.order)
        row = dict(order=b.order, start_time=b.start_time, run_id=b.run_id, build_id=b.build_id, label=b.label,
                   baseline_run_id=base, verdict="no baseline", cross_category=False, regressed="", headline="")
        if base is not None:
            cmp = compare_runs(b.run_id, base, policy, store=st)
            row.update(verdict=cmp.verdict, cross_category=cmp.cross_category,
                       regressed=", ".join(f"{c}:{m}" for c, m in cmp.regressed_cells), headline=cmp.headline)
        rows.append(row)
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------ drift
def drift(suite: str, alias: str = DEFAULT_ALIAS, *, since: Any = None, params: Any = None,
          metrics: tuple[str, ...] | None = None, store: Any = None) -> Any:
    """The drift detector on the stored history of ``suite``: a :class:`evalkit.drift.Drift` (``to_frame()``
    per build × category × metric: mean, SE, z, EWMA, CUSUM, alarm, verdict; ``alarms``)."""
    from evalkit.drift import drift_for_suite

    return drift_for_suite(_store(store), suite, alias=alias, since=since, metrics=metrics, params=params)


# ----------------------------------------------------------------------------------------- trajectories
def _component_of(call: dict) -> str:
    args = call.get("args") or {}
    if isinstance(args, dict) and isinstance(args.get("component"), str):
        return args["component"]
    comps = {r.split(":")[1] for r in call.get("refs") or [] if r.count(":") >= 1 and not r.startswith("monitor:")}
    return comps.pop() if len(comps) == 1 else ""


@dataclass
class Trajectory:
    """One recorded investigation: the tool calls in order (``to_frame()``), the finding and its scores."""

    run_id: str
    build_id: str
    scenario_id: str
    trial: int
    calls: list[dict]
    finding: dict
    scores: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """One row per tool call: step, tool, component looked at (if one), arguments, refs, size, error."""
        rows = [{"step": i + 1, "tool": c.get("tool", ""), "component": _component_of(c),
                 "args": json.dumps(c.get("args") or {}, sort_keys=True), "refs": ", ".join(c.get("refs") or []),
                 "result_size": c.get("result_size"), "error": c.get("error") or ""}
                for i, c in enumerate(self.calls)]
        return pd.DataFrame(rows, columns=CALL_COLUMNS)

    def hypotheses(self) -> pd.DataFrame:
        """The finding's ranked hypotheses: rank, component, fault type, confidence, evidence."""
        hyps = self.finding.get("hypotheses") or []
        return pd.DataFrame([{"rank": i + 1, "component": h.get("component"), "fault_type": h.get("fault_type"),
                              "confidence": h.get("confidence"), "evidence": ", ".join(h.get("evidence") or [])}
                             for i, h in enumerate(hyps)],
                            columns=["rank", "component", "fault_type", "confidence", "evidence"])

    @property
    def top(self) -> str:
        hyps = self.finding.get("hypotheses") or []
        return str(hyps[0].get("component")) if hyps else ""

    def components(self) -> list[str]:
        """Components inspected, in order of first look."""
        return list(dict.fromkeys(comp for comp in map(_component_of, self.calls) if comp))


@dataclass
class SideBySide:
    """The same scenario and trial in two builds: calls aligned step by step, findings, and per-component
    attention with the answer key (root cause, distractors, alerting component)."""

    baseline: Trajectory
    candidate: Trajectory
    cause: tuple[str, ...] = ()
    distractors: tuple[str, ...] = ()
    alerting: str = ""

    def to_frame(self) -> pd.DataFrame:
        """Step-aligned calls: ``baseline_*`` and ``candidate_*`` (tool, component, refs) and ``same``."""
        b, c = self.baseline.to_frame(), self.candidate.to_frame()
        steps = range(1, max(len(b), len(c)) + 1)
        b, c = b.set_index("step").reindex(steps), c.set_index("step").reindex(steps)
        out = pd.DataFrame({"step": steps})
        for prefix, frame in (("baseline", b), ("candidate", c)):
            for col in ("tool", "component", "refs"):
                out[f"{prefix}_{col}"] = frame[col].fillna("").to_numpy()
        out["same"] = (out["baseline_tool"] == out["candidate_tool"]) & \
            (out["baseline_component"] == out["candidate_component"])
        return out

    @property
    def divergence(self) -> int | None:
        """The first step (1-based) where the two investigations differ, or None if identical."""
        frame = self.to_frame()
        diff = frame.index[~frame["same"]]
        return int(frame.loc[diff[0], "step"]) if len(diff) else None

    def findings(self) -> pd.DataFrame:
        """Both builds' top hypotheses side by side (rank, component, fault type, confidence)."""
        b, c = (t.hypotheses().set_index("rank")[["component", "fault_type", "confidence"]]
                for t in (self.baseline, self.candidate))
        return b.add_prefix("baseline_").join(c.add_prefix("candidate_"), how="outer").reset_index()

    def focus(self) -> pd.DataFrame:
        """Per component: calls spent on it by each build, and whether it is the root cause, a distractor
        (noise the suite planted) or the alerting component. Sorted by the candidate's attention."""
        sides = {"baseline_calls": self.baseline.to_frame()["component"],
                 "candidate_calls": self.candidate.to_frame()["component"]}
        frame = pd.DataFrame({name: c[c != ""].value_counts() for name, c in sides.items()}).fillna(0).astype(int)
        for comp in (*self.cause, self.alerting):
            if comp and comp not in frame.index:
                frame.loc[comp] = 0
        frame.index.name = "component"
        frame = frame.reset_index()
        frame["root_cause"] = frame["component"].isin(self.cause)
        frame["distractor"] = frame["component"].isin(self.distractors)
        frame["alerting"] = frame["component"] == self.alerting
        frame["baseline_top"] = frame["component"] == self.baseline.top
        frame["candidate_top"] = frame["component"] == self.candidate.top
        return frame.sort_values(["candidate_calls", "baseline_calls", "component"],
                                 ascending=[False, False, True], kind="mergesort").reset_index(drop=True)

    def summary(self) -> str:
        """One paragraph: what each build concluded and where the candidate went."""
        f = self.focus()
        ok = lambda t: "correct" if t.top in self.cause else "wrong"  # noqa: E731
        calls = lambda mark, side: int(f.loc[f[mark], f"{side}_calls"].sum())  # noqa: E731
        cause = self.cause[0] if self.cause else "?"
        return (f"{self.baseline.scenario_id} trial {self.baseline.trial}: baseline named {self.baseline.top or '-'} "
                f"({ok(self.baseline)}), candidate named {self.candidate.top or '-'} ({ok(self.candidate)}); "
                f"root cause {cause}; alert on {self.alerting or '?'}. Calls on the root cause: "
                f"baseline {calls('root_cause', 'baseline')}, candidate {calls('root_cause', 'candidate')}; "
                f"on distractors: baseline {calls('distractor', 'baseline')}, "
                f"candidate {calls('distractor', 'candidate')}; the investigations diverge at step {self.divergence}.")


def _answer_key(suite_name: str, scenario_id: str, table_row: dict) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(root cause + aliases, distractors, alerting component) from the suite when it is available, else what
    the results table records (the expected component only)."""
    try:
        from evalkit.suite import load_suite, load_truth

        suite = load_suite(suite_name)
        truth = load_truth(suite, scenario_id)
        scenario = next(s for s in suite.scenarios if s.id == scenario_id)
        return (truth.component, *truth.aliases), tuple(truth.distractors), str(scenario.alert.get("component", ""))
    except (UserError, StopIteration, OSError, KeyError, ValueError):
        expected = str(table_row.get("expected_component") or "")
        return ((expected,) if expected else ()), (), ""


def side_by_side(baseline_run: str | RunData, candidate_run: str | RunData, scenario_id: str, trial: int = 0, *,
                 suite: str | Path | None = None, store: Any = None) -> SideBySide:
    """One scenario's investigation in two stored runs, aligned (see :class:`SideBySide`). The answer key
    comes from ``suite`` (default: the runs' suite, found by name) when it can be loaded."""
    base = baseline_run if isinstance(baseline_run, RunData) else load_run(baseline_run, store=store)
    cand = candidate_run if isinstance(candidate_run, RunData) else load_run(candidate_run, store=store)
    tb, tc = base.trajectory(scenario_id, trial), cand.trajectory(scenario_id, trial)
    if suite is None:  # a demo-history run records its (subset) suite folder; else look the name up
        suite = base.info.tags.get(names.TAG_HISTORY_SUITE_PATH) or tb.scores.get("suite") or base.info.suite
    cause, distractors, alerting = _answer_key(str(suite), scenario_id, tb.scores)
    return SideBySide(tb, tc, cause, distractors, alerting)


def scenario_scores(run: str | RunData, scenario_id: str, *, store: Any = None) -> pd.DataFrame:
    """Every trial's scores of one scenario in one run (status, prediction, expected, scores)."""
    data = run if isinstance(run, RunData) else load_run(run, store=store)
    t = data.table
    cols = ["trial", "status", "error_class", "predicted", "expected_component", "rca_top1", "rca_top3",
            "fault_type_correct", "rca_score", "evidence_recall", "distractor_ratio", "tool_calls"]
    return t.loc[t["scenario_id"] == scenario_id, cols].reset_index(drop=True)


def errorbars(drift_result: Any, metric: str = "rca_top1", orders: list[int] | None = None) -> pd.DataFrame:
    """Per category, the mean ± 1.96·SE_t of selected builds (default: the first and the last) — the data of
    a per-category error-bar chart."""
    f = drift_result.to_frame()
    f = f[f["metric"] == metric]
    if orders is None:
        orders = sorted({int(f["order"].min()), int(f["order"].max())})
    f = f[f["order"].isin(orders)].copy()
    f["low"] = np.clip(f["mean"] - 1.96 * f["se_eff"], 0, 1)
    f["high"] = np.clip(f["mean"] + 1.96 * f["se_eff"], 0, 1)
    return f[["category", "order", "build_id", "mean", "se_eff", "low", "high", "verdict"]].reset_index(drop=True)
