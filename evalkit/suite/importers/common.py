"""Shared machinery of the dataset importers: input checks that end in one-line UserErrors, a staging
folder that becomes the suite in one rename, deterministic writers and monitor evaluation.

An importer reads a public dataset folder and writes a normal evalkit suite (docs/suite-format.md):
visible scenario files with materialized worlds, and truth files kept apart. Same input, same bytes:
files are written in sorted order with sorted keys, floats are rounded to 6 significant digits, and
gzip members carry no timestamp.
"""

from __future__ import annotations

import gzip
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from evalkit.errors import UserError
from evalkit.suite.materialized import write_json
from evalkit.suite.staging import StagedSuite, suite_toml
from evalkit.workspace import CHECKOUT
from evalkit.world.noise import EVENT_ORDER, LOG_ORDER

#: environment variable that overrides where the shared datasets live.
DATASETS_ENV = "EVALKIT_DATASETS"
SIGNIFICANT_DIGITS = 6


def datasets_root() -> Path:
    """Folder holding the public datasets: ``$EVALKIT_DATASETS`` or ``<repo>/../shared/datasets``."""
    env = os.environ.get(DATASETS_ENV)
    return Path(env) if env else CHECKOUT.parent / "shared" / "datasets"


@dataclass
class ImportResult:
    """What an import wrote: the suite folder, scenario counts per category and the cases left out."""

    path: Path
    hash: str
    per_category: dict[str, int]
    skipped: list[tuple[str, str]] = field(default_factory=list)   # (case, reason)

    @property
    def scenarios(self) -> int:
        return sum(self.per_category.values())


# --- reading inputs ------------------------------------------------------------------------------------

def fail(where: Path | str, field_: str, value: object, fix: str) -> UserError:
    """A one-line UserError about an input file (raise the result)."""
    return UserError.at(str(where), field_, value, fix)


def read_json(path: Path, fix: str) -> Any:
    """Parse a JSON input file; a missing or malformed file is a UserError naming the file."""
    if not path.is_file():
        raise fail(path, "", "missing", fix)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise fail(path, f"line {exc.lineno} col {exc.colno}", f"malformed JSON: {exc.msg}",
                   "restore the file from the upstream dataset")
    except (UnicodeDecodeError, OSError) as exc:
        raise fail(path, "", f"unreadable ({type(exc).__name__})", "restore the file from the upstream dataset")


def read_csv(path: Path, required: Iterable[str] = (), **kwargs: Any):
    """Parse a CSV input file (gzip by suffix) with pandas; unreadable or missing columns -> UserError."""
    import pandas as pd

    if not path.is_file():
        raise fail(path, "", "missing", "restore the file from the upstream dataset")
    try:
        df = pd.read_csv(path, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any parse failure means a corrupt input file
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise fail(path, "", f"unreadable CSV ({type(exc).__name__}: {msg})",
                   "restore the file from the upstream dataset")
    if missing := [c for c in required if c not in df.columns]:
        raise fail(path, "columns", ",".join(map(str, list(df.columns)[:8])),
                   f"missing column(s) {missing}; restore the file from the upstream dataset")
    return df


def round_sig(x: np.ndarray, digits: int = SIGNIFICANT_DIGITS) -> np.ndarray:
    """Round to ``digits`` significant digits (vectorised; NaN/0 kept), so unit conversions are clean."""
    x = np.asarray(x, dtype=float)
    out = x.copy()
    ok = np.isfinite(x) & (x != 0)
    mag = np.floor(np.log10(np.abs(x[ok])))
    scale = 10.0 ** (digits - 1 - mag)
    out[ok] = np.round(x[ok] * scale) / scale
    return out


def robust_threshold(values: np.ndarray, k: float = 3.0, floor: float = 0.0) -> float | None:
    """``median + k * 1.4826 * MAD`` of the finite values (at least ``floor``); None without data."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not len(v):
        return None
    med = float(np.median(v))
    mad = float(np.median(np.abs(v - med))) * 1.4826
    return float(round_sig(np.array([max(med + k * mad, floor)]))[0])


def evaluate_monitor(name: str, component: str, metric: str, threshold: float, ts: np.ndarray,
                     values: np.ndarray) -> dict:
    """A monitor ``metric > threshold`` replayed over a series: ALERT at a sample above, OK at a sample below
    (missing samples change nothing); NO_DATA without samples."""
    state, history, last, seen = "OK", [], None, False
    for t, v in zip(np.asarray(ts).tolist(), np.asarray(values, dtype=float).tolist()):
        if math.isnan(v):
            continue
        seen = True
        want = "ALERT" if v > threshold else "OK"
        if want != state:
            state = want
            history.append({"ts": int(t), "state": state})
            if state == "ALERT":
                last = int(t)
    return {"name": name, "component": component, "metric": metric, "comparator": ">",
            "threshold": threshold, "state": state if seen else "NO_DATA", "last_triggered": last,
            "history": history}


def first_alert(monitor: dict, start: int, end: int) -> int | None:
    """Time the monitor went to ALERT inside [start, end), if it did."""
    return next((int(h["ts"]) for h in monitor["history"] if h["state"] == "ALERT" and start <= h["ts"] < end), None)


# --- writing the suite -----------------------------------------------------------------------------------

@dataclass
class WorldFiles:
    """The telemetry of one materialized world, in the documented file format."""

    components: list[dict]
    edges: list[tuple[str, str, str]]
    metrics: "Any"                       # DataFrame ts, component, metric, value
    units: dict[str, str]
    logs: list[dict] = field(default_factory=list)
    traces: list[dict] = field(default_factory=list)
    monitors: list[dict] = field(default_factory=list)
    events: list[dict] = field(default_factory=list)

    def write(self, folder: Path) -> None:
        """Write topology.json, metrics.parquet, units.json and the non-empty optional files (logs and
        traces gzip-compressed)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        folder.mkdir(parents=True, exist_ok=True)
        comps = sorted(self.components, key=lambda c: c["name"])
        write_json(folder / "topology.json", {"components": comps, "edges": [list(e) for e in sorted(set(self.edges))]})
        m = self.metrics.copy()
        m["ts"] = m["ts"].astype("int64")
        m["value"] = round_sig(m["value"].to_numpy(dtype=float))
        m = m[np.isfinite(m["value"].to_numpy())]
        m = m.sort_values(["component", "metric", "ts"], kind="mergesort")
        m = m.drop_duplicates(["component", "metric", "ts"], keep="first").reset_index(drop=True)
        # Parquet without pandas metadata (zstd, dictionary-encoded names): compact and byte-stable.
        pq.write_table(pa.table({"ts": pa.array(m["ts"].to_numpy(dtype="int64")),
                                 "component": pa.array(m["component"], type=pa.string()),
                                 "metric": pa.array(m["metric"], type=pa.string()),
                                 "value": pa.array(m["value"].to_numpy(dtype=float))}),
                       folder / "metrics.parquet", compression="zstd", compression_level=9,
                       use_dictionary=["component", "metric"], write_statistics=False)
        used = sorted(m["metric"].unique().tolist())
        write_json(folder / "units.json", {k: self.units[k] for k in used if k in self.units})
        if self.logs:
            write_jsonl_gz(folder / "logs.jsonl.gz", sorted(self.logs, key=LOG_ORDER))
        if self.traces:
            write_jsonl_gz(folder / "traces.jsonl.gz", sorted(self.traces, key=lambda t: (t["ts"], t["trace_id"])))
        if self.monitors:
            write_json(folder / "monitors.json", sorted(self.monitors, key=lambda x: x["name"]))
        if self.events:
            write_json(folder / "events.json", sorted(self.events, key=EVENT_ORDER))


def write_jsonl_gz(path: Path, records: list[dict]) -> None:
    """JSON lines (``logs.jsonl.gz`` / ``traces.jsonl.gz``), gzip-compressed with no file name and a zero
    timestamp, so equal input gives equal bytes."""
    text = "".join(json.dumps(r, sort_keys=True, separators=(",", ":")) + "\n" for r in records)
    with open(path, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=6) as gz:
        gz.write(text.encode("utf-8"))


class SuiteStage(StagedSuite):
    """An imported suite: staged (see :class:`evalkit.suite.staging.StagedSuite`), validated deeply, then
    moved into place. A failure leaves neither a half-written suite nor the staging folder."""

    def __init__(self, out: str | Path, force: bool = False):
        super().__init__(out, force)
        self.per_category: dict[str, int] = {}

    def write_suite_toml(self, name: str, version: str, description: str, provenance: dict,
                         categories: dict[str, str], default_trials: int = 3) -> None:
        (self.tmp / "suite.toml").write_text(suite_toml(name, version, description, default_trials, provenance,
                                                        sorted(categories.items())), encoding="utf-8")

    def add_scenario(self, sid: str, category: str, alert: dict, window: tuple[int, int, int], world: WorldFiles,
                     truth: dict, tags: list[str], description: str, max_tool_calls: int = 60) -> None:
        """Write scenarios/<sid>.json, truth/<sid>.json and worlds/<sid>/."""
        world.write(self.tmp / "worlds" / sid)
        write_json(self.tmp / "scenarios" / f"{sid}.json", {
            "id": sid, "category": category, "tags": sorted(tags), "alert": alert,
            "window": {"start": int(window[0]), "end": int(window[1]), "step": int(window[2])},
            "world": {"path": f"worlds/{sid}"}, "noise_level": 0.0, "max_tool_calls": max_tool_calls,
            "description": description})
        write_json(self.tmp / "truth" / f"{sid}.json", {"scenario_id": sid, **truth})
        self.per_category[category] = self.per_category.get(category, 0) + 1

    def add_file(self, rel: str, data: bytes | str) -> None:
        p = self.tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)

    def finish(self, skipped: list[tuple[str, str]]) -> ImportResult:
        """Validate the staged suite (deeply) and move it to ``out``; problems -> UserError."""
        from evalkit.suite.validate import check_suite

        if not self.per_category:
            raise fail(self.out, "scenarios", 0, "no case of the dataset could be imported; see the source "
                                                "folder's contents")
        suite, problems = check_suite(self.tmp, deep=True)
        if problems:
            raise UserError(*problems)
        # The hash covers paths relative to the suite folder and file contents, so the rename keeps it.
        return ImportResult(self.commit(), suite.hash, dict(sorted(self.per_category.items())), sorted(skipped))
