"""Every policy value is range-checked against what it means: a margin on a proportion lies in [0, 1) and below
δ, a [gate] number within its bounds; a value no float can hold is refused in one line, not an OverflowError."""

from __future__ import annotations

import dataclasses

import pytest

from evalkit.compare.policy import GATE_CHOICES, GATE_NUMBERS, Policy, policy_from_dict
from evalkit.errors import UserError

HUGE = 10 ** 400  # what a 400-digit TOML integer parses to


def problems(doc: dict) -> list[str]:
    with pytest.raises(UserError) as err:
        policy_from_dict(doc, "policy.toml")
    return str(err.value).splitlines()


def test_the_gate_number_and_choice_tables_name_policy_fields_of_their_type():
    fields = {f.name: f for f in dataclasses.fields(Policy)}
    for key, allowed in GATE_NUMBERS.items():
        assert isinstance(getattr(Policy(), key), allowed.kind), key
        assert allowed.holds(getattr(Policy(), key)), f"the default {key} is outside its own range"
    for key, choices in GATE_CHOICES.items():
        assert fields[key].default in choices


@pytest.mark.parametrize("key", sorted(GATE_NUMBERS))
@pytest.mark.parametrize("value", [HUGE, -HUGE, float("inf"), float("nan"), True, "0.1", [1]])
def test_a_gate_number_that_is_not_a_usable_number_is_one_line(key, value):
    [line] = problems({"gate": {key: value}})
    assert line.startswith(f"policy.toml: gate.{key} ") and "must be " in line and len(line) < 300


@pytest.mark.parametrize("key, too_big", [("permutations", 10 ** 7), ("min_scenarios", 10 ** 6),
                                          ("round_size", 10 ** 6)])
def test_integers_have_an_upper_bound_too(key, too_big):
    [line] = problems({"gate": {key: too_big}})
    assert f"gate.{key} {too_big}: must be an integer in [" in line


@pytest.mark.parametrize("doc, field", [
    ({"margins": {"default": HUGE}}, "margins.default"),
    ({"margins": {"metric": {"rca_score": HUGE}}}, "margins.metric.rca_score"),
    ({"margins": {"category": {"kubernetes/oom": -HUGE}}}, "margins.category.kubernetes/oom"),
    ({"deltas": {"default": HUGE}}, "deltas.default"),
    ({"deltas": {"metric": {"rca_top1": float("inf")}}}, "deltas.metric.rca_top1"),
])
def test_margins_and_deltas_no_float_can_hold_are_refused(doc, field):
    assert any(line.startswith(f"policy.toml: {field} ") for line in problems(doc))


@pytest.mark.parametrize("doc, field", [
    ({"margins": {"default": 0.5}}, "margins.default"),  # 50 points on a 0-1 score: never a regression
    ({"margins": {"default": 1.0}}, "margins.default"),
    ({"margins": {"metric": {"rca_score": 0.9}}}, "margins.metric.rca_score"),
    ({"margins": {"category": {"kubernetes/oom": 0.7}}}, "margins.category.kubernetes/oom"),
    ({"margins": {"default": -0.01}}, "margins.default"),
])
def test_a_margin_on_a_proportion_lies_in_0_to_1(doc, field):
    [line] = problems(doc)
    assert line.startswith(f"policy.toml: {field} ")


@pytest.mark.parametrize("doc, field", [
    ({"margins": {"default": 0.1}}, "deltas.default"),  # the default δ is 0.10
    ({"margins": {"default": 0.15}, "deltas": {"default": 0.12}}, "deltas.default"),
    ({"margins": {"metric": {"rca_score": 0.2}}, "deltas": {"metric": {"rca_score": 0.2}}},
     "deltas.metric.rca_score"),
    ({"margins": {"category": {"kubernetes/oom": 0.3}}}, "deltas.default"),
])
def test_a_margin_lies_below_delta(doc, field):
    [line] = problems(doc)
    assert line.startswith(f"policy.toml: {field} ") and "must be larger than the margin" in line


def test_values_inside_every_range_are_accepted():
    pol = policy_from_dict({"gate": {"alpha": 0.1, "power": 0.9, "permutations": 999, "min_scenarios": 2,
                                     "round_size": 100_000, "max_infra_error_rate": 0},
                            "margins": {"default": 0.0, "metric": {"rca_score": 0.49}},
                            "deltas": {"default": 0.05, "metric": {"rca_score": 0.5}}})
    assert (pol.alpha, pol.power, pol.permutations, pol.min_scenarios) == (0.1, 0.9, 999, 2)
    assert pol.margin_for("x", "rca_score") == 0.49 and pol.delta_for("rca_score") == 0.5
