"""Run outputs on disk: ``results.parquet``, ``trajectories.jsonl.gz`` and ``meta.json``, written atomically."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd

from evalkit.atomic import atomic_path, atomic_write
from evalkit.errors import UserError

RESULTS = "results.parquet"
TRAJECTORIES = "trajectories.jsonl.gz"
META = "meta.json"


def write_outputs(result, out_dir: str | Path) -> dict[str, Path]:
    """Write the three output files of ``result`` (a RunResult) into ``out_dir``; returns their paths."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError.at("--output-dir", "", str(out), f"cannot create it ({exc.strerror}); choose a writable directory") from None
    paths = {"results": out / RESULTS, "trajectories": out / TRAJECTORIES, "meta": out / META}

    with atomic_path(paths["results"]) as tmp:
        result.table.to_parquet(tmp, index=False)
    with atomic_path(paths["trajectories"]) as tmp, gzip.open(tmp, "wt", encoding="utf-8", compresslevel=5) as fh:
        for t in result.trajectories:
            fh.write(json.dumps(t, separators=(",", ":"), default=str) + "\n")
    atomic_write(paths["meta"], json.dumps(result.meta, indent=2, default=str) + "\n")
    return paths


def read_outputs(out_dir: str | Path):
    """Read a run directory written by :func:`write_outputs` back into a RunResult."""
    from evalkit.run.runner import RunResult
    from evalkit.score.schema import conform

    out = Path(out_dir)
    missing = [n for n in (RESULTS, TRAJECTORIES, META) if not (out / n).is_file()]
    if missing:
        raise UserError.at(str(out), "", ", ".join(missing), "not an evalkit run directory (missing files)")
    table = conform(pd.read_parquet(out / RESULTS))
    with gzip.open(out / TRAJECTORIES, "rt", encoding="utf-8") as fh:
        trajectories = [json.loads(line) for line in fh if line.strip()]
    meta = json.loads((out / META).read_text())
    return RunResult(table, trajectories, meta, list(meta.get("warnings", [])))
