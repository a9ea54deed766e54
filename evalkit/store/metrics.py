"""Flatten a run's aggregates into MLflow metrics with predictable keys (``<metric>.<stat>.<category>``).

The aggregates frame comes from the caller or from ``evalkit.score.aggregate``; :func:`basic_aggregates` is a
minimal per-category mean/count for callers that need no more.

Only headline numbers become MLflow metrics: per category, the mean, standard error and scenario count of
the default gated metrics (:data:`PER_CATEGORY`, what the drift dashboard reads); for everything else the
all-scenario (micro) mean. The full aggregates table — every metric, statistic, pass@k, error rate and
category — is the run's ``results/aggregates.parquet`` artifact.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from evalkit.score.catalogue import COSTS, CUSTOM_PREFIX, SCORES
from evalkit.score.schema import OVERALL_MACRO, OVERALL_MICRO
from evalkit.vocab import Status
from evalkit.store.names import metric_key, sanitize_key

#: metrics logged per category (mean, se, n_scenarios), the rest only as their overall mean.
PER_CATEGORY: tuple[str, ...] = ("rca_top1", "rca_score")
_PER_CATEGORY_STATS = ("mean", "se", "n_scenarios")
_OVERALL_ERRORS = ("error_rate.any", "error_rate.agent", "error_rate.infra")

#: identity columns of an aggregates frame: never logged as a statistic, whatever their dtype.
_ID_COLUMNS = ("category", "metric", "suite", "build_id", "scenario_id")


def basic_aggregates(table: pd.DataFrame) -> pd.DataFrame:
    """Long frame (category, metric, mean, n) over non-infrastructure rows, plus macro/micro overall rows."""
    metrics = [c for c in (*SCORES, *COSTS) if c in table.columns]
    metrics += sorted(c for c in table.columns if c.startswith(CUSTOM_PREFIX))
    usable = table[table["status"].astype(str) != Status.INFRA_ERROR] if "status" in table.columns else table
    if usable.empty or not metrics:
        return pd.DataFrame(columns=["category", "metric", "mean", "n"])
    values = usable[metrics].astype("float64")
    grouped = values.groupby(usable["category"].astype(str), sort=True)
    means = grouped.mean().stack(future_stack=True).rename("mean")
    counts = grouped.count().stack(future_stack=True).rename("n")
    per_cat = pd.concat([means, counts], axis=1).reset_index()
    per_cat.columns = ["category", "metric", "mean", "n"]
    macro = per_cat.groupby("metric", sort=False).agg(mean=("mean", "mean"), n=("n", "sum")).reset_index()
    macro.insert(0, "category", OVERALL_MACRO)
    micro = pd.DataFrame({"category": OVERALL_MICRO, "metric": metrics,
                          "mean": values.mean().to_numpy(), "n": values.count().to_numpy()})
    return pd.concat([per_cat, macro, micro], ignore_index=True)


def _headline(metric: str, stat: str, category: str, per_category: tuple[str, ...]) -> bool:
    """Whether one aggregate number is logged as an MLflow metric (see the module docstring)."""
    if metric in per_category:
        return stat in _PER_CATEGORY_STATS and category != OVERALL_MACRO
    overall_kind = metric in SCORES or metric in COSTS or metric.startswith(CUSTOM_PREFIX) or metric in _OVERALL_ERRORS
    return overall_kind and stat == "mean" and category == OVERALL_MICRO


def aggregate_metrics(aggregates: pd.DataFrame | None,
                      per_category: tuple[str, ...] = PER_CATEGORY) -> dict[str, float]:
    """The headline statistics (see the module docstring) of a long ``aggregates`` frame as
    ``{<metric>.<stat>.<category>: value}``, finite values only; a wide frame (no ``metric`` column, one row per
    category) gives each numeric column as ``<column>.<category>``."""
    if aggregates is None or len(aggregates) == 0:
        return {}
    frame = aggregates
    if "category" not in frame.columns:
        frame = frame.reset_index()
        if "category" not in frame.columns:
            frame = frame.rename(columns={frame.columns[0]: "category"})
    stats = [c for c in frame.columns
             if c not in _ID_COLUMNS and pd.api.types.is_numeric_dtype(frame[c])
             and not pd.api.types.is_bool_dtype(frame[c])]
    out: dict[str, float] = {}
    categories = frame["category"].astype(str).to_numpy()
    long = "metric" in frame.columns
    names = frame["metric"].astype(str).to_numpy() if long else None
    for stat in stats:
        values = frame[stat].to_numpy(dtype="float64", na_value=np.nan)
        for i, value in enumerate(values):
            if not math.isfinite(value) or (long and not _headline(names[i], stat, categories[i], per_category)):
                continue
            key = metric_key(names[i], stat, categories[i]) if long else sanitize_key(f"{stat}.{categories[i]}")
            out[key] = float(value)
    return out


def run_metrics(table: pd.DataFrame, meta: dict[str, Any]) -> dict[str, float]:
    """Run-level counts: rows, scenarios, trials, infrastructure/agent errors and their rate, duration."""
    rows = len(table)
    status = table["status"].astype(str) if "status" in table.columns else pd.Series([], dtype=str)
    infra = int((status == Status.INFRA_ERROR).sum())
    agent = int((status == Status.AGENT_ERROR).sum())
    out = {
        "run.rows": float(rows),
        "run.scenarios": float(table["scenario_id"].nunique()) if "scenario_id" in table.columns else 0.0,
        "run.trials": float(table["trial"].nunique()) if "trial" in table.columns else 0.0,
        "run.infra_errors": float(infra),
        "run.infra_error_rate": infra / rows if rows else 1.0,
        "run.agent_errors": float(agent),
    }
    duration = meta.get("duration_s")
    if isinstance(duration, (int, float)) and math.isfinite(duration):
        out["run.duration_s"] = float(duration)
    return out
