"""Core suite objects: Suite, Scenario (visible) and GroundTruth (hidden, separate file).

The ground truth is read only through :meth:`Suite.load_truth`, which only the scorer calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class GroundTruth:
    """The hidden answer of one scenario.

    ``evidence`` lists key signals in Toolbox ref form (``metric:<component>:<metric>``,
    ``logs:<component>``, ``traces:<component>``, ``events:<component>``); ``aliases`` are other
    names accepted for ``component``; ``distractors`` are the components noise injection added or
    perturbed (used for ``distractor_ratio``).
    """

    scenario_id: str
    component: str
    fault_type: str
    evidence: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    distractors: tuple[str, ...] = ()

    def accepts(self, component: str | None) -> bool:
        return component is not None and (component == self.component or component in self.aliases)


@dataclass
class Scenario:
    """One visible investigation: id, category, tags, the alert, the time window and the world spec."""

    id: str
    suite: str
    category: str
    alert: dict
    window: tuple[int, int]
    world: dict
    tags: tuple[str, ...] = ()
    noise_level: float = 0.5
    max_tool_calls: int = 60
    path: Path | None = None
    root: Path | None = None  # the suite folder (materialized world paths are relative to it)
    step: int = 60            # seconds between samples (window.step)


@dataclass
class Suite:
    """A versioned set of scenarios; ``hash`` is its content hash (its version identity)."""

    name: str
    version: str
    description: str
    categories: dict[str, str]
    default_trials: int
    path: Path
    hash: str
    scenarios: list[Scenario] = field(default_factory=list)
    #: a pool: a generated suite that can always grow; the gate samples it in rounds (sequential design)
    pool: bool = False

    def scenario(self, scenario_id: str, field: str = "scenario_id") -> Scenario:
        """The scenario with this id; a UserError naming ``field`` (the option or key the id came from) and a
        few of the suite's ids when it holds none such."""
        from evalkit.errors import UserError

        for s in self.scenarios:
            if s.id == scenario_id:
                return s
        shown = ", ".join(s.id for s in self.scenarios[:3])
        raise UserError.at(str(self.path), field, scenario_id,
                           f"not a scenario of suite {self.name}; give one of its {len(self.scenarios)} ids, "
                           f"e.g. {shown}")
