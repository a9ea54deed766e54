"""Quality drift across builds: metric series from the store, change detection, demo history, dashboard.

- :func:`load_series` (``series.py``): per-build, per-category aggregates of a suite from MLflow run metrics.
- :func:`detect` (``detect.py``): z on each build's own SE, EWMA, lower CUSUM alarms, verdicts.
- :func:`generate_history` (``history.py``): real reference-agent builds logged backdated, with promotions.
- :func:`build_dashboard` (``dashboard.py`` + ``plots.py``): the static HTML page.
- :func:`drift_dashboard`: all of it in one call (what ``evalkit drift`` runs).

Submodules are imported on first use so ``import evalkit.drift`` stays cheap.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from evalkit.workspace import DEFAULT_ALIAS

_EXPORTS = {
    "BuildSeries": "evalkit.drift.series",
    "load_series": "evalkit.drift.series",
    "series_from_frame": "evalkit.drift.series",
    "Drift": "evalkit.drift.detect",
    "DriftParams": "evalkit.drift.detect",
    "detect": "evalkit.drift.detect",
    "generate_history": "evalkit.drift.history",
    "history_plan": "evalkit.drift.history",
    "build_dashboard": "evalkit.drift.dashboard",
}

__all__ = sorted([*_EXPORTS, "drift_dashboard", "drift_for_suite"])


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'evalkit.drift' has no attribute {name!r}")


def drift_dashboard(store: Any, suite: str, out_dir: str | Path, *, alias: str = DEFAULT_ALIAS, since: Any = None,
                    metrics: tuple[str, ...] | None = None, params: Any = None, recent: int = 20,
                    policy: Any = None) -> tuple[Path, Any]:
    """:func:`drift_for_suite`, then its dashboard written into ``out_dir`` (the policy's margins also colour the
    overview grid). Returns (index.html path, :class:`Drift`)."""
    from evalkit.drift.dashboard import build_dashboard

    drift = drift_for_suite(store, suite, alias=alias, since=since, metrics=metrics, params=params, policy=policy)
    return build_dashboard(drift, out_dir, recent=recent), drift


def drift_for_suite(store: Any, suite: str, *, alias: str = DEFAULT_ALIAS, since: Any = None,
                    metrics: tuple[str, ...] | None = None, params: Any = None, policy: Any = None) -> Any:
    """The :class:`Drift` of ``suite``'s stored history: ``metrics`` default to the gated metrics of ``policy``
    (default: the suite's policy file, else the default policy), whose margins the detector uses."""
    from evalkit.compare.policy import policy_for_suite
    from evalkit.drift.detect import detect
    from evalkit.drift.series import load_series

    pol = policy if policy is not None else policy_for_suite(suite)
    series = load_series(store, suite, alias, since=since, metrics=tuple(metrics or pol.metrics))
    return detect(series, params, margin_for=pol.margin_for)
