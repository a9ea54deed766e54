"""Whether a stored results table can be used as it is: every schema column, each of the right kind, some rows.

A table read back from a file or a store is the user's input (a committed baseline export can be edited, a
store can hold another tool's runs): :func:`check_results` refuses it in one line naming the first column
that is missing or holds the wrong kind of values, instead of letting a cast fail (or worse, succeed: scores
stored as the strings ``"1.0"`` would quietly become numbers) somewhere inside a comparison.
"""

from __future__ import annotations

import pandas as pd
from pandas.api import types

from evalkit.errors import UserError
from evalkit.score.catalogue import CUSTOM_PREFIX
from evalkit.score.schema import RESULT_COLUMNS


def _kind_problem(series: pd.Series, dtype: str) -> str | None:
    """What is wrong with ``series`` as a column of schema dtype ``dtype`` (None when it conforms)."""
    if dtype == "string":
        if types.is_string_dtype(series.dtype) and all(isinstance(v, str) for v in series.dropna()):
            return None
        return "holds values that are not text"
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
