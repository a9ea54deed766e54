"""On-disk formats of a run's artifacts: results Parquet, gzip JSON-lines trajectories, JSON meta.

Shared by MLflow logging, the offline outbox, committed baseline exports and a run's ``--output-dir``, so all
four read back the same bytes. Writes are atomic (temporary file + rename): nothing is ever half-written.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import zlib
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from evalkit.atomic import atomic_path, atomic_write
from evalkit.errors import UserError
from evalkit.jsonable import jsonable

#: gzip level for trajectories: 1 is ~3x faster than 6 for ~10 % more bytes on JSON lines.
GZIP_LEVEL = 1


def write_table(table: pd.DataFrame, path: Path) -> None:
    """Results table → Parquet, dtypes preserved (pandas metadata), exactly the frame given."""
    import io

    buf = io.BytesIO()
    table.to_parquet(buf, engine="pyarrow", compression="snappy")
    atomic_write(path, buf.getvalue())


def read_table(path: Path, where: str | None = None, fix: str = "") -> pd.DataFrame:
    """A Parquet table. With ``where`` (the file or run it is, for the message) a file that is not readable
    Parquet is the user's error (exit 2, ``fix`` says what to do), not a pyarrow traceback."""
    if where is None:
        return pd.read_parquet(path, engine="pyarrow")
    import pyarrow as pa

    try:
        return pd.read_parquet(path, engine="pyarrow")
    # what pyarrow and pandas raise on bytes that are not a Parquet file of a DataFrame
    except (pa.ArrowException, ValueError, OSError, TypeError, KeyError, IndexError, NotImplementedError,
            OverflowError, RecursionError) as exc:
        raise UserError.at(where, "parquet", type(exc).__name__,
                           f"not a readable Parquet file ({str(exc)[:80]}); {fix}") from None


def _json_default(value: Any) -> Any:
    """What ``json.dumps`` writes for an object it has no form for: a frame's dict, what :func:`jsonable` makes of
    it (dataclass, numpy scalar, set, NA), else its text (paths)."""
    if hasattr(value, "to_dict") and not dataclasses.is_dataclass(value):
        return value.to_dict()
    cleaned = jsonable(value)
    return str(value) if cleaned is value else cleaned


def dumps(doc: Any) -> str:
    """Strict, compact JSON for one document (NaN/inf become null)."""
    try:
        return json.dumps(doc, default=_json_default, ensure_ascii=False, allow_nan=False)
    except ValueError:
        return json.dumps(jsonable(doc), default=_json_default, ensure_ascii=False, allow_nan=False)


def write_trajectories(trajectories: Iterable[dict], path: Path) -> None:
    """Trajectories → gzip-compressed JSON lines, one trial per line, compressed as they stream by (a run's
    trajectories need not fit in memory). The same bytes as ``gzip.compress`` of the whole text with mtime 0."""
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: a gzip header and trailer, mtime 0
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        for t in trajectories:
            fh.write(deflate.compress((dumps(t) + "\n").encode("utf-8")))
        fh.write(deflate.flush())


def read_trajectories(path: Path) -> list[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_json(doc: Any, path: Path) -> None:
    atomic_write(path, (json.dumps(jsonable(doc), default=_json_default, ensure_ascii=False, indent=2,
                                   sort_keys=True) + "\n").encode("utf-8"))


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))
