"""Running suites: runner, executors (local threads/processes, Ray), resumable journal, progress.

``run_suite(suite, agent, RunConfig(...)) -> RunResult`` is the entry point; imported lazily so ``import
evalkit.run`` is cheap.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "run_suite": "evalkit.run.runner",
    "RunResult": "evalkit.run.runner",
    "RunConfig": "evalkit.run.config",
    "JournalConfig": "evalkit.run.config",
    "RetryConfig": "evalkit.run.config",
    "SequentialConfig": "evalkit.run.config",
    "NO_JOURNAL": "evalkit.run.config",
    "trial_seed": "evalkit.run.seeds",
    "format_summary": "evalkit.run.summary",
    "write_outputs": "evalkit.run.outputs",
    "read_outputs": "evalkit.run.outputs",
    "ProgressReporter": "evalkit.run.progress",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'evalkit.run' has no attribute {name!r}")
