"""Resolve a run reference (MLflow run id, results.parquet, or a run output folder) to a results table.

Used by ``compare`` and ``report`` so that every command accepts runs the same way.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from evalkit.errors import UserError
from evalkit.run.outputs import RESULTS


def load_run_table(ref: str, store=None) -> tuple[pd.DataFrame, str]:
    """(table, description) for ``ref``: a path to a results Parquet / run folder, else a run id in ``store``
    (default: the project's store)."""
    from evalkit.score.schema import conform
    from evalkit.score.table_check import check_results
    from evalkit.store.artifacts import read_table

    path = Path(ref)
    if path.is_dir():
        path = path / RESULTS
        if not path.is_file():
            raise UserError.at(ref, RESULTS, "missing",
                               "pass a run output folder written by `evalkit run`, a results .parquet or a run id")
    if path.suffix == ".parquet" or path.is_file():
        if not path.is_file():
            raise UserError.at(str(path), "path", "not found", "check the path to the results .parquet")
        fix = "pass a results table written by `evalkit run` (or rerun it)"
        table = read_table(path, str(path), fix)
        check_results(table, str(path), fix)
        return conform(table), f"file {path}"
    if store is None:
        from evalkit.store import Store

        store = Store()
    try:
        table = store.load_table(ref)
    except UserError:
        raise
    except Exception as exc:  # mlflow raises its own exception types for unknown run ids
        raise UserError.at(f"run {ref}", "run id", ref,
                           f"no such MLflow run in {store.tracking_uri} ({type(exc).__name__}); pass a run id, a "
                           "results .parquet or a run folder") from None
    check_results(table, f"MLflow run {ref}", "pick a run logged by `evalkit run`")
    return table, f"MLflow run {ref} [{store.tracking_uri}]"
