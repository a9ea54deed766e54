"""Shared fixtures for the drift, dashboard-browser and notebook tests: one real demo history per session.

Generating the history runs the reference investigator for real (8 builds on the first 4 scenarios per
category of ``core``, 2 trials),
so it is built once per test process and shared by every module that asks for it (a module-level cache:
pytest would otherwise build a session fixture imported into two modules twice).
"""

from __future__ import annotations

import datetime as dt
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SOURCE = "core"
PER_CATEGORY = 4
SUITE = f"{SOURCE}-sub{PER_CATEGORY}"
BUILDS = 8  # reference 4, regression 3, fix 1
TRIALS = 2
END = dt.datetime(2024, 6, 20, 12, 0, tzinfo=dt.timezone.utc)


@dataclass
class DemoHistory:
    root: Path
    uri: str
    store: Any
    builds: list  # evalkit.drift.history.HistoryBuild
    ref_builds: int
    _drift: dict = field(default_factory=dict)

    def phase_orders(self, phase: str) -> list[int]:
        return [b.planned.index for b in self.builds if b.planned.phase == phase]

    def dashboard(self) -> tuple[Path, Any]:
        """The dashboard of the history (built once): (index.html, Drift)."""
        if "result" not in self._drift:
            from evalkit.drift import DriftParams, drift_dashboard

            self._drift["result"] = drift_dashboard(self.store, SUITE, self.root / "dashboard",
                                                    params=DriftParams(ref_builds=self.ref_builds))
        return self._drift["result"]


_CACHE: dict[str, DemoHistory] = {}


def demo_history(template_db: Path, tmp_path_factory: Any) -> DemoHistory:
    """The session's demo history in an embedded store copied from the conftest's empty template."""
    if "history" not in _CACHE:
        from evalkit.drift.history import HISTORY_RUN, generate_history, phase_sizes
        from evalkit.store import Store, embedded_uri

        root = tmp_path_factory.mktemp("drift-demo-history")
        db = root / ".evalkit" / "mlflow" / "mlflow.db"
        db.parent.mkdir(parents=True)
        shutil.copyfile(template_db, db)
        uri = embedded_uri(root)
        store = Store(uri, root=root)
        builds = generate_history(store, SOURCE, BUILDS, HISTORY_RUN.replace(trials=TRIALS, seed=0),
                                  per_category=PER_CATEGORY, suites_dir=root / "suites", end=END, spacing_hours=12.0)
        assert builds[0].suite == SUITE
        _CACHE["history"] = DemoHistory(root, uri, store, builds, phase_sizes(BUILDS)["reference"])
    return _CACHE["history"]
