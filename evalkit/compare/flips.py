"""Scenarios that flipped between runs on the primary binary metric (pass→fail and fail→pass).

A scenario passes when its per-scenario mean (over valid trials) is at least 0.5. Flips are ordered most
consistent first (largest |difference in pass rate|), and carry each run's most frequent top prediction
next to the expected component, for the report.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from evalkit.compare.paired import Paired
from evalkit.vocab import Status

FLIP_COLUMNS = ["category", "scenario_id", "change", "baseline_rate", "candidate_rate", "diff",
                "expected_component", "baseline_top", "candidate_top"]
PASS_TO_FAIL, FAIL_TO_PASS = "pass->fail", "fail->pass"
_FIRST = r'^\s*\[\s*"((?:[^"\\]|\\.)*)"'


def _rows_of(table: pd.DataFrame, ids: pd.Index) -> np.ndarray:
    """Boolean mask of the rows whose scenario is in ``ids`` (hash lookup, fast on Arrow strings)."""
    sid = table["scenario_id"].to_numpy(dtype=object, na_value="")
    return pd.Index(ids).get_indexer(sid) >= 0


def _top_predictions(table: pd.DataFrame, ids: pd.Index) -> pd.Series:
    """Most frequent top-ranked component per scenario (ties: the earliest trial's), for ``ids`` only."""
    if "predicted" not in table.columns:
        return pd.Series("", index=ids, dtype=object)
    keep = (table["status"] != Status.INFRA_ERROR).to_numpy(bool, na_value=True) & _rows_of(table, ids)
    t = table.loc[keep, ["scenario_id", "trial", "predicted"]].copy()
    if t.empty:
        return pd.Series("", index=ids, dtype=object)
    top = t["predicted"].astype(str).str.extract(_FIRST, expand=False).fillna("")
    escaped = top.str.contains("\\", regex=False)
    if escaped.any():
        top[escaped] = top[escaped].map(lambda s: json.loads(f'"{s}"'))
    t["top"] = top.to_numpy()
    t["scenario_id"] = t["scenario_id"].astype(str)
    stats = t.groupby(["scenario_id", "top"], sort=False).agg(count=("trial", "size"), first=("trial", "min"))
    stats = stats.reset_index().sort_values(["scenario_id", "count", "first"], ascending=[True, False, True])
    best = stats.drop_duplicates("scenario_id").set_index("scenario_id")["top"]
    return best.reindex(ids).fillna("").astype(object)


def _expected(table: pd.DataFrame, ids: pd.Index) -> pd.Series:
    if "expected_component" not in table.columns:
        return pd.Series("", index=ids, dtype=object)
    t = table.loc[_rows_of(table, ids), ["scenario_id", "expected_component"]]
    first = t.assign(scenario_id=t["scenario_id"].astype(str)).drop_duplicates("scenario_id")
    return first.set_index("scenario_id")["expected_component"].astype(str).reindex(ids).fillna("")


def flips_table(p: Paired, cand_table: pd.DataFrame, base_table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """All flipped scenarios, by category then most consistent first (none when the runs lack ``metric``)."""
    if metric not in p.base.mean:
        return pd.DataFrame(columns=FLIP_COLUMNS)
    xb, xc = p.base.mean[metric], p.cand.mean[metric]
    valid = (p.base.count[metric] > 0) & (p.cand.count[metric] > 0)
    pb, pc = xb >= 0.5, xc >= 0.5
    flipped = valid & (pb != pc)
    idx = np.flatnonzero(flipped)
    ids = pd.Index(p.base.ids[idx].astype(str))
    out = pd.DataFrame({
        "category": p.base.category[idx].astype(str),
        "scenario_id": ids.to_numpy(),
        "change": np.where(pb[idx], PASS_TO_FAIL, FAIL_TO_PASS),
        "baseline_rate": xb[idx],
        "candidate_rate": xc[idx],
        "diff": xc[idx] - xb[idx],
    })
    out["expected_component"] = _expected(base_table, ids).to_numpy()
    out["baseline_top"] = _top_predictions(base_table, ids).to_numpy()
    out["candidate_top"] = _top_predictions(cand_table, ids).to_numpy()
    out["_abs"] = out["diff"].abs()
    out = out.sort_values(["category", "_abs", "scenario_id"], ascending=[True, False, True], kind="mergesort")
    return out.drop(columns="_abs").reset_index(drop=True)[FLIP_COLUMNS]
