"""Whether two results tables may be compared at all: same suite version, few enough infrastructure errors.

An invalid run is not a regression: it raises :class:`InvalidRun` (a UserError, exit code 2) so the gate
cannot mistake broken infrastructure for worse quality.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from evalkit.errors import Problem, UserError
from evalkit.vocab import Role, Status


class InvalidRun(UserError):
    """A run whose infrastructure-error rate exceeds the policy's limit: rerun it, do not compare it."""


def as_table(run: object, role: str) -> pd.DataFrame:
    """The results DataFrame of a run given as a DataFrame or anything with a ``.table`` DataFrame."""
    table = getattr(run, "table", run)
    if not isinstance(table, pd.DataFrame):
        raise UserError.at(f"{role} run", "table", type(run).__name__,
                           "pass a results DataFrame or a RunResult (with .table)")
    needed = {"scenario_id", "category", "status", "suite_hash"}
    missing = sorted(needed - set(table.columns))
    if missing:
        raise UserError.at(f"{role} run", "columns", missing,
                           "not a results table (see evalkit/score/schema.py); load it with the store")
    if table.empty:
        raise UserError.at(f"{role} run", "rows", 0, "the results table is empty; run the suite first")
    return table


def suite_hash_of(table: pd.DataFrame, role: str) -> str:
    """The one suite hash of a run (a table mixing suite versions is refused)."""
    hashes = sorted(str(h) for h in pd.unique(table["suite_hash"].astype(str)))
    if len(hashes) != 1:
        raise UserError.at(f"{role} run", "suite_hash", ", ".join(hashes),
                           "one run must cover one suite version; rerun it on a single suite version")
    return hashes[0]


def check_suite_match(cand: pd.DataFrame, base: pd.DataFrame, allow_suite_mismatch: bool) -> tuple[str, str]:
    """Refuse different suite versions unless explicitly allowed; returns (candidate hash, baseline hash)."""
    hc, hb = suite_hash_of(cand, Role.CANDIDATE), suite_hash_of(base, Role.BASELINE)
    if hc != hb and not allow_suite_mismatch:
        raise UserError.at("candidate run", "suite_hash", hc,
                           f"differs from the baseline's suite_hash '{hb}': compare runs of the same suite "
                           "version, or allow it explicitly (allow_suite_mismatch=True / --allow-suite-mismatch) "
                           "to compare only the scenarios both runs share")
    return hc, hb


def check_infra(table: pd.DataFrame, role: str, limit: float, policy_source: str) -> float:
    """Raise InvalidRun when the share of trials lost to infrastructure exceeds ``limit``."""
    infra = table["status"] == Status.INFRA_ERROR
    bad = int(infra.sum())
    rate = bad / len(table)
    if rate > limit:
        classes = ""
        if "error_class" in table.columns:
            counts = table.loc[infra.to_numpy(bool), "error_class"].astype(str).value_counts()
            classes = " (" + ", ".join(f"{k or 'unclassified'} x{v}" for k, v in counts.items()) + ")"
        raise InvalidRun(Problem(
            f"{role} run", "infrastructure-error rate", f"{rate:.1%} ({bad} of {len(table)} trials)",
            f"exceeds the policy limit {limit:.1%}{classes}; fix the infrastructure and rerun, or raise "
            f"gate.max_infra_error_rate in {policy_source}"))
    return rate


def check_policy_categories(policy, categories, suite: str) -> None:
    """Every ``[margins.category]`` key of the policy names one of ``categories`` (the suite's): a misspelled one
    would be ignored without a word, and its category judged at the default margin."""
    known = {str(c) for c in categories}
    unknown = sorted(set(policy.category_margins) - known)
    if unknown:
        raise UserError(*[Problem(policy.source, "margins.category", c, f"not a category of suite {suite}; "
                                  f"use one of: {', '.join(sorted(known))}") for c in unknown])


def check_gated_values(table: pd.DataFrame, role: str, metrics: tuple[str, ...]) -> None:
    """A run with no value at all for a gated metric cannot be judged: every cell would be inconclusive and
    the gate would pass on nothing. Refuse it (exit 2) naming the metric."""
    for m in metrics:
        if m not in table.columns:
            continue  # scenario_means names missing columns with its own fix
        values = pd.to_numeric(table[m], errors="coerce")
        if not values.notna().any():
            raise UserError.at(f"{role} run", m, "no values",
                               "every trial's value of this gated metric is missing or not a number; the results "
                               "table is corrupt or from another scorer: rerun it (or re-export the baseline)")


@dataclass(frozen=True)
class CheckedRuns:
    """Two results tables that may be compared, with what the checks found (suite hashes, infra-error rates)."""

    cand: pd.DataFrame
    base: pd.DataFrame
    hash_cand: str
    hash_base: str
    infra_cand: float
    infra_base: float


def check_runs(candidate: object, baseline: object, policy, allow_suite_mismatch: bool = False) -> CheckedRuns:
    """Every check both designs make before judging: results tables, one suite version (unless allowed),
    infrastructure errors within the policy's limit, a value for every gated metric."""
    cand, base = as_table(candidate, Role.CANDIDATE), as_table(baseline, Role.BASELINE)
    hc, hb = check_suite_match(cand, base, allow_suite_mismatch)
    rate_c = check_infra(cand, Role.CANDIDATE, policy.max_infra_error_rate, policy.source)
    rate_b = check_infra(base, Role.BASELINE, policy.max_infra_error_rate, policy.source)
    check_gated_values(base, Role.BASELINE, policy.metrics)
    check_gated_values(cand, Role.CANDIDATE, policy.metrics)
    return CheckedRuns(cand, base, hc, hb, rate_c, rate_b)


def check_baseline(table: pd.DataFrame, policy) -> None:
    """What makes a baseline useless on its own, checked before a candidate is run against it: too many
    infrastructure errors, a gated metric without values, too few scenarios for any cell to be tested."""
    check_infra(table, Role.BASELINE, policy.max_infra_error_rate, policy.source)
    check_gated_values(table, Role.BASELINE, policy.metrics)
    scenarios = int(table["scenario_id"].nunique())
    if scenarios < max(2, policy.min_scenarios):
        raise UserError.at("baseline run", "scenarios", scenarios,
                           f"fewer than gate.min_scenarios = {policy.min_scenarios} ({policy.source}), so no cell could "
                           "be tested and nothing would be compared; use a baseline of a larger suite or lower "
                           "gate.min_scenarios")


def check_comparable(comparison) -> None:
    """Refuse a comparison in which no gated cell could be tested (each had fewer paired scenarios than the
    policy needs): its verdict would be 'inconclusive' and the gate would pass on nothing."""
    gated, pol = comparison.gated, comparison.policy
    tested = gated["n"] >= max(2, pol.min_scenarios)
    if len(gated) and tested.any():
        return
    raise UserError.at("comparison", "gated cells", f"{int(tested.sum())} of {len(gated)} testable",
                       f"no gated cell has {max(2, pol.min_scenarios)} or more scenarios in both runs "
                       f"(gate.min_scenarios in {pol.source}), so nothing was compared; run the candidate on the "
                       "baseline's scenarios")
