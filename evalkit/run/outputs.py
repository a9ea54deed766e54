"""Run outputs on disk: ``results.parquet``, ``trajectories.jsonl.gz`` and ``meta.json``, written atomically.

The three files are written and read by :mod:`evalkit.store.artifacts`, so a run's ``--output-dir`` holds the
same bytes as the artifacts of its MLflow run (strict JSON: NaN is null).
"""

from __future__ import annotations

from pathlib import Path

from evalkit.atomic import check_targets, write_together
from evalkit.errors import UserError

RESULTS = "results.parquet"
TRAJECTORIES = "trajectories.jsonl.gz"
META = "meta.json"


def write_outputs(result, out_dir: str | Path) -> dict[str, Path]:
    """Write the three output files of ``result`` (a RunResult) into ``out_dir``; returns their paths."""
    from evalkit.store import artifacts

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError.at("--output-dir", "", str(out), f"cannot create it ({exc.strerror}); choose a writable directory") from None
    paths = {"results": out / RESULTS, "trajectories": out / TRAJECTORIES, "meta": out / META}
    check_targets(list(paths.values()), "--output-dir")
    with write_together():  # the three files land as one set, or none of them does
        artifacts.write_table(result.table, paths["results"])
        artifacts.write_trajectories(result.trajectories, paths["trajectories"])
        artifacts.write_json(result.meta, paths["meta"])
    return paths


def read_outputs(out_dir: str | Path):
    """Read a run directory written by :func:`write_outputs` back into a RunResult."""
    from evalkit.run.runner import RunResult
    from evalkit.score.schema import conform
    from evalkit.store import artifacts

    out = Path(out_dir)
    if missing := [n for n in (RESULTS, TRAJECTORIES, META) if not (out / n).is_file()]:
        raise UserError.at(str(out), "", ", ".join(missing), "not an evalkit run directory (missing files)")
    table = conform(artifacts.read_table(out / RESULTS))
    meta = artifacts.read_json(out / META)
    return RunResult(table, artifacts.read_trajectories(out / TRAJECTORIES), meta, list(meta.get("warnings", [])))
