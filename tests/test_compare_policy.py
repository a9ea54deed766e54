"""Gate policy files: shipped policies load, every bad input is one clear line, defaults apply without a file."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.compare import Policy, default_policy, load_policy, policy_for_suite
from evalkit.compare.policy import policy_from_dict
from evalkit.errors import UserError

REPO = Path(__file__).resolve().parents[1]


def _problems(text: str, tmp_path: Path) -> list[str]:
    f = tmp_path / "policy.toml"
    f.write_text(text)
    with pytest.raises(UserError) as err:
        load_policy(f)
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize("suite", ["core", "smoke"])
def test_shipped_policies_load_and_gate_top1_and_score(suite):
    pol = load_policy(REPO / "baselines" / suite / "policy.toml")
    assert pol.metrics == ("rca_top1", "rca_score")
    assert pol.alpha == 0.05 and pol.correction == "holm" and pol.margin == 0.02


def test_a_suite_without_a_policy_file_gets_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert policy_for_suite("no-such-suite") == default_policy()
    assert default_policy().source == "<default policy>"


def test_a_bare_suite_name_finds_the_suites_policy():
    assert load_policy("core").source.endswith("baselines/core/policy.toml")


def test_missing_policy_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no such policy file"):
        load_policy(tmp_path / "nope.toml")


def test_unknown_keys_are_reported(tmp_path):
    probs = _problems('[gate]\nalpah = 0.05\n[margin]\ndefault = 0.02\n[margins]\nfoo = 1\n', tmp_path)
    assert any("gate.alpah 'alpah': unknown key" in p for p in probs)
    assert any("margin 'margin': unknown section" in p for p in probs)
    assert any("margins.foo 'foo': unknown key" in p for p in probs)


@pytest.mark.parametrize("text,needle", [
    ("[gate]\nalpha = 0.7\n", "gate.alpha 0.7: must be a number in (0, 0.5)"),
    ("[gate]\nalpha = 0\n", "gate.alpha 0: must be a number in (0, 0.5)"),
    ("[gate]\nalpha = 'x'\n", "gate.alpha 'x': must be a number in (0, 0.5)"),
    ("[margins]\ndefault = -0.01\n", "margins.default -0.01: margin must be >= 0"),
    ("[margins.category]\n\"kubernetes/oom\" = -1\n", "margins.category.kubernetes/oom -1: margin must be >= 0"),
    ("[gate]\nmetrics = [\"rca_top9\"]\n", "gate.metrics 'rca_top9': unknown metric"),
    ("[margins.metric]\nrca_top9 = 0.1\n", "margins.metric.rca_top9 'rca_top9': unknown metric"),
    ("[gate]\ncorrection = \"bonferroni\"\n", "gate.correction 'bonferroni': must be one of holm | bh"),
    ("[gate]\ntest = \"wilcoxon\"\n", "gate.test 'wilcoxon': must be one of auto | t | wilson | score | permutation"),
    ("[gate]\ntest = \"mcnemar\"\n", "gate.test 'mcnemar': the conditional McNemar test was removed"),
    ("[gate]\nmcnemar = \"midp\"\n", "gate.mcnemar 'midp': the conditional McNemar test was removed"),
    ("[gate]\nmin_scenarios = 1\n", "gate.min_scenarios 1: must be an integer in [2, 100000]"),
    ("[gate]\nmax_infra_error_rate = 1.5\n", "gate.max_infra_error_rate 1.5: must be a number in [0, 1)"),
    ("[gate]\nprimary = \"rca_score\"\n", "gate.primary 'rca_score': must be a binary score"),
    ("[gate]\nmetrics = []\n", "gate.metrics []: gate at least one metric"),
    ("[gate]\nmetrics = [\"latency_s\"]\n", "margins.metric 'latency_s': is not on a 0-1 scale"),
    ("[gate]\nreport = [\"rca_top1\"]\n", "gate.report 'rca_top1': is also in gate.metrics"),
    ("[gate\n", "fix the TOML syntax"),
])
def test_each_bad_value_is_one_line_naming_file_field_value_and_fix(text, needle, tmp_path):
    probs = _problems(text, tmp_path)
    assert any(needle in p for p in probs), probs
    for p in probs:
        assert "\n" not in p and p.startswith(str(tmp_path / "policy.toml"))


def test_all_problems_are_listed_at_once(tmp_path):
    probs = _problems('[gate]\nalpha = 2\ncorrection = "x"\nmetrics = ["nope"]\n[margins]\ndefault = -1\n', tmp_path)
    assert len(probs) == 4


def test_margins_resolve_category_then_metric_then_default():
    pol = policy_from_dict({"margins": {"default": 0.02, "metric": {"rca_score": 0.03},
                                        "category": {"kubernetes/oom": 0.05}}})
    assert pol.margin_for("kubernetes/oom", "rca_top1") == 0.05
    assert pol.margin_for("database/slow-query", "rca_score") == 0.03
    assert pol.margin_for("database/slow-query", "rca_top1") == 0.02


def test_cost_metrics_can_be_reported_with_an_explicit_margin_in_their_units():
    pol = policy_from_dict({"gate": {"report": ["latency_s"]}, "margins": {"metric": {"latency_s": 0.5}}})
    assert pol.report == ("latency_s",) and pol.lower_is_better("latency_s")
    assert pol.margin_for("any", "latency_s") == 0.5


def test_custom_scorer_metrics_are_accepted():
    pol = policy_from_dict({"gate": {"report": ["custom.judge.score"]},
                            "margins": {"metric": {"custom.judge.score": 0.05}}})
    assert pol.all_metrics() == ("rca_top1", "rca_score", "custom.judge.score")
    assert isinstance(pol, Policy)


def test_margins_and_deltas_given_in_points_instead_of_fractions_are_refused():
    from evalkit.compare.policy import policy_from_dict
    from evalkit.errors import UserError

    with pytest.raises(UserError) as err:
        policy_from_dict({"margins": {"default": 5}}, "p.toml")
    text = str(err.value)
    assert "margins.default" in text and "500 points" in text and len(text.splitlines()) == 1
    with pytest.raises(UserError) as err:
        policy_from_dict({"deltas": {"default": 10}}, "p.toml")
    assert "deltas.default" in str(err.value) and "1000 points" in str(err.value)
