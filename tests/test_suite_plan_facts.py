"""Remembered plan facts: `suite validate` after `suite generate` derives no plan again, yet still catches an
edited truth file or window, and a different generator version ignores what an older one remembered."""

from __future__ import annotations

import json

import pytest

from suite_helpers import private_replay_cache


@pytest.fixture
def generated(tmp_path, monkeypatch):
    from evalkit.suite.writer import generate_suite

    private_replay_cache(tmp_path, monkeypatch)
    return generate_suite(tmp_path / "s", "s", 2, seed=5, categories=["kubernetes/oom", "database/slow-query"]).path


def _no_plans(monkeypatch):
    import evalkit.suite.generator.plan as plan

    def refuse(category, seed):
        raise AssertionError(f"plan of {category}/{seed} derived again")

    monkeypatch.setattr(plan, "make_plan", refuse)


def test_validation_after_generation_reuses_the_generated_plans(generated, monkeypatch):
    from evalkit.suite import validate_suite

    _no_plans(monkeypatch)
    assert validate_suite(generated) == []


def test_remembered_plans_still_catch_an_edited_truth_file_and_window(generated, monkeypatch):
    from evalkit.suite import validate_suite

    truth = sorted((generated / "truth").glob("*.json"))[0]
    doc = json.loads(truth.read_text())
    doc["component"] = "coredns"
    truth.write_text(json.dumps(doc))
    scen = sorted((generated / "scenarios").glob("*.json"))[1]
    sdoc = json.loads(scen.read_text())
    sdoc["window"]["start"] += 60
    scen.write_text(json.dumps(sdoc))
    _no_plans(monkeypatch)
    fields = sorted(p.field for p in validate_suite(generated))
    assert "component/fault_type" in fields and "window" in fields


def test_another_generator_version_derives_its_plans_again(generated, monkeypatch):
    from evalkit.suite import plan_facts, replay_cache, validate_suite

    monkeypatch.setattr(replay_cache, "generator_fingerprint", lambda: "another generator")
    assert plan_facts.load(generated) == {}
    assert validate_suite(generated) == []
    assert len(plan_facts.load(generated)) == 4           # validation remembers what it derived
