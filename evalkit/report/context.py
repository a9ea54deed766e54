"""What a report says besides the statistics: which suite, which builds, where the runs live."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from evalkit.score.catalogue import metric as catalogue_metric
from evalkit.score.schema import category_label
from evalkit.vocab import Correction, Direction, ReportCommand, Stop, Verdict


def in_points(metric: str) -> bool:
    """Proportions (the 0–1 scores) are shown as percentages and their differences as percentage points."""
    return catalogue_metric(metric).in_points


@dataclass
class ReportContext:
    """Identifies the runs a comparison was made from (all optional; reports show what they have)."""

    suite: str = ""
    command: str = ReportCommand.GATE
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


def bounds_header(policy) -> str:
    """The header of the fixed design's interval column: the bounds are at the corrected level."""
    return f"{_CORRECTION_NAMES.get(policy.correction, policy.correction)}-adjusted bounds"


_CORRECTION_NAMES = {Correction.HOLM: "Holm", Correction.BH: "BH"}


def fmt_scenarios(n_needed: float) -> str:
    """The scenarios a cell needs to resolve δ: ``~350``; beyond what :func:`~evalkit.compare.mde.scenarios_for`
    searches ``>1,000,000``; ``—`` when there is no such number (δ not above the margin)."""
    from evalkit.compare.mde import MAX_SCENARIOS

    if n_needed is None or np.isnan(n_needed):
        return "—"
    return f">{MAX_SCENARIOS:,}" if np.isinf(n_needed) else f"~{int(n_needed)}"


def fixed_columns(r, min_scenarios: int) -> tuple[str, str, str, str]:
    """(n, the bounds that decided, the drop the cell could detect, the scenarios it needs to resolve δ) for
    one row of a fixed comparison.

    The bounds are the one-sided bounds at the cell's corrected level, so a row's interval and its verdict always
    agree (the plain 95% interval stays in the JSON/CSV as ci_low/ci_high)."""
    n = str(int(r.n))
    if int(r.n) < min_scenarios or not np.isfinite(r.level):
        return n, f"too few scenarios (n<{min_scenarios})", "—", "—"
    if r.verdict != Verdict.INCONCLUSIVE:
        return n, fmt_ci(r.bound_low, r.bound_high, r.metric), "", ""
    return (n, fmt_ci(r.bound_low, r.bound_high, r.metric), fmt_mde(r.mde, r.metric),
            fmt_scenarios(getattr(r, "n_for_delta", float("nan"))))


def resolution_notes(rows, min_scenarios: int) -> list[str]:
    """One line per tested, inconclusive row, ``<metric> in <category>, if its estimate holds: <suggestion>``:
    what more data would decide it (the comparison's ``suggestion``: the scenarios, or trials, that move its
    bound off the margin with 80% power if the current estimate is the true difference)."""
    return [f"{r.metric} in {category_label(r.category)}, if its estimate holds: {r.suggestion}"
            for r in rows.itertuples(index=False)
            if r.verdict == Verdict.INCONCLUSIVE and int(r.n) >= min_scenarios and getattr(r, "suggestion", "")]


def fixed_legend(comparison) -> str:
    """One line saying how the fixed design's verdicts were reached."""
    pol = comparison.policy
    name = _CORRECTION_NAMES.get(pol.correction, pol.correction)
    deltas = ", ".join(f"{m} {100 * pol.delta_for(m):.0f} pts" if in_points(m) else f"{m} {pol.delta_for(m):.3g}"
                       for m in pol.metrics)
    return (f"diff in points (candidate − baseline); {name}-adjusted bounds: each end is a one-sided bound at "
            f"the cell's {name}-adjusted level (family-wise alpha={pol.alpha}), and it is what decides: "
            f"regressed when the upper bound is below −margin, not-worse when the lower bound is above −margin, "
            f"improved when it is above +margin, inconclusive otherwise; margins per policy "
            f"{pol.source or '(default)'}; detectable drop: the smallest drop this run flags with 80% power "
            f"(inconclusive cells); scenarios for δ: how many paired scenarios, at the same trials, make that drop "
            f"δ ({deltas}); the plain 95% interval is ci_low/ci_high in comparison.json and cells.csv.")


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
        bound = (f"≥ {fmt_diff(max(r.bound_delta, -1.0), metric)}" if r.direction == Direction.HIGHER
                 else f"≤ {fmt_diff(min(r.bound_delta, 1.0), metric)}")
    else:
        bound = fmt_ci(r.bound_low, r.bound_high, metric)
    resolves = fmt_mde(r.mde, metric) if np.isfinite(r.mde) else ""
    return n, bound, "" if r.stop in (Stop.OPEN, "") else r.stop, resolves


def design_columns(r, comparison, sequential: bool) -> tuple[str, str, str, str]:
    """The four columns a row's design decides: :func:`sequential_columns` or :func:`fixed_columns`."""
    return sequential_columns(r, r.metric) if sequential else fixed_columns(r, comparison.policy.min_scenarios)


def sequential_legend(comparison) -> str:
    """One line saying how the sequential verdicts were reached, with the numbers that decided them."""
    pol = comparison.policy
    gated = comparison.gated
    level = float(gated["level"].iloc[0]) if len(gated) else float("nan")
    return (f"diff in points (candidate − baseline); anytime-valid bounds (betting confidence sequences) at "
            f"{level:.2g} per cell (family-wise alpha={pol.alpha}, Bonferroni over the gated categories); "
            f"regressed: the upper bound lies below −margin; '≥ x': the lower bound at level "
            f"{pol.futility_alpha} lies above −delta ({100 * pol.delta:.0f} pts), so no drop of delta or more; "
            f"a category stops as soon as it is decided; resolves: the smallest drop of {pol.metrics[0]} the "
            f"category's pool flags with {pol.power:.0%} power (evalkit plan).")
