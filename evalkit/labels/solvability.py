"""Solvability: does an investigator (the reference build, or one the user names) find the label's truth in its
snapshot within the tool-call budget? A label it misses is marked "hard", never dropped."""

from __future__ import annotations

from typing import Any

from evalkit.labels.confidence import accepted
from evalkit.labels.records import Candidate
from evalkit.labels.snapshot import snapshot_world


_agents: dict[str, Any] = {}


def solve_in_worker(item: tuple[dict, str, int]) -> tuple[float, str]:
    """:func:`solvability` of ``(candidate dict, agent spec, budget)``, for a process pool (one agent a process)."""
    doc, spec, budget = item
    if spec not in _agents:
        from evalkit.agents.spec import load_agent

        _agents[spec] = load_agent(spec)
    return solvability(Candidate.from_dict(doc), _agents[spec], budget)


def solvability(c: Candidate, agent: Any, budget: int) -> tuple[float, str]:
    """1.0 when ``agent``'s top hypothesis on the snapshot names the truth (or an alias), else 0.0 with why."""
    from evalkit.world.toolbox import Toolbox, ToolBudgetExceeded

    if c.truth is None:
        return 0.0, "no truth to find"
    world = snapshot_world(c.snapshot, c.alert, c.window)
    try:
        finding = agent.investigate(dict(c.alert), Toolbox(world, max_calls=budget), 0)
    except ToolBudgetExceeded:
        return 0.0, f"the investigator ran out of its {budget} tool calls"
    except Exception as exc:  # noqa: BLE001 - a snapshot the investigator cannot handle is a hard label
        return 0.0, f"the investigator failed ({type(exc).__name__})"
    top = finding.hypotheses[0].component if finding.hypotheses else None
    if accepted(c.truth, top):
        return 1.0, ""
    return 0.0, f"the investigator named '{top}'"
