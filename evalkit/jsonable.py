"""Turn nested results into strict JSON values: dataclasses → dicts, numpy scalars → Python values, tuples and
sets → lists, NaN/inf and pandas NA → None. The one cleaner behind every JSON evalkit writes."""

from __future__ import annotations

import dataclasses
import math
import sys
from typing import Any


def jsonable(x: Any) -> Any:
    """A copy of ``x`` that ``json.dumps(..., allow_nan=False)`` accepts (keys become strings). Objects JSON has no
    form for (paths, frames) are left as they are, for the caller's ``default``."""
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        x = dataclasses.asdict(x)
    if isinstance(x, dict):
        return {k if isinstance(k, str) else str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in x]
    if x is None or isinstance(x, (str, bytes, int)):  # bool is an int
        return x
    if hasattr(x, "item"):  # numpy scalars (and 0-d arrays)
        try:
            x = x.item()
        except (TypeError, ValueError):
            return x
    if isinstance(x, float):
        return float(x) if math.isfinite(x) else None
    pd = sys.modules.get("pandas")  # only a loaded pandas can have produced pd.NA
    if pd is not None and x is pd.NA:
        return None
    return x
