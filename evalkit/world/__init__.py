"""What an agent can see: the replayed telemetry of one incident and the Toolbox over it.

Imports nothing of evalkit above it; never holds ground truth.
"""

from evalkit.world.model import World
from evalkit.world.toolbox import ToolBudgetExceeded, ToolCall, Toolbox, ToolError, UnknownTool

__all__ = ["World", "Toolbox", "ToolCall", "ToolError", "UnknownTool", "ToolBudgetExceeded"]
