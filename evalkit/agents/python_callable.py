"""In-process agents: any importable Python agent (``pkg.module:factory``) or plain investigate function.

:class:`PythonCallableAgent` wraps the object so that every way it can fail becomes an
:class:`~evalkit.agents.base.AgentFailure`: an exception is ``AgentCrash``, ``sys.exit`` is ``AgentExit``,
a returned non-finding is ``MalformedOutput``, a call to a tool that does not exist is
``UnknownToolCall``, an exhausted call budget is ``BudgetExceeded`` and a component the world does not have
is ``UnknownComponent``. A Python call cannot be interrupted from inside its own thread, so the runner
enforces the timeout (it kills the worker process); this wrapper additionally classes a result that came
back after ``timeout_s`` as ``AgentTimeout``, so thread and process executors agree.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.metadata
import inspect
import os
import sys
import time
import traceback
from typing import Any, Callable

from evalkit.agents.base import (AgentCrash, AgentExit, AgentFailure, AgentTimeout, BudgetExceeded, BuildId,
                                 Finding, RebuiltFromSpec, UnknownToolCall)
from evalkit.agents.finalize import attach, finalize
from evalkit.agents.limits import DEFAULT_LIMITS, MessageLimits
from evalkit.agents.provenance import file_sha256, with_git_state
from evalkit.errors import UserError
from evalkit.world.toolbox import TOOL_SCHEMAS, Toolbox, ToolBudgetExceeded, UnknownTool

_TRACEBACK_CHARS = 8000


class PythonCallableAgent(RebuiltFromSpec):
    """An in-process agent (object with ``investigate`` or a function ``(alert, toolbox, seed)``) with
    uniform failure classes. It is trusted code: it runs in evalkit's own process, unsandboxed."""

    limits: MessageLimits = DEFAULT_LIMITS

    def __init__(self, target: Any, build: BuildId, *, timeout_s: float | None = 60.0,
                 deterministic: bool | None = None, spec: str | None = None, options: dict | None = None):
        self.target = target
        self.build = build
        self.timeout_s = timeout_s
        self.deterministic = bool(getattr(target, "deterministic", False) if deterministic is None
                                  else deterministic)
        self.spec = spec
        self.options = dict(options or {})
        self._investigate: Callable[[dict, Toolbox, int], Any] = (
            target.investigate if hasattr(target, "investigate") else target)

    def __repr__(self) -> str:
        return f"PythonCallableAgent({self.spec or self.build})"

    def investigate(self, alert: dict, toolbox: Toolbox, seed: int) -> Finding:
        """Run the wrapped agent; any failure is raised as an AgentFailure subclass."""
        n0 = len(toolbox.trajectory)
        t0 = time.monotonic()
        try:
            out = self._investigate(alert, toolbox, seed)
        except AgentFailure:
            raise
        except ToolBudgetExceeded as exc:
            raise BudgetExceeded(str(exc)) from exc
        except UnknownTool as exc:
            raise UnknownToolCall(str(exc)) from exc
        except SystemExit as exc:
            raise AgentExit(f"agent called sys.exit({exc.code!r})") from exc
        except Exception as exc:  # noqa: BLE001 - the agent's bug, recorded as a crash
            tb = "".join(traceback.format_exception(exc))[-_TRACEBACK_CHARS:]
            raise attach(AgentCrash(f"{type(exc).__name__}: {exc}"), stderr=tb) from exc
        elapsed = time.monotonic() - t0
        if self.timeout_s is not None and elapsed > self.timeout_s:
            raise AgentTimeout(f"investigation took {elapsed:.2f}s, over the {self.timeout_s:g}s timeout")
        for call in toolbox.trajectory[n0:]:
            if call.tool not in TOOL_SCHEMAS:
                raise UnknownToolCall(f"agent called unknown tool {call.tool!r}")
        return finalize(out, toolbox, self.limits)


# --- building from a spec -----------------------------------------------------------------------
def _import(module_name: str, spec: str):
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        cwd = os.getcwd()
        if exc.name and module_name.split(".")[0] == exc.name.split(".")[0] and cwd not in sys.path:
            sys.path.append(cwd)  # like `python -m`: the current directory is importable
            with contextlib.suppress(ModuleNotFoundError):
                return importlib.import_module(module_name)
        raise UserError.at("agent", "spec", spec, f"cannot import module '{module_name}' ({exc}); install it "
                           "or run from the directory that contains it") from None
    except Exception as exc:  # noqa: BLE001 - a broken user module
        raise UserError.at("agent", "spec", spec, f"importing module '{module_name}' failed: "
                           f"{type(exc).__name__}: {exc}") from None


def _is_investigate_function(obj: Callable) -> bool:
    """True for a callable shaped like ``(alert, toolbox, seed)``; factories take options only."""
    try:
        params = list(inspect.signature(obj).parameters.values())
    except (TypeError, ValueError):
        return False
    if any(p.name == "toolbox" for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
                  and p.default is p.empty]
    return len(positional) >= 3


def _module_version(module) -> str:
    version = getattr(module, "__version__", None)
    if isinstance(version, str):
        return version
    top = module.__name__.split(".")[0]
    with contextlib.suppress(Exception):  # metadata is best effort
        return importlib.metadata.version(top)  # fast path: distribution named like the package
    with contextlib.suppress(Exception):
        for dist in _packages_distributions().get(top, []):
            return importlib.metadata.version(dist)
    return "0"


@functools.lru_cache(maxsize=1)
def _packages_distributions() -> dict:
    """Scanning every installed distribution takes ~1 s: do it at most once per process."""
    return importlib.metadata.packages_distributions()


def load_python_agent(target: str, options: dict, *, spec: str, timeout_s: float | None,
                      raw_options: dict) -> PythonCallableAgent:
    """Resolve ``pkg.module:attr`` to an agent; options go to a factory/class as keyword arguments."""
    module_name, _, attr = target.partition(":")
    module = _import(module_name, spec)
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise UserError.at("agent", "spec", spec, f"module '{module_name}' has no attribute '{attr}'")
        obj = getattr(obj, part)

    def no_options(what: str) -> None:
        if options:
            raise UserError.at("agent", "options", ",".join(sorted(options)), f"{what} takes no options; "
                               "only timeout_s applies")

    def call_factory(factory: Callable) -> Any:
        try:
            return factory(**options)
        except TypeError as exc:
            raise UserError.at("agent", "spec", spec, f"calling '{attr}' with options {sorted(options)} "
                               f"failed: {exc}") from None
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise UserError.at("agent", "spec", spec, f"'{attr}' raised {type(exc).__name__}: {exc}") from None

    if isinstance(obj, type):
        agent = call_factory(obj)
    elif hasattr(obj, "investigate"):
        no_options(f"agent object '{attr}'")
        agent = obj
    elif callable(obj) and _is_investigate_function(obj):
        no_options(f"investigate function '{attr}'")
        agent = obj
    elif callable(obj):
        agent = call_factory(obj)
    else:
        raise UserError.at("agent", "spec", spec, f"'{attr}' is a {type(obj).__name__}, not an agent, a class, "
                           "a factory or a function (alert, toolbox, seed) -> Finding")
    if not hasattr(agent, "investigate") and not (callable(agent) and _is_investigate_function(agent)):
        raise UserError.at("agent", "spec", spec, f"'{attr}' returned {type(agent).__name__}, which has no "
                           "investigate(alert, toolbox, seed) method")
    build = getattr(agent, "build", None)
    if not isinstance(build, BuildId):  # derived from the module's file, version and the options
        path = getattr(module, "__file__", None)
        config, sha, dirty = with_git_state({"module_sha256": file_sha256(path) if path else None,
                                             "options": options}, path)
        build = BuildId(name=f"{module.__name__}:{attr}", version=_module_version(module), config=config,
                        git_sha=sha, dirty=dirty)
    return PythonCallableAgent(agent, build, timeout_s=timeout_s, spec=spec, options=raw_options)
