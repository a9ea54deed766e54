"""One investigation by one agent, classified: how every adapter's run ends, in one place.

The runner's worker (evalkit/run/worker.py) and ``evalkit agents check`` both call :func:`attempt`, so a failure
is named the same way whether it happens in a run or while a user tries an agent out."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Any

from evalkit.agents.base import AgentFailure, Finding
from evalkit.agents.finalize import finalize
from evalkit.agents.limits import DEFAULT_LIMITS
from evalkit.vocab import ErrorClass, Status
from evalkit.world.toolbox import Toolbox, ToolBudgetExceeded, UnknownTool


@dataclass
class Attempt:
    """How an investigation ended: status, error class ("" when it did not fail), message, the checked
    finding (None on failure), the agent's stderr tail and the seconds ``investigate`` took."""

    status: str
    error_class: str
    message: str
    finding: Finding | None
    stderr: str
    latency_s: float


def attempt(agent: Any, alert: dict, toolbox: Toolbox, seed: int) -> Attempt:
    """Run ``agent.investigate(alert, toolbox, seed)`` and classify how it ended. Never raises for an agent's
    failure: a crash, an exit, a broken protocol or a spent budget are outcomes, not errors of evalkit."""
    t0 = time.perf_counter()
    status, error_class, message, finding, stderr = Status.OK, "", "", None, ""
    try:
        # Adapters already return checked findings; this is the same check for any other Agent object.
        finding = finalize(agent.investigate(alert, toolbox, seed), toolbox, getattr(agent, "limits", DEFAULT_LIMITS))
        stderr = finding.stderr or ""
    except AgentFailure as exc:
        status = Status.INFRA_ERROR if exc.infrastructure else Status.AGENT_ERROR
        error_class, message = exc.error_class, describe(exc)
        stderr = getattr(exc, "stderr", "") or ""
    except ToolBudgetExceeded as exc:
        status, error_class, message = Status.AGENT_ERROR, ErrorClass.BUDGET_EXCEEDED, describe(exc)
    except UnknownTool as exc:
        status, error_class, message = Status.AGENT_ERROR, ErrorClass.UNKNOWN_TOOL, describe(exc)
    except SystemExit as exc:
        status, error_class, message = Status.AGENT_ERROR, ErrorClass.AGENT_EXIT, f"agent called exit({exc.code})"
    except Exception as exc:  # noqa: BLE001 - a crashing agent is a scored failure, never a crashed run
        status, error_class, message = Status.AGENT_ERROR, ErrorClass.AGENT_CRASH, describe(exc, with_frame=True)
    return Attempt(status, error_class, message, finding, stderr, time.perf_counter() - t0)


def describe(exc: BaseException, with_frame: bool = False) -> str:
    """``Type: message`` (cut at 2,000 characters), with the innermost frame for a crash."""
    text = f"{type(exc).__name__}: {exc}"
    if with_frame and (frames := traceback.extract_tb(exc.__traceback__)):
        f = frames[-1]
        text += f" (at {f.filename.rsplit('/', 1)[-1]}:{f.lineno} in {f.name})"
    return text[:2000]
