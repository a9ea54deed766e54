"""A sabotaged reference build for `benchmarks/sensitivity.py`: ``reference:v1`` that answers wrong on chosen alerts.

The agent never sees scenario ids or the truth, so the scenarios to sabotage are named by a fingerprint of
what it does see: the alert dict (:func:`alert_fingerprint`). The benchmark computes the fingerprints of the
scenarios it chose from the suite's scenario files and writes them to a JSON file
``{"wraps": "v1", "fingerprints": [...]}``; the agent reads that file (option ``sabotage``, else the
environment variable ``EVALKIT_SABOTAGE_FILE``)::

    sabotage_agent:make_agent?sabotage=/tmp/draw-0003.json

(``benchmarks/`` must be importable: on ``PYTHONPATH``, or the current directory.) On a sabotaged alert the
finding is the wrapped build's own finding without its top hypothesis: the runner-up (a real component of
the world that is not the wrapped build's answer) moves to the top, the rest of the finding is unchanged,
so it stays a valid finding. ``rca_top1`` is then 0; ``rca_score`` is 0 unless the truth is among the
remaining top three (0.25). Every other alert gets the wrapped build's finding untouched.

The build id names the sabotage set (a hash of its fingerprints), so that two draws never share a journal
or a build with ``reference:v1`` itself.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from evalkit.agents.base import BuildId, Finding
from evalkit.agents.reference import ReferenceAgent

ENV_VAR = "EVALKIT_SABOTAGE_FILE"


def alert_fingerprint(alert: dict) -> str:
    """A short stable hash of the whole alert dict (monitor, component, fired_at, value, ...)."""
    blob = json.dumps(alert, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


def write_sabotage_file(path: str | Path, alerts, wraps: str = "v1", **meta) -> Path:
    """Write the sabotage set for ``alerts`` (the chosen scenarios' alert dicts); returns the path."""
    path = Path(path)
    doc = {"wraps": wraps, "fingerprints": sorted({alert_fingerprint(a) for a in alerts}), **meta}
    path.write_text(json.dumps(doc, indent=1))
    return path


class SabotageAgent:
    """``reference:<wraps>`` with a wrong top hypothesis on the alerts of a sabotage set."""

    deterministic = True

    def __init__(self, sabotage: str | None = None, wraps: str | None = None):
        path = sabotage or os.environ.get(ENV_VAR)
        if not path:
            raise ValueError(f"give the sabotage set: option sabotage=<file.json> or ${ENV_VAR}")
        doc = json.loads(Path(path).read_text())
        self.fingerprints = frozenset(doc["fingerprints"])
        version = wraps or doc.get("wraps", "v1")
        self.inner = ReferenceAgent(version)
        digest = hashlib.sha256("\n".join(sorted(self.fingerprints)).encode()).hexdigest()[:16]
        self.build = BuildId("sabotaged-reference", version,
                             config={"wraps": str(self.inner.build), "sabotage_set": digest,
                                     "sabotaged_alerts": len(self.fingerprints)})

    def investigate(self, alert: dict, toolbox, seed: int) -> Finding:
        finding = self.inner.investigate(alert, toolbox, seed)
        if alert_fingerprint(alert) not in self.fingerprints or not finding.hypotheses:
            return finding
        top = finding.hypotheses[0]
        rest = [h for h in finding.hypotheses[1:] if h.component != top.component]
        if not rest:
            rest = self._elsewhere(alert, toolbox, top)
        return Finding(hypotheses=rest, summary=f"(sabotaged) {finding.summary}", usage=dict(finding.usage))

    @staticmethod
    def _elsewhere(alert: dict, toolbox, top) -> list:
        """A one-hypothesis answer naming some other component (when the wrapped build named only one)."""
        from evalkit.agents.base import Hypothesis

        names = [alert["component"]] if alert.get("component") and alert["component"] != top.component else []
        if not names and toolbox.calls_left > 0:
            try:
                names = [c["name"] for c in toolbox.list_components("service")
                         if c.get("name") and c["name"] != top.component
                         and not c["name"].startswith(top.component + "-")]
            except Exception:  # noqa: BLE001 - no other component known: give up on this one
                names = []
        return [Hypothesis(names[0], top.fault_type, top.confidence, [])] if names else []


def make_agent(sabotage: str | None = None, wraps: str | None = None) -> SabotageAgent:
    """Factory for the spec ``sabotage_agent:make_agent?sabotage=<file>``."""
    return SabotageAgent(sabotage, wraps)


__all__ = ["ENV_VAR", "SabotageAgent", "alert_fingerprint", "make_agent", "write_sabotage_file"]
