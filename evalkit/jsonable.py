"""Turn nested results (dicts, lists, numpy scalars, NaN) into strict JSON values: NaN/inf and pandas NA → None."""

from __future__ import annotations

import math
import sys
from typing import Any

import numpy as np


def jsonable(x: Any) -> Any:
    """A copy of ``x`` that ``json.dumps(..., allow_nan=False)`` accepts (keys become strings)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.bool_, bool)):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else None
    pd = sys.modules.get("pandas")  # only a loaded pandas can have produced pd.NA
    if x is None or (pd is not None and x is pd.NA):
        return None
    return x
