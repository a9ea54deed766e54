"""pass@k and pass^k per scenario, vectorised (docs/statistics.md).

For a scenario with ``n`` scored trials of which ``c`` succeeded:

- pass@k = 1 − C(n−c, k)/C(n, k): the chance that at least one of k trials drawn without replacement
  succeeds (the unbiased estimator of Chen et al., 2021);
- pass^k = C(c, k)/C(n, k): the chance that all k succeed (tau-bench's consistency metric).

Both are NaN when ``n < k``. Binomials are evaluated in log space, so large ``n`` neither overflows nor
loses precision.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln


def _log_comb(a: np.ndarray, k: np.ndarray) -> np.ndarray:
    return gammaln(a + 1.0) - gammaln(k + 1.0) - gammaln(a - k + 1.0)


def _ratio(top: np.ndarray, n: np.ndarray, k: np.ndarray) -> np.ndarray:
    """C(top, k)/C(n, k) elementwise, 0 where top < k, NaN where n < k."""
    top, n, k = np.broadcast_arrays(np.asarray(top, float), np.asarray(n, float), np.asarray(k, float))
    out = np.full(top.shape, np.nan)
    valid = (n >= k) & (k >= 0) & np.isfinite(n) & np.isfinite(top)
    pos = valid & (top >= k)
    out[valid & ~pos] = 0.0
    out[pos] = np.exp(_log_comb(top[pos], k[pos]) - _log_comb(n[pos], k[pos]))
    return out


def pass_at_k(n, c, k) -> np.ndarray:
    """Unbiased pass@k for ``n`` trials with ``c`` successes (arrays broadcast); NaN where n < k."""
    return 1.0 - _ratio(np.subtract(n, c, dtype=float), n, k)


def pass_hat_k(n, c, k) -> np.ndarray:
    """pass^k: probability that k trials drawn without replacement all succeed; NaN where n < k."""
    return _ratio(c, n, k)
