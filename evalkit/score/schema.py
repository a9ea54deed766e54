"""The results table: one row per scenario × trial. Everything downstream reads this table.

Column order and dtypes are fixed here; :func:`conform` coerces a frame to them so round trips through
Parquet/MLflow compare equal. Score columns are float64 (NaN where not scorable: infrastructure
failures). Extra user-scorer columns are named ``custom.<scorer>.<name>`` (float64).
"""

from __future__ import annotations

import pandas as pd

from evalkit.score.catalogue import CUSTOM_PREFIX

#: the pseudo-categories of the aggregates: the mean over categories (macro) and over scenarios (micro).
OVERALL_MACRO = "__overall_macro__"
OVERALL_MICRO = "__overall_micro__"


def category_label(category: str) -> str:
    """How reports name a category: ``overall`` for the micro-averaged row, the category itself otherwise."""
    return "overall" if category == OVERALL_MICRO else category

#: name -> dtype, in order.
RESULT_COLUMNS: dict[str, str] = {
    # identity
    "suite": "string",
    "suite_hash": "string",
    "build_id": "string",
    "agent_spec": "string",
    "run_seed": "int64",
    "scenario_id": "string",
    "category": "string",
    "trial": "int64",
    "seed": "int64",
    # outcome
    "status": "string",          # evalkit.vocab.Status: ok | agent_error | infra_error
    "error_class": "string",     # "" when ok; see evalkit.vocab.ErrorClass
    "error_message": "string",
    "predicted": "string",       # JSON list of ranked components
    "predicted_fault": "string",  # top hypothesis' fault type ("" if none)
    "expected_component": "string",
    "expected_fault": "string",
    # scores
    "rca_top1": "float64",
    "rca_top3": "float64",
    "fault_type_correct": "float64",
    "rca_score": "float64",
    "evidence_recall": "float64",
    "distractor_ratio": "float64",
    # cost
    "tool_calls": "int64",
    "latency_s": "float64",
    "tokens_in": "float64",
    "tokens_out": "float64",
    "cost_usd": "float64",
}

# What each score and cost column means to a gate (scale, direction, binary, display): evalkit.score.catalogue.


def empty_results() -> pd.DataFrame:
    return conform(pd.DataFrame({c: pd.Series([], dtype=t) for c, t in RESULT_COLUMNS.items()}))


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with the schema's columns in order and dtypes; extra custom columns kept (float64)."""
    missing = [c for c in RESULT_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"results table lacks column(s) {missing}")
    out = df.copy()
    custom = sorted(c for c in out.columns if c.startswith(CUSTOM_PREFIX))
    for c, t in [*RESULT_COLUMNS.items(), *((c, "float64") for c in custom)]:
        out[c] = out[c].fillna("").astype("string") if t == "string" else out[c].astype(t)
    return out[list(RESULT_COLUMNS) + custom].reset_index(drop=True)


def sort_results(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical row order (scenario, trial) so tables from different executors compare equal."""
    return df.sort_values(["scenario_id", "trial"], kind="mergesort").reset_index(drop=True)
