"""Per-category and overall aggregates of a results table, clustered by scenario.

Trials are averaged per scenario first (the scenario is the unit of analysis); then per category:
mean, SE = sd(x_i)/sqrt(n), 95% CI with the t quantile (n − 1 df; clipped to [0, 1] for 0–1 metrics),
scenario and trial counts. Binary
scores also get pass@k and pass^k for k = 1..K, and every error class an error rate. Two overall rows:
``__overall_micro__`` pools all scenarios; ``__overall_macro__`` averages the category means
(SE = sqrt(Σ SE_c²)/C, df = Σ(n_c − 1)). Output is long: one row per (category, metric).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from evalkit.score.passk import pass_at_k, pass_hat_k
from evalkit.score.catalogue import BINARY, COSTS, CUSTOM_PREFIX, SCORES, on_unit_scale
from evalkit.score.schema import OVERALL_MACRO, OVERALL_MICRO
from evalkit.vocab import Status

MACRO, MICRO = OVERALL_MACRO, OVERALL_MICRO
#: name -> dtype, in order (as schema.RESULT_COLUMNS for the results table).
AGGREGATE_COLUMNS = {"category": "string", "metric": "string", "mean": "float64", "se": "float64", "ci_low": "float64",
                     "ci_high": "float64", "n_scenarios": "int64", "n_trials": "int64"}
CONFIDENCE = 0.95


def error_rate_name(error_class: str) -> str:
    return f"error_rate.{error_class}"


def _trial_metrics(table: pd.DataFrame) -> pd.DataFrame:
    """Numeric per-trial columns to aggregate: scores, cost (NaN on infra rows), custom, error indicators."""
    infra = (table["status"] == Status.INFRA_ERROR).to_numpy()
    custom = sorted(c for c in table.columns if c.startswith(CUSTOM_PREFIX))
    cols = {c: table[c].to_numpy(dtype=float, na_value=np.nan, copy=True) for c in (*SCORES, *COSTS, *custom)}
    for c in COSTS:
        cols[c][infra] = np.nan
    status = table["status"].astype(str).to_numpy()
    klass = table["error_class"].astype(str).to_numpy()
    cols[error_rate_name("any")] = (status != Status.OK).astype(float)
    cols[error_rate_name("agent")] = (status == Status.AGENT_ERROR).astype(float)
    cols[error_rate_name("infra")] = (status == Status.INFRA_ERROR).astype(float)
    for ec in sorted(set(klass) - {""}):
        cols[error_rate_name(ec)] = (klass == ec).astype(float)
    return pd.DataFrame(cols, index=table.index)


def _scenario_values(table: pd.DataFrame) -> pd.DataFrame:
    """Long frame (category, scenario_id, metric, value, trials) of per-scenario values."""
    frame = pd.concat([table[["category", "scenario_id"]].astype(str), _trial_metrics(table)], axis=1)
    grouped = frame.groupby(["category", "scenario_id"], sort=True)
    means = grouped.mean()
    counts = grouped.count()
    long = means.stack(future_stack=True).rename("value").to_frame()
    long["trials"] = counts.stack(future_stack=True).to_numpy()
    parts = [long]
    # pass@k / pass^k for binary scores, k = 1..K, evaluated on a (scenario x k) grid at once.
    k_max = int(grouped.size().max()) if len(frame) else 0
    ks = np.arange(1, k_max + 1, dtype=float)
    for metric in (m for m in SCORES if m in BINARY):
        n = counts[metric].to_numpy(dtype=float)[:, None]
        c = np.nan_to_num(grouped[metric].sum(min_count=1).to_numpy(dtype=float))[:, None]
        trials = np.where(n >= ks[None, :], n, 0.0).ravel()
        for prefix, fn in (("pass_at", pass_at_k), ("pass_hat", pass_hat_k)):
            values = fn(n, c, ks[None, :])
            index = pd.MultiIndex.from_arrays([
                np.repeat(means.index.get_level_values(0), k_max),
                np.repeat(means.index.get_level_values(1), k_max),
                np.tile([f"{metric}.{prefix}_{int(k)}" for k in ks], len(means)),
            ])
            parts.append(pd.DataFrame({"value": values.ravel(), "trials": trials}, index=index))
    out = pd.concat(parts).reset_index()
    out.columns = ["category", "scenario_id", "metric", "value", "trials"]
    return out


def _summarise(long: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    valid = long[long["value"].notna()]
    g = valid.groupby(by, sort=False)
    res = pd.DataFrame({
        "mean": g["value"].mean(),
        "sd": g["value"].std(ddof=1),
        "n_scenarios": g["value"].count(),
        "n_trials": g["trials"].sum(),
    })
    n = res["n_scenarios"].to_numpy(dtype=float)
    res["se"] = res["sd"] / np.sqrt(n)
    res["df"] = n - 1
    return res.drop(columns="sd")


def _bounded(metric: str) -> bool:
    """Values of ``metric`` lie in [0, 1]: 0–1 scores, their pass@k / pass^k, and error rates."""
    return metric.startswith("error_rate.") or on_unit_scale(metric.split(".pass_")[0])


def _with_ci(res: pd.DataFrame) -> pd.DataFrame:
    """t interval of the mean, clipped to [0, 1] for bounded metrics: at two scenarios the t quantile is 12.7,
    and an interval reaching past what the metric can take says nothing more than the range itself."""
    df = res["df"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        q = np.where(df >= 1, special.stdtrit(np.where(df >= 1, df, 1), 0.5 + CONFIDENCE / 2), np.nan)
    half = q * res["se"].to_numpy(dtype=float)
    lo, hi = res["mean"].to_numpy(dtype=float) - half, res["mean"].to_numpy(dtype=float) + half
    bounded = np.array([_bounded(m) for m in res.index.get_level_values("metric")], dtype=bool)
    res["ci_low"] = np.where(bounded, np.clip(lo, 0.0, 1.0), lo)
    res["ci_high"] = np.where(bounded, np.clip(hi, 0.0, 1.0), hi)
    return res


def aggregate(table: pd.DataFrame) -> pd.DataFrame:
    """Per category and overall (macro, micro): mean, clustered SE, 95% CI, pass@k, pass^k, error rates.

    Columns: ``category, metric, mean, se, ci_low, ci_high, n_scenarios, n_trials``. NaN scores (infra
    failures) are left out; a metric with one scenario has NaN SE and CI.
    """
    if len(table) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in AGGREGATE_COLUMNS.items()})
    long = _scenario_values(table)
    metric_order = {m: i for i, m in enumerate(pd.unique(long["metric"]))}

    per_cat = _summarise(long, ["category", "metric"])
    cat = per_cat.reset_index()
    cat["se2"] = cat["se"] ** 2
    g = cat.groupby("metric", sort=False)
    macro = pd.DataFrame({
        "mean": g["mean"].mean(),
        "se": np.sqrt(g["se2"].sum()) / g["mean"].count().astype(float),
        "n_scenarios": g["n_scenarios"].sum(),
        "n_trials": g["n_trials"].sum(),
        "df": g["df"].sum(),
    })
    undefined = cat["se"].isna().groupby(cat["metric"], sort=False).any()
    macro.loc[undefined[undefined].index, "se"] = np.nan  # one undefined category SE -> undefined
    overall = pd.concat({MACRO: macro, MICRO: _summarise(long, ["metric"])}, names=["category"])

    out = _with_ci(pd.concat([per_cat, overall])).reset_index()
    cats = sorted(c for c in out["category"].unique() if c not in (MACRO, MICRO)) + [MACRO, MICRO]
    out["_c"] = out["category"].map({c: i for i, c in enumerate(cats)})
    out["_m"] = out["metric"].map(metric_order)
    out = out.sort_values(["_c", "_m"], kind="mergesort")
    return out[list(AGGREGATE_COLUMNS)].reset_index(drop=True).astype(AGGREGATE_COLUMNS)


def error_counts(table: pd.DataFrame) -> pd.DataFrame:
    """Trials per category and error class (rows: categories + ``__overall_micro__``; '' = ok)."""
    counts = pd.crosstab(table["category"].astype(str), table["error_class"].astype(str).replace("", Status.OK.value))
    counts.loc[MICRO] = counts.sum()
    return counts
