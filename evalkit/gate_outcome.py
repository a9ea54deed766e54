"""The gate's outcome on its candidate's MLflow run: tags that make failed gates searchable.

Tags (keys in :mod:`evalkit.store.names`; ``docs/mlflow.md`` shows the searches): the verdict and exit code,
the design, the regressed ``category:metric`` cells, the baseline's build and where it came from (its MLflow
run id, or ``export:<manifest>`` for a committed export), and the policy (hash and source). The comparison
itself — ``cells.csv`` and ``comparison.json`` among the reports — is uploaded as the run's ``reports/``
artifacts by :meth:`evalkit.store.Store.log_run`.
"""

from __future__ import annotations

from typing import Any

from evalkit.errors import EXIT_OK, EXIT_REGRESSION
from evalkit.vocab import Design, Verdict

#: MLflow keeps tag values up to 8,000 characters (5,000 on older servers): long cell lists are cut there.
MAX_CELLS_TAG = 4900


def exit_code_of(verdict: str) -> int:
    """The gate's exit code for a comparison verdict: 1 for a regression, else 0."""
    return EXIT_REGRESSION if verdict == Verdict.REGRESSED else EXIT_OK


def gate_tags(comparison: Any, context: Any, sequential: bool, baseline_source: Any = "") -> dict[str, str]:
    """The gate's decision as MLflow tags of the candidate run (see the module docstring). ``baseline_source``:
    what :func:`evalkit.store.exchange.resolve_baseline` returned (its ``ref`` is the
    baseline's run id or ``export:<manifest>``); a plain string gives an empty ``baseline_run`` tag."""
    from evalkit.compare.policy_hash import policy_hash
    from evalkit.store import names

    cells = ",".join(f"{c}:{m}" for c, m in comparison.regressed_cells)
    return {names.TAG_GATE_VERDICT: str(comparison.verdict), names.TAG_GATE_EXIT: str(exit_code_of(comparison.verdict)),
            names.TAG_GATE_DESIGN: Design.SEQUENTIAL.value if sequential else Design.FIXED.value,
            names.TAG_GATE_REGRESSED: cells[:MAX_CELLS_TAG], names.TAG_GATE_BASELINE: str(context.baseline_build),
            names.TAG_GATE_BASELINE_RUN: str(getattr(baseline_source, "ref", "")),
            names.TAG_GATE_POLICY_HASH: policy_hash(comparison.policy),
            names.TAG_GATE_POLICY: str(comparison.policy.source)}


__all__ = ["MAX_CELLS_TAG", "exit_code_of", "gate_tags"]
