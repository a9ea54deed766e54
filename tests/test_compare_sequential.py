"""The sequential design: anytime-valid betting bounds, per-category stopping, pool draw orders, planning."""

from __future__ import annotations

import numpy as np
import pytest

from evalkit.compare import betting, sequential as seq
from evalkit.compare.planning import planted_draws, plan_category
from evalkit.compare.policy import policy_from_dict
from evalkit.errors import UserError
from evalkit.vocab import Stop, Verdict


def draws(rng, probs, values, size):
    return rng.choice(np.asarray(values, dtype=float), p=probs, size=size)


@pytest.mark.parametrize("values,probs,m0", [
    ([-1, 0, 1], [0.06, 0.90, 0.04], -0.02),     # flips both ways, mean exactly at the margin
    ([-1, 0], [0.02, 0.98], -0.02),              # one-way flips only (the case McNemar's interval got wrong)
    ([-1, -1 / 3, 0, 1 / 3, 1], [0.1, 0.2, 0.4, 0.2, 0.1], 0.0),   # graded per-scenario means
])
@pytest.mark.parametrize("side", [betting.LOWER, betting.UPPER])
def test_a_true_null_is_rejected_at_most_alpha_of_the_time_under_continuous_monitoring(values, probs, m0, side):
    rng = np.random.default_rng(11)
    x = draws(rng, probs, values, (3000, 300))
    x += (m0 - np.dot(values, probs))  # shift so the mean is exactly m0 (values stay within [-1, 1] here)
    x = np.clip(x, -1, 1)
    # the wealth against the true mean itself, checked after every draw (the composite nulls' rejections are
    # a subset of this one's)
    peak = np.max(betting.log_wealth(x, [m0], side)[..., 0], axis=-1)
    for alpha in (0.05, 0.01):
        rate = np.mean(peak >= np.log(1 / alpha))
        # Monte-Carlo slack: 3 binomial standard errors
        assert rate <= alpha + 3 * np.sqrt(alpha * (1 - alpha) / x.shape[0])


def test_the_bound_is_the_decision_regressed_iff_the_upper_bound_is_below_the_margin():
    rng = np.random.default_rng(3)
    for _ in range(30):
        x = draws(rng, [0.15, 0.85], [-1, 0], 120)
        alpha = 0.05 / 24
        upper = betting.bound(x, alpha, betting.LOWER)
        rejected_at_margin = betting.first_crossing(x, -0.02, betting.LOWER, alpha, step=betting.GRID_STEP) <= x.size
        assert (upper < -0.02) == rejected_at_margin or abs(upper + 0.02) <= 2 * betting.GRID_STEP


def test_bounds_bracket_the_estimate_and_tighten_with_more_draws():
    rng = np.random.default_rng(5)
    x = draws(rng, [0.1, 0.8, 0.1], [-1, 0, 1], 400)
    widths = []
    for n in (25, 100, 400):
        lo, hi = betting.bound(x[:n], 0.05, betting.UPPER), betting.bound(x[:n], 0.05, betting.LOWER)
        assert lo <= x[:n].mean() <= hi
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]


def test_anytime_p_value_is_small_exactly_when_the_bound_excludes_the_null():
    x = np.r_[-np.ones(40), np.zeros(60)]
    np.random.default_rng(1).shuffle(x)
    p = betting.anytime_p(x, -0.02, betting.LOWER)
    assert p < 1e-3
    assert betting.bound(x, 1e-3, betting.LOWER) < -0.02
    assert betting.anytime_p(np.zeros(50), -0.02, betting.LOWER) == 1.0


def test_cell_verdicts_follow_their_bounds():
    regressed = seq.CellBounds(n=50, pool=100, mean=-0.3, upper=-0.1, lower=-0.5, lower_delta=-0.45, p=1e-4,
                               p_noninf=1.0)
    within = seq.CellBounds(n=50, pool=100, mean=0.0, upper=0.2, lower=-0.2, lower_delta=-0.08, p=1, p_noninf=1)
    unchanged = seq.CellBounds(n=50, pool=100, mean=0.05, upper=0.1, lower=-0.01, lower_delta=0.0, p=1, p_noninf=0)
    improved = seq.CellBounds(n=50, pool=100, mean=0.3, upper=0.5, lower=0.1, lower_delta=0.15, p=1, p_noninf=0)
    open_ = seq.CellBounds(n=10, pool=100, mean=-0.05, upper=0.3, lower=-0.4, lower_delta=-0.3, p=1, p_noninf=1)
    assert regressed.verdict(0.02, 0.10) == "regressed"
    assert within.verdict(0.02, 0.10) == Verdict.WITHIN_DELTA
    assert unchanged.verdict(0.02, 0.10) == "not-worse"
    assert improved.verdict(0.02, 0.10) == "improved"
    assert open_.verdict(0.02, 0.10) == "inconclusive"


def test_a_category_stops_when_any_gated_metric_regressed_all_are_within_delta_or_its_pool_is_spent():
    assert seq.category_stop(["regressed", "inconclusive"], 20, 400) == Stop.REGRESSED
    assert seq.category_stop([Verdict.WITHIN_DELTA, "not-worse"], 40, 400) == Stop.WITHIN_DELTA
    assert seq.category_stop([Verdict.WITHIN_DELTA, "inconclusive"], 40, 400) == Stop.OPEN
    assert seq.category_stop(["inconclusive", "inconclusive"], 400, 400) == Stop.POOL_SPENT


def test_overall_bounds_are_pool_weighted_sums_of_the_category_bounds():
    a = seq.CellBounds(n=10, pool=100, mean=-0.2, upper=-0.1, lower=-0.3, lower_delta=-0.25, p=0.1, p_noninf=1)
    b = seq.CellBounds(n=30, pool=300, mean=0.0, upper=0.1, lower=-0.1, lower_delta=-0.05, p=1, p_noninf=0.1)
    o = seq.combine([a, b], [100, 300])
    assert o.upper == pytest.approx(0.25 * -0.1 + 0.75 * 0.1)
    assert o.lower == pytest.approx(0.25 * -0.3 + 0.75 * -0.1)
    assert o.mean == pytest.approx(0.25 * -0.2)
    assert (o.n, o.pool) == (40, 400)


def test_draw_orders_are_permutations_fixed_by_the_seed_and_category():
    ids = {"a": [f"a-{i:03d}" for i in range(50)], "b": [f"b-{i:03d}" for i in range(30)]}
    o1, o2, o3 = seq.draw_orders(ids, 1), seq.draw_orders(ids, 1), seq.draw_orders(ids, 2)
    assert o1 == o2 and o1 != o3
    assert sorted(o1["a"]) == ids["a"] and o1["a"] != ids["a"]
    # the order does not depend on how the ids were listed
    assert seq.draw_orders({"a": list(reversed(ids["a"]))}, 1)["a"] == o1["a"]


def test_next_round_takes_round_size_per_open_category_and_respects_a_trial_budget():
    orders = {"a": list("abcdefgh"), "b": list("ijklmnop")}
    r = seq.next_round(orders, {"a": 0, "b": 6}, ["a", "b"], 4)
    assert r == {"a": list("abcd"), "b": list("op")}
    assert seq.next_round(orders, {"a": 0, "b": 0}, ["a", "b"], 4, max_new=5) == {"a": list("abcd"), "b": ["i"]}
    assert seq.next_round(orders, {"a": 8, "b": 8}, ["a", "b"], 4) == {}


def test_simulated_design_keeps_false_alarms_under_alpha_and_finds_a_twenty_point_drop():
    rng = np.random.default_rng(7)
    base = np.where(rng.random(200) < 0.8, 1.0, 0.0)
    out0, used0 = seq.simulate(planted_draws(base, 0.0, 300, rng), 0.02, 0.10, 0.05 / 24, 0.05, 20)
    out20, _ = seq.simulate(planted_draws(base, 0.20, 300, rng), 0.02, 0.10, 0.05 / 24, 0.05, 20)
    assert np.mean(out0 == seq.SIM_REGRESSED) == 0.0
    assert np.mean(out0 == seq.SIM_WITHIN) > 0.95 and used0.mean() < 100   # no change stops early
    assert np.mean(out20 == seq.SIM_REGRESSED) > 0.95


def test_planted_draws_plant_exactly_the_requested_share_of_wrong_answers():
    rng = np.random.default_rng(2)
    base = np.ones(100)
    x = planted_draws(base, 0.10, 50, rng)
    assert np.all((x == -1).sum(axis=1) == 10)


def test_plan_category_reports_power_and_the_resolvable_drop():
    rng = np.random.default_rng(4)
    base = np.where(rng.random(400) < 0.85, 1.0, 0.0)
    p = plan_category("c", base, margin=0.02, delta=0.10, alpha_cell=0.05 / 24, futility_alpha=0.05,
                      round_size=20, reps=200)
    assert p.pool == 400 and p.power_at_delta >= 0.8
    assert p.resolvable_drop <= 0.10
    assert p.scenarios_unchanged < p.scenarios_at_delta <= 400
    assert p.fixed_needed > 100


def test_policy_names_delta_per_metric_and_refuses_a_delta_at_or_below_the_margin():
    pol = policy_from_dict({"gate": {"design": "sequential", "round_size": 10, "futility_alpha": 0.1},
                            "deltas": {"default": 0.08, "metric": {"rca_score": 0.15}}})
    assert (pol.design, pol.round_size, pol.futility_alpha) == ("sequential", 10, 0.1)
    assert pol.delta_for("rca_top1") == 0.08 and pol.delta_for("rca_score") == 0.15
    with pytest.raises(UserError) as err:
        policy_from_dict({"margins": {"default": 0.05}, "deltas": {"default": 0.05}}, "p.toml")
    assert "deltas.default" in str(err.value) and "larger than the margin" in str(err.value)
    with pytest.raises(UserError) as err:
        policy_from_dict({"gate": {"design": "adaptive"}}, "p.toml")
    assert "gate.design" in str(err.value)


@pytest.mark.parametrize("design", ["fixed", "sequential"])
def test_runs_without_the_primary_score_are_compared_on_the_gated_metrics_and_have_no_flips(design):
    """The primary score only feeds the flips list: both designs judge runs that lack it (a table scored by
    other means) on the metrics the policy names, instead of one refusing them."""
    import warnings

    from evalkit.compare import compare
    from evalkit.compare.pool_comparison import compare_sequential, pool_orders
    from gate_support import synthetic_table

    passes = {"database/slow-query": [True] * 30, "network/latency": [i % 3 > 0 for i in range(30)]}
    cand = synthetic_table("cand", passes, seed=1).drop(columns="rca_top1")
    base = synthetic_table("base", passes, seed=2).drop(columns="rca_top1")
    policy = policy_from_dict({"gate": {"metrics": ["rca_top3"], "report": []}}, "policy.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        if design == "fixed":
            comparison = compare(cand, base, policy)
        else:
            orders = pool_orders(base, seed=1)
            comparison = compare_sequential(cand, base, policy, orders)
    frame = comparison.to_frame()
    assert set(frame["metric"]) == {"rca_top3"}
    assert not (frame["verdict"] == Verdict.REGRESSED).any()
    assert comparison.flips().empty
