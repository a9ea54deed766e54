"""What a report says besides the statistics: which suite, which builds, where the runs live."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from evalkit.score.catalogue import metric as catalogue_metric
from evalkit.vocab import Stop, Verdict


def in_points(metric: str) -> bool:
    """Proportions (the 0–1 scores) are shown as percentages and their differences as percentage points."""
    return catalogue_metric(metric).in_points


@dataclass
class ReportContext:
    """Identifies the runs a comparison was made from (all optional; reports show what they have)."""

    suite: str = ""
    candidate_build: str = ""
    baseline_build: str = ""
    baseline_source: str = ""
    candidate_run: str = ""
    baseline_run: str = ""
    tracking_uri: str = ""
    run_url: str = ""
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def fmt_value(value: float, metric: str) -> str:
    """A metric value for display: proportions as percentages, others with 3 significant digits."""
    if value is None or not np.isfinite(value):
        return "—"
    return f"{100 * value:.1f}%" if in_points(metric) else f"{value:.3g}"


def fmt_diff(value: float, metric: str) -> str:
    """A difference for display: proportions in signed percentage points."""
    if value is None or not np.isfinite(value):
        return "—"
    return f"{100 * value:+.1f}" if in_points(metric) else f"{value:+.3g}"


def fmt_ci(lo: float, hi: float, metric: str) -> str:
    """A difference's interval; for proportions clipped to the possible range [-100, +100] points."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return ""
    if in_points(metric):
        lo, hi = max(lo, -1.0), min(hi, 1.0)
    return f"[{fmt_diff(lo, metric)}, {fmt_diff(hi, metric)}]"


def fmt_mde(mde: float, metric: str) -> str:
    """The minimum detectable effect; proportions beyond 100 points cannot be detected at all."""
    if mde is None or not np.isfinite(mde):
        return "—"
    if in_points(metric):
        return ">100" if mde > 1.0 else f"{100 * mde:.1f}"
    return f"{mde:.3g}"


def mde_cell(verdict: str, n: int, mde: float, metric: str, min_scenarios: int) -> str:
    """The MDE column: empty unless inconclusive; a cell with fewer paired scenarios than the policy's
    ``min_scenarios`` is never tested, so no effect is detectable there and it says ``n<min`` instead."""
    if verdict != Verdict.INCONCLUSIVE:
        return ""
    if n < min_scenarios:
        return f"n<{min_scenarios}"
    return fmt_mde(mde, metric)


def verdict_line(verdict: str, cross: bool) -> str:
    """The one-word outcome and the exit code it maps to."""
    if verdict == Verdict.REGRESSED:
        return "REGRESSION" + (" (cross-category)" if cross else "")
    return {Verdict.IMPROVED: "PASS (improved)", Verdict.UNCHANGED: "PASS (no regression)",
            Verdict.WITHIN_DELTA: "PASS (no drop of delta or more anywhere)",
            Verdict.INCONCLUSIVE: "PASS (no regression detected; some cells inconclusive)",
            }.get(verdict, verdict.upper())

def is_sequential(cells) -> bool:
    """Whether a comparison's cells come from the sequential design (they carry pool and stop columns)."""
    return "stop" in getattr(cells, "columns", ())


def sequential_columns(r, metric: str) -> tuple[str, str, str, str]:
    """(n of pool, the bound that decides, why the category stopped, the drop the pool resolves) for one row
    of a sequential comparison.

    A ``within-delta`` cell shows its futility bound (the drop is smaller than δ: ``≥ −8.1``, or ``≤ +8.1``
    for a lower-is-better metric); every other cell its anytime interval at the cell's level."""
    n = f"{int(r.n)}/{int(r.pool)}"
    if r.verdict == Verdict.WITHIN_DELTA and np.isfinite(r.bound_delta):
        bound = (f"≥ {fmt_diff(max(r.bound_delta, -1.0), metric)}" if r.direction == "higher"
                 else f"≤ {fmt_diff(min(r.bound_delta, 1.0), metric)}")
    else:
        bound = fmt_ci(r.bound_low, r.bound_high, metric)
    resolves = fmt_mde(r.mde, metric) if np.isfinite(r.mde) else ""
    return n, bound, "" if r.stop in (Stop.OPEN, "") else r.stop, resolves


def sequential_legend(comparison) -> str:
    """One line saying how the sequential verdicts were reached, with the numbers that decided them."""
    pol = comparison.policy
    cells = comparison.to_frame()
    gated = cells[cells["gated"]]
    level = float(gated["level"].iloc[0]) if len(gated) else float("nan")
    return (f"diff in points (candidate − baseline); anytime-valid bounds (betting confidence sequences) at "
            f"{level:.2g} per cell (family-wise alpha={pol.alpha}, Bonferroni over the gated categories); "
            f"regressed: the upper bound lies below −margin; '≥ x': the lower bound at level "
            f"{pol.futility_alpha} lies above −delta ({100 * pol.delta:.0f} pts), so no drop of delta or more; "
            f"a category stops as soon as it is decided; resolves: the smallest drop of {pol.metrics[0]} the "
            f"category's pool flags with {pol.power:.0%} power (evalkit plan).")
