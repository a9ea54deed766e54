"""Metric series across builds, read from the store's run metrics (the same numbers the MLflow UI charts).

Every evaluation run carries per-category aggregates as MLflow metrics ``<metric>.<stat>.<category>``
(``rca_top1.mean.kubernetes/oom``, ``rca_top1.se.kubernetes/oom``, …; see :mod:`evalkit.store.names`), so a
series needs no artifact download: one ``search_runs`` gives every build's mean, standard error, CI and
scenario count. One point per build: when a build was evaluated more than once, its latest complete run.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np
import pandas as pd

from evalkit.errors import UserError
from evalkit.score.schema import OVERALL_MICRO
from evalkit.store.names import RUN_FINISHED, TAG_GATE_VERDICT, TAG_HISTORY_LABEL, check_name, experiment_name
from evalkit.vocab import Outcome
from evalkit.workspace import DEFAULT_ALIAS

#: columns of :attr:`BuildSeries.frame` (one row per build × category × metric).
SERIES_COLUMNS = ("order", "run_id", "build_id", "start_time", "category", "metric", "mean", "se", "ci_low",
                  "ci_high", "n_scenarios")
#: columns of :attr:`BuildSeries.builds` (one row per build, in time order).
BUILD_COLUMNS = ("order", "run_id", "build_id", "start_time", "role", "suite_hash", "promoted", "promoted_at",
                 "promoted_reason", "label", "gate")
OVERALL = OVERALL_MICRO
_STATS = ("mean", "se", "ci_low", "ci_high", "n_scenarios")
MAX_RUNS = 5000


@dataclass
class BuildSeries:
    """Per-build, per-category aggregates of one suite in time order, plus where each build's run lives.

    ``frame``: :data:`SERIES_COLUMNS`; ``builds``: :data:`BUILD_COLUMNS` (``promoted`` is True for runs that
    were promoted as a baseline of ``alias``; ``gate`` is the verdict of the build's latest gate — the
    ``evalkit.gate.verdict`` tag of its newest run that carries one — or ``""`` for a build never gated);
    ``run_url`` turns a run id into an MLflow UI address.
    """

    suite: str
    alias: str
    frame: pd.DataFrame
    builds: pd.DataFrame
    tracking_uri: str = ""
    experiment_id: str | None = None
    metrics: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()

    @property
    def categories(self) -> list[str]:
        """Categories in display order (alphabetical, the overall row last)."""
        cats = sorted(set(self.frame["category"].astype(str)) - {OVERALL})
        return cats + ([OVERALL] if (self.frame["category"] == OVERALL).any() else [])

    @property
    def is_server(self) -> bool:
        return self.tracking_uri.startswith(("http://", "https://"))

    def run_url(self, run_id: str) -> str:
        """The run's page in the MLflow UI: on the tracking server itself, or on a local ``mlflow ui``
        (default http://127.0.0.1:5000) started over a SQLite/file store (see :meth:`ui_hint`)."""
        base = self.tracking_uri.rstrip("/") if self.is_server else "http://127.0.0.1:5000"
        if self.experiment_id is None:
            return f"{base}/#/runs/{run_id}"
        return f"{base}/#/experiments/{self.experiment_id}/runs/{run_id}"

    def ui_hint(self) -> str:
        """How to open the runs in the MLflow UI (empty for a tracking server: its links work as they are)."""
        if self.is_server or not self.tracking_uri:
            return ""
        return f"mlflow ui --backend-store-uri '{self.tracking_uri}'"


def metric_columns(info_metrics: dict[str, float], metrics: Iterable[str]) -> dict[tuple[str, str], dict[str, float]]:
    """``{(category, metric): {stat: value}}`` from one run's MLflow metrics (keys ``<metric>.<stat>.<cat>``)."""
    prefixes = [(f"{m}.", m) for m in metrics]
    out: dict[tuple[str, str], dict[str, float]] = {}
    for key, value in info_metrics.items():
        for prefix, metric in prefixes:
            if key.startswith(prefix):
                stat, _, category = key[len(prefix):].partition(".")
                if stat in _STATS and category:
                    out.setdefault((category, metric), {})[stat] = float(value)
    return out


def parse_since(since: str | dt.datetime | None) -> dt.datetime | None:
    """``--since``: an ISO date/time (``2024-06-01``, ``2024-06-01T12:00``; UTC unless it says otherwise)."""
    if since is None or since == "":
        return None
    if isinstance(since, dt.datetime):
        when = since
    else:
        try:
            when = dt.datetime.fromisoformat(str(since).strip())
        except ValueError:
            raise UserError.at("--since", "date", since, "give an ISO date such as 2024-06-01 or "
                               "2024-06-01T12:00") from None
    return when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)


def load_series(store: Any, suite: str, alias: str = DEFAULT_ALIAS, *, since: str | dt.datetime | None = None,
                metrics: Iterable[str] = ("rca_top1", "rca_score"), role: str | None = None,
                max_runs: int = MAX_RUNS) -> BuildSeries:
    """The series of ``suite`` in ``store`` (a :class:`evalkit.store.Store`): complete runs only, one per
    build (its latest run), in start-time order, from ``since`` on. UserError when there is nothing to show."""
    check_name(suite, "--suite", "suite")
    check_name(alias, "--alias", "alias")
    metrics = tuple(metrics)
    start = parse_since(since)
    infos = store.find_runs(suite, role=role, max_results=max_runs)
    notes: list[str] = []
    if len(infos) >= max_runs:
        notes.append(f"only the newest {max_runs} runs were read")
    complete = [i for i in infos if i.outcome == Outcome.COMPLETE and i.uploaded and i.status == RUN_FINISHED]
    skipped = len(infos) - len(complete)
    if skipped:
        notes.append(f"{skipped} failed or unfinished run(s) left out")
    if start is not None:
        cutoff = int(start.timestamp() * 1000)
        complete = [i for i in complete if i.start_time >= cutoff]
    latest: dict[str, Any] = {}
    gates: dict[str, str] = {}
    for info in complete:  # newest first: keep each build's latest run, and its latest gate verdict
        latest.setdefault(info.build_id or info.run_id, info)
        if info.tags.get(TAG_GATE_VERDICT):
            gates.setdefault(info.build_id or info.run_id, info.tags[TAG_GATE_VERDICT])
    runs = sorted(latest.values(), key=lambda i: (i.start_time, i.run_id))
    if not runs:
        store.require_existing()  # a mistyped store path is named as such, not reported as "no runs"
        where = store.tracking_uri
        when = f" since {start.date()}" if start is not None else ""
        from evalkit.suite.loader import unknown_suite_note

        raise UserError.at(where, "suite", suite, f"has no complete evaluation runs{when}{unknown_suite_note(suite)}; "
                           f"run `evalkit run --suite {suite} ...` (or `evalkit drift demo-history --suite {suite}`) "
                           "first")
    repeats = len(complete) - len(latest)
    if repeats:
        notes.append(f"{repeats} earlier run(s) of re-evaluated builds left out (each build's latest run is shown)")
    promoted = {p.run_id: p for p in reversed(store.history(suite, alias))}  # a run's first promotion wins
    rows: list[dict[str, Any]] = []
    build_rows: list[dict[str, Any]] = []
    for order, info in enumerate(runs):
        when = pd.Timestamp(info.start_time, unit="ms", tz="UTC")
        p = promoted.get(info.run_id)
        build_rows.append({"order": order, "run_id": info.run_id, "build_id": info.build_id, "start_time": when,
                           "role": info.role, "suite_hash": info.suite_hash, "promoted": p is not None,
                           "promoted_at": p.promoted_at if p else "", "promoted_reason": p.reason if p else "",
                           "label": info.tags.get(TAG_HISTORY_LABEL, ""),
                           "gate": gates.get(info.build_id or info.run_id, "")})
        for (category, metric), stats in metric_columns(info.metrics, metrics).items():
            if "mean" not in stats or (category.startswith("__") and category != OVERALL):
                continue  # the macro average is not a population with its own scenarios; micro is kept
            rows.append({"order": order, "run_id": info.run_id, "build_id": info.build_id, "start_time": when,
                         "category": category, "metric": metric,
                         **{s: stats.get(s, np.nan) for s in _STATS}})
    frame = _typed(pd.DataFrame(rows, columns=list(SERIES_COLUMNS)))
    builds = pd.DataFrame(build_rows, columns=list(BUILD_COLUMNS))
    missing = [m for m in metrics if m not in set(frame["metric"])]
    if missing:
        notes.append(f"metric(s) {', '.join(missing)} not logged by any run")
    return BuildSeries(suite=suite, alias=alias, frame=frame, builds=builds, tracking_uri=store.tracking_uri,
                       experiment_id=_experiment_id(store, suite), metrics=metrics, notes=notes)


def _experiment_id(store: Any, suite: str) -> str | None:
    try:
        exp = store.client().get_experiment_by_name(experiment_name(suite))
    except Exception:  # noqa: BLE001 - links then fall back to the experiment-less form
        return None
    return exp.experiment_id if exp is not None else None


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"order": "int64", "run_id": "string", "build_id": "string", "category": "string",
                          "metric": "string", "mean": "float64", "se": "float64", "ci_low": "float64",
                          "ci_high": "float64", "n_scenarios": "float64"})
    frame["start_time"] = pd.to_datetime(frame["start_time"], utc=True)
    return frame.sort_values(["order", "category", "metric"], kind="mergesort").reset_index(drop=True)


def series_from_frame(frame: pd.DataFrame, suite: str = "synthetic", alias: str = DEFAULT_ALIAS,
                      promoted_orders: Iterable[int] = (), tracking_uri: str = "",
                      gates: dict[int, str] | None = None) -> BuildSeries:
    """A :class:`BuildSeries` from an already-built long frame (:data:`SERIES_COLUMNS`), e.g. synthesised
    for a benchmark or read from elsewhere; ``promoted_orders`` marks promoted builds, ``gates`` maps the
    order of a gated build to its gate's verdict."""
    missing = [c for c in SERIES_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"series frame lacks column(s) {missing}")
    frame = _typed(frame[list(SERIES_COLUMNS)].copy())
    firsts = frame.drop_duplicates("order").set_index("order")
    promoted = set(promoted_orders)
    builds = pd.DataFrame({
        "order": firsts.index.to_numpy(), "run_id": firsts["run_id"].to_numpy(),
        "build_id": firsts["build_id"].to_numpy(), "start_time": firsts["start_time"].to_numpy(),
        "role": "", "suite_hash": "", "promoted": [o in promoted for o in firsts.index],
        "promoted_at": "", "promoted_reason": "", "label": "",
        "gate": [(gates or {}).get(int(o), "") for o in firsts.index]}, columns=list(BUILD_COLUMNS))
    return BuildSeries(suite=suite, alias=alias, frame=frame, builds=builds, tracking_uri=tracking_uri,
                       metrics=tuple(pd.unique(frame["metric"].astype(str))))
