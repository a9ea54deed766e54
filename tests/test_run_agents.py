"""Small misbehaving agents and scorers for the runner tests (no tests here).

Kept in their own light module: worker processes import them by spec (``test_run_agents:crash_agent``),
and a replacement worker after a timeout kill imports it again.
"""

import time
from pathlib import Path

from evalkit.agents.base import EndpointUnreachable, Finding, Hypothesis


def crash_agent(alert, toolbox, seed):
    toolbox.list_components()
    raise RuntimeError("agent bug")


def hangs(seed: int) -> bool:
    return seed % 6 == 0


def hang_sometimes(alert, toolbox, seed):
    if hangs(seed):
        time.sleep(30)
    return Finding([Hypothesis(alert["component"], None, 0.5)])


def down_for_good(seed: int) -> bool:
    return seed % 3 == 0


class FlakyEndpointAgent:
    """Endpoint down for good on some seeds; down on the first attempt only for the others."""

    def __init__(self, marker_dir: str):
        self.marker_dir = Path(marker_dir)

    def investigate(self, alert, toolbox, seed):
        if down_for_good(seed):
            raise EndpointUnreachable("connection refused (127.0.0.1:9)")
        marker = self.marker_dir / str(seed)
        try:
            marker.touch(exist_ok=False)
        except FileExistsError:
            return Finding([Hypothesis(alert["component"], None, 0.5)])
        raise EndpointUnreachable("connection reset by peer")


def always_explodes(finding, trajectory, truth):
    raise KeyError("needs_field")


def odd_scenario(scenario_id: str) -> bool:
    return sum(map(ord, scenario_id)) % 2 == 1


def sometimes_explodes(finding, trajectory, truth):
    if odd_scenario(truth.scenario_id):
        raise ValueError("odd scenario")
    return {"ok": 1.0}


def hypothesis_count(finding, trajectory, truth):
    return {"n_hypotheses": len(finding.hypotheses)}
