"""Trial seeds: derived from the run seed, the scenario id and the trial index — never from the build.

Two builds run with the same run seed therefore see the same seed for the same (scenario, trial), which
keeps their trials paired for the comparator.
"""

from __future__ import annotations

import hashlib


def trial_seed(run_seed: int, scenario_id: str, trial: int) -> int:
    """Stable 32-bit seed of one trial: SHA-256 of ``run_seed:scenario_id:trial`` (portable across processes)."""
    digest = hashlib.sha256(f"{int(run_seed)}:{scenario_id}:{int(trial)}".encode()).digest()
    return int.from_bytes(digest[:4], "big")
