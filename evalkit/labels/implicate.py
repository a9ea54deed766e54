"""How strongly a world snapshot implicates each component: one point per kind of signal that points at it
(an anomalous metric of it or its pods, a change event, warning/error logs on it or naming it, failed spans on
it; half a point for an alerting monitor). The support and consistency parts of the confidence read this."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: robust z-score above which a metric's incident level counts as anomalous
ANOMALY_Z = 4.0
#: a name-like word of a log message (component names and hosts: letters, digits, '-', '.', '_')
_WORD = re.compile(r"[A-Za-z0-9][\w.-]*")
#: the incident period starts this long before the alert fires (onset precedes the alert)
LEAD_S = 20 * 60


def implicated(snapshot: dict, alert: dict) -> dict[str, float]:
    """Component -> score (0..4.5) of the signals in ``snapshot`` that implicate it (its aliases count for it)."""
    comps = snapshot["components"]
    owner = {c["name"]: c.get("service") or c["name"] for c in comps}
    owner.update({c["host"]: c["name"] for c in comps if c.get("host")})
    fired = int(alert.get("fired_at", 0))
    kinds: dict[str, set[str]] = {c["name"]: set() for c in comps}

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
    words = {w.rstrip(".") for x in bad_logs for w in _WORD.findall(x["message"])}
    for name in words & owner.keys():
        mark(name, "logs")
    for t in snapshot["traces"]:
        for sp in t.get("spans", []):
            if sp.get("error"):
                mark(sp["component"], "traces")
    for m in snapshot["monitors"]:
        if m.get("state") == "ALERT":
            mark(m["component"], "monitor")
    return {c: len(ks - {"monitor"}) + 0.5 * ("monitor" in ks) for c, ks in kinds.items()}


def anomalous_components(rows: list[list], fired: int) -> set[str]:
    """Components with a metric whose mean after ``fired - LEAD_S`` sits ANOMALY_Z standard deviations (plus
    5 % of the level) from its mean before (vectorised over every series of the snapshot)."""
    if not rows:
        return set()
    df = pd.DataFrame(rows, columns=["ts", "component", "metric", "value"])
    codes, pairs = pd.factorize(df["component"] + "\x00" + df["metric"])
    v = df["value"].to_numpy(dtype=float)
    after = df["ts"].to_numpy() >= fired - LEAD_S
    n = len(pairs)

    def stats(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        k = np.bincount(codes[mask], minlength=n).astype(float)
        s1 = np.bincount(codes[mask], v[mask], minlength=n)
        s2 = np.bincount(codes[mask], v[mask] ** 2, minlength=n)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = s1 / k
            return k, mean, np.sqrt(np.maximum(s2 / k - mean ** 2, 0.0))

    kb, mb, sb = stats(~after)
    ka, ma, _ = stats(after)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(ma - mb) / (sb + 0.05 * np.abs(mb) + 1e-9)
    hit = (kb >= 3) & (ka >= 1) & (np.nan_to_num(z) >= ANOMALY_Z)
    return {str(p).split("\x00", 1)[0] for p in pairs[hit]}
