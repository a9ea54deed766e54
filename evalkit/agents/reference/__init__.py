"""The built-in reference investigator (``reference:<version>``) and its named builds.

A genuine heuristic investigator that only uses the alert and the Toolbox; its feature flags change
how it investigates, so its builds trade quality between incident categories like real agent builds.
"""

from evalkit.agents.reference.builds import REFERENCE_BUILDS, Flags, flags_for
from evalkit.agents.reference.faults import FAULT_TYPES
from evalkit.agents.reference.investigator import ReferenceAgent

__all__ = ["REFERENCE_BUILDS", "FAULT_TYPES", "Flags", "ReferenceAgent", "flags_for"]
