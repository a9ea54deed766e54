"""How strongly a world snapshot implicates each component: one point per kind of signal that points at it
(an anomalous metric of it or its pods, a change event, warning/error logs on it or naming it, failed spans on
it; half a point for an alerting monitor). The support and consistency parts of the confidence read this."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: robust z-score above which a metric's incident level counts as anomalous
ANOMALY_Z = 4.0
#: the incident period starts this long before the alert fires (onset precedes the alert)
LEAD_S = 20 * 60


def implicated(snapshot: dict, alert: dict) -> dict[str, float]:
    """Component -> score (0..4.5) of the signals in ``snapshot`` that implicate it (its aliases count for it)."""
    comps = snapshot["components"]
    owner = {c["name"]: c.get("service") or c["name"] for c in comps}
    owner.update({c["host"]: c["name"] for c in comps if c.get("host")})
    fired = int(alert.get("fired_at", 0))
    score: dict[str, float] = {c["name"]: 0.0 for c in comps}
    kinds: dict[str, set[str]] = {c: set() for c in score}

    def mark(name: str, kind: str) -> None:
        key = owner.get(name, name)
        if key in kinds:
            kinds[key].add(kind)

    for name in anomalous_components(snapshot["metrics"], fired):
        mark(name, "metric")
    for e in snapshot["events"]:
        if fired - 3600 <= e["ts"] <= fired and e.get("kind") != "scaling":
            mark(e["component"], "events")
    bad_logs = [x for x in snapshot["logs"] if x.get("level") in ("WARN", "ERROR")]
    for x in bad_logs:
        mark(x["component"], "logs")
    if bad_logs:
        text = "\n".join(x["message"] for x in bad_logs)
        for name in owner:
            if len(name) > 2 and re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text):
                mark(name, "logs")
    for t in snapshot["traces"]:
        for sp in t.get("spans", []):
            if sp.get("error"):
                mark(sp["component"], "traces")
    for m in snapshot["monitors"]:
        if m.get("state") == "ALERT":
            mark(m["component"], "monitor")
    for c, ks in kinds.items():
        score[c] = len(ks - {"monitor"}) + 0.5 * ("monitor" in ks)
    return score


def anomalous_components(rows: list[list], fired: int) -> set[str]:
    """Components with a metric whose median after ``fired - LEAD_S`` sits ANOMALY_Z robust deviations from
    its median before (vectorised over every series of the snapshot)."""
    if not rows:
        return set()
    df = pd.DataFrame(rows, columns=["ts", "component", "metric", "value"])
    df["after"] = df["ts"].to_numpy() >= fired - LEAD_S
    g = df.groupby(["component", "metric", "after"])["value"]
    med = g.median().unstack("after")
    if True not in med.columns or False not in med.columns:
        return set()
    base = df[~df["after"]]
    dev = (base["value"] - base.groupby(["component", "metric"])["value"].transform("median")).abs()
    mad = dev.groupby([base["component"], base["metric"]]).median() * 1.4826
    scale = mad.reindex(med.index).to_numpy() + 0.05 * np.abs(med[False].to_numpy()) + 1e-9
    z = np.abs(med[True].to_numpy() - med[False].to_numpy()) / scale
    hit = med.index[np.nan_to_num(z) >= ANOMALY_Z]
    return {c for c, _ in hit}
