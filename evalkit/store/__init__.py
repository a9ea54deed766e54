"""evalkit.store: MLflow as the system of record — runs, promoted baselines, committed exports, the outbox.

Importing this package does not import mlflow (that happens on first use of a :class:`Store`).
"""

from evalkit.store.baselines import Promotion
from evalkit.store.exchange import BaselineSource, export_baseline, import_baseline, read_export, resolve_baseline
from evalkit.store.names import DEFAULT_ALIAS, PROMOTIONS_EXPERIMENT, experiment_name, metric_key
from evalkit.store.outbox import OutboxEntry, SyncResult
from evalkit.store.runs import RunInfo
from evalkit.store.store import LoggedRun, Store
from evalkit.store.tracking import TrackingUnreachable, embedded_uri, resolve_tracking

__all__ = [
    "BaselineSource", "DEFAULT_ALIAS", "LoggedRun", "OutboxEntry", "PROMOTIONS_EXPERIMENT", "Promotion", "RunInfo", "Store",
    "SyncResult", "TrackingUnreachable", "embedded_uri", "experiment_name", "export_baseline",
    "import_baseline", "metric_key", "read_export", "resolve_baseline", "resolve_tracking",
]
