"""Whether a stored results table can be used as it is: every schema column, each of the right kind, some rows.

A table read back from a file or a store is the user's input (a committed baseline export can be edited, a
store can hold another tool's runs): :func:`check_results` refuses it in one line naming the first column
that is missing or holds the wrong kind of values, instead of letting a cast fail (or worse, succeed: scores
stored as the strings ``"1.0"`` would quietly become numbers) somewhere inside a comparison.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api import types

from evalkit.errors import UserError
from evalkit.score.catalogue import CUSTOM_PREFIX, METRICS
from evalkit.score.schema import RESULT_COLUMNS


def _kind_problem(series: pd.Series, dtype: str) -> str | None:
    """What is wrong with ``series`` as a column of schema dtype ``dtype`` (None when it conforms)."""
    if dtype == "string":
        text = types.is_string_dtype(series.dtype) and all(isinstance(v, str) for v in series.dropna())
        return None if text else "holds values that are not text"
    if types.is_bool_dtype(series.dtype) or not types.is_numeric_dtype(series.dtype):
        return "holds values that are not numbers (text?)"
    if dtype == "int64" and types.is_float_dtype(series.dtype):
        values = series.to_numpy(dtype="float64")
        if not (pd.notna(values).all() and (values == values.round()).all()):
            return "holds missing or fractional values where whole numbers belong"
    return None


def check_results(table: pd.DataFrame, where: str, fix: str) -> None:
    """Raise UserError (``where``: the file or run; ``fix``: how to get a good table) unless ``table`` has every
    schema column with values of its kind (custom score columns numeric) and at least one row."""
    missing = [c for c in RESULT_COLUMNS if c not in table.columns]
    if missing:
        raise UserError.at(where, "columns", missing, f"not an evalkit results table (columns missing); {fix}")
    if table.empty:
        raise UserError.at(where, "rows", 0, f"the results table is empty; {fix}")
    custom = [c for c in table.columns if isinstance(c, str) and c.startswith(CUSTOM_PREFIX)]
    for column, dtype in [*RESULT_COLUMNS.items(), *((c, "float64") for c in custom)]:
        problem = _kind_problem(table[column], dtype)
        if problem is not None:
            raise UserError.at(where, column, f"stored as {table[column].dtype}",
                               f"{problem}, the schema's type is {dtype}; {fix}")
    _check_values(table, where, fix)


def _check_values(table: pd.DataFrame, where: str, fix: str) -> None:
    """Values the schema's types allow but no run writes: a score off its scale, an infinite or negative cost, a
    negative trial, several builds or suites in one run, a trial listed twice. A comparison would print them
    (a candidate at 300 %) or silently judge the first build's name."""
    for name, m in METRICS.items():
        values = table[name].to_numpy(dtype="float64")
        lo, hi = m.scale if m.scale is not None else (-np.inf, np.inf)
        bad = ~np.isnan(values) & ~((values >= lo) & (values <= hi) & np.isfinite(values))
        if bad.any():
            raise UserError.at(where, name, float(values[bad][0]), f"outside its scale [{lo:g}, {hi:g}] (or not "
                               f"finite) in {int(bad.sum())} row(s); {fix}")
    if (table["trial"] < 0).any():
        raise UserError.at(where, "trial", int(table["trial"].min()), f"trial numbers start at 0; {fix}")
    for column in ("suite", "suite_hash", "build_id"):
        found = pd.unique(table[column])
        if len(found) > 1:
            raise UserError.at(where, column, ", ".join(map(str, found[:3])), f"one run holds one {column}; {fix}")
    twice = table.duplicated(["scenario_id", "trial"])
    if twice.any():
        row = table[twice].iloc[0]
        raise UserError.at(where, "scenario_id/trial", f"{row['scenario_id']}/{row['trial']}",
                           f"listed {int(twice.sum()) + 1} times or more; each trial is one row; {fix}")
