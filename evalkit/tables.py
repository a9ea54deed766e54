"""Resolve a run reference (MLflow run id, results.parquet, or a run output folder) to a results table.

Used by ``compare`` and ``report`` so that every command accepts runs the same way.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from evalkit.errors import UserError


def load_run_table(ref: str, store=None) -> tuple[pd.DataFrame, str]:
    """(table, description) for ``ref``: a path to a results Parquet / run folder, else an MLflow run id."""
    from evalkit.score.schema import conform

    path = Path(ref)
    if path.is_dir():
        path = path / "results.parquet"
        if not path.is_file():
            raise UserError.at(ref, "results.parquet", "missing",
                               "pass a run output folder written by `evalkit run`, a results .parquet or a run id")
    if path.suffix == ".parquet" or path.is_file():
        if not path.is_file():
            raise UserError.at(str(path), "path", "not found", "check the path to the results .parquet")
        try:
            table = pd.read_parquet(path)
            return conform(table), f"file {path}"
        except (ValueError, OSError) as exc:
            raise UserError.at(str(path), "parquet", type(exc).__name__,
                               f"not a readable evalkit results table ({exc}); rerun `evalkit run`") from None
    if store is None:
        from evalkit.store import Store

        store = Store()
    try:
        return store.load_table(ref), f"MLflow run {ref} [{store.tracking_uri}]"
    except UserError:
        raise
    except Exception as exc:  # mlflow raises its own exception types for unknown run ids
        raise UserError.at(f"run {ref}", "run id", ref,
                           f"no such MLflow run in {store.tracking_uri} ({type(exc).__name__}); pass a run id, a "
                           "results .parquet or a run folder") from None
