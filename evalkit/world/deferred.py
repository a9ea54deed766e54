"""A World built on first use: nothing is replayed until something beyond the alert is read.

A trial worker hands the agent the alert at once; the world's telemetry (and the check that the replay
still matches the scenario's digest) is produced only when a tool call first needs it. An agent that
answers from the alert alone costs no replay at all, and an agent that asks gets exactly the World an
eager load would have given (the loader is the same function).
"""

from __future__ import annotations

import threading
import time
from dataclasses import fields
from typing import Callable

from evalkit.world.model import World


class DeferredWorld(World):
    """A World whose fields (all but ``alert``) come from ``load()`` on first access, once.

    A load that fails (a stale scenario, a broken materialized folder) raises at every access and is
    kept in :attr:`failure`, so the caller can classify the trial after the agent returns. The time the
    load took is :attr:`load_seconds`, for callers that time the agent (the load is evalkit's cost, not the
    agent's). Pickles (and copies) as the plain, loaded World.
    """

    def __init__(self, alert: dict, load: Callable[[], World],  # noqa: D107 - the class docstring says it
                 clock: Callable[[], float] = time.perf_counter):
        self.__dict__.update(alert=dict(alert), _load=load, _lock=threading.Lock(), _world=None, _failure=None,
                             _clock=clock, _seconds=0.0)

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.materialize(), name)

    def materialize(self) -> World:
        """The loaded World (loading it now if no one asked before); raises what the load raised."""
        state = self.__dict__
        if state["_world"] is None and state["_failure"] is None:
            with state["_lock"]:
                if state["_world"] is None and state["_failure"] is None:
                    t0 = state["_clock"]()
                    try:
                        state["_world"] = state["_load"]()
                    except Exception as exc:  # noqa: BLE001 - kept and re-raised to every reader
                        state["_failure"] = exc
                    state["_seconds"] = state["_clock"]() - t0
        if state["_failure"] is not None:
            raise state["_failure"]
        return state["_world"]

    @property
    def loaded(self) -> bool:
        """Whether the telemetry was loaded (successfully) already."""
        return self.__dict__["_world"] is not None

    @property
    def load_seconds(self) -> float:
        """How long the load took (0 before it happened)."""
        return self.__dict__["_seconds"]

    @property
    def failure(self) -> Exception | None:
        """What the load raised, if it was attempted and failed."""
        return self.__dict__["_failure"]

    def __reduce__(self):
        world = self.materialize()
        return World, tuple(getattr(world, f.name) for f in fields(World))


class ComponentNames:
    """``name in names`` for a deferred world: the alert's component is known without loading anything;
    any other name loads the world and looks it up (a finding check that costs nothing for the common case)."""

    def __init__(self, world: DeferredWorld):
        self._world = world
        self._known = {world.alert.get("component")} - {None}

    def __contains__(self, name: object) -> bool:
        return name in self._known or any(c["name"] == name for c in self._world.components)


def load_seconds(world: World) -> float:
    """Seconds ``world`` spent loading itself so far: a deferred world's load, 0 for any other World."""
    return world.load_seconds if isinstance(world, DeferredWorld) else 0.0
