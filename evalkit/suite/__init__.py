"""Investigation suites: on-disk format, loading, validation, content hash and the incident generator.

Public API: ``load_suite``, ``load_world``, ``load_truth``, ``validate_suite``, ``suite_hash``,
``generate_suite`` and the ``Suite``/``Scenario``/``GroundTruth`` models. Only the scorer calls
``load_truth``; nothing reachable from a World or Toolbox leads to it.
"""

from evalkit.suite.hashing import suite_hash
from evalkit.suite.loader import load_suite, load_truth, load_world, resolve_suite
from evalkit.suite.model import GroundTruth, Scenario, Suite
from evalkit.suite.validate import validate_suite


def generate_suite(*args, **kwargs):
    """Write a generated suite folder; returns its path, hash and size (see :func:`evalkit.suite.writer.generate_suite`)."""
    from evalkit.suite.writer import generate_suite as _generate

    return _generate(*args, **kwargs)


__all__ = ["load_suite", "load_world", "load_truth", "validate_suite", "suite_hash", "resolve_suite",
           "generate_suite", "Suite", "Scenario", "GroundTruth"]
