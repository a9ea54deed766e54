"""The rule every comparison obeys, checked on every Comparison the test suite builds (tests/conftest.py):
the bounds a report prints are the ones that decided, so a row's interval and its verdict never disagree."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evalkit.vocab import Verdict

_NEEDED = {"verdict", "bound_low", "bound_high", "margin", "direction"}
TOL = 1e-9


def disagreements(cells: pd.DataFrame) -> list[str]:
    """Rows whose verdict their printed bounds contradict (oriented so that higher is better):
    regressed ⇔ upper < −m; not-worse ⇒ lower > −m; improved ⇒ lower > +m; inconclusive ⇒ neither a
    regression nor non-inferiority is shown; within-delta ⇒ the futility bound lies above −δ."""
    if not _NEEDED <= set(cells.columns):
        return []
    out = []
    for r in cells.itertuples(index=False):
        sign = 1.0 if r.direction == "higher" else -1.0
        lo, hi = (r.bound_low, r.bound_high) if sign > 0 else (-r.bound_high, -r.bound_low)
        m, v = r.margin, r.verdict
        if not (np.isfinite(lo) and np.isfinite(hi)):
            ok = v == Verdict.INCONCLUSIVE
        elif v == Verdict.REGRESSED:
            ok = hi < -m + TOL
        elif v == Verdict.IMPROVED:
            ok = lo > m - TOL and hi >= -m - TOL
        elif v == Verdict.NOT_WORSE:
            ok = lo > -m - TOL and hi >= -m - TOL
        elif v == Verdict.WITHIN_DELTA:
            ok = hi >= -m - TOL and sign * r.bound_delta > -r.delta - TOL
        else:
            ok = v == Verdict.INCONCLUSIVE and hi >= -m - TOL and lo <= -m + TOL
        if not ok:
            out.append(f"{r.category}/{r.metric}: {v} with bounds [{r.bound_low}, {r.bound_high}], margin {m}")
    return out
