"""evalkit.compare: paired, per-category comparison of a candidate run with a baseline, and the gate policy.

``compare(candidate, baseline, policy=None, method=None)`` → :class:`Comparison`; ``load_policy(path)`` →
:class:`Policy`. The statistics are explained in docs/statistics.md.
"""

from evalkit.compare.comparison import Comparison, compare
from evalkit.compare.policy import Policy, default_policy, load_policy, policy_for_suite
from evalkit.compare.validity import InvalidRun

__all__ = ["Comparison", "InvalidRun", "Policy", "compare", "default_policy", "load_policy", "policy_for_suite"]
