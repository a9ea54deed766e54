"""The gate's outcome as MLflow tags (evalkit.gate_outcome), the policy hash and where a baseline came from —
without running anything."""

from __future__ import annotations

import dataclasses
import pickle
from types import SimpleNamespace

import pandas as pd

from evalkit.compare.policy import Policy
from evalkit.compare.policy_hash import policy_hash
from evalkit.gate_outcome import gate_tags
from evalkit.store.exchange import BaselineSource


def test_the_policy_hash_changes_with_any_rule_but_not_with_the_file_it_was_read_from():
    policy = Policy(source="baselines/core/policy.toml")
    assert len(policy_hash(policy)) == 12
    assert policy_hash(policy) == policy_hash(dataclasses.replace(policy, source="/elsewhere/policy.toml"))
    assert policy_hash(policy) != policy_hash(dataclasses.replace(policy, margin=0.03))
    assert policy_hash(policy) != policy_hash(dataclasses.replace(policy, metric_margins={"rca_top1": 0.05}))
    assert policy_hash(policy) != policy_hash(dataclasses.replace(policy, correction="bh"))


def test_a_baseline_source_reads_as_its_line_and_refers_to_its_run_or_export():
    stored = BaselineSource("MLflow run abc (build b1), promoted …", run_id="abc")
    exported = BaselineSource("committed export baselines/core/main.manifest.json …",
                              export="baselines/core/main.manifest.json")
    assert stored == "MLflow run abc (build b1), promoted …" and stored.ref == "abc"
    assert exported.ref == "export:baselines/core/main.manifest.json" and exported.run_id == ""
    copy = pickle.loads(pickle.dumps(exported))  # crosses process boundaries like the rest of a GateResult
    assert copy == exported and copy.ref == exported.ref


def fake_comparison(verdict: str, regressed: list[tuple[str, str]]) -> SimpleNamespace:
    return SimpleNamespace(verdict=verdict, regressed_cells=regressed, policy=Policy(source="p.toml"),
                           cells=pd.DataFrame())


def test_gate_tags_name_the_verdict_the_cells_the_baseline_and_the_policy():
    comparison = fake_comparison("regressed", [("database/slow-query", "rca_top1"), ("__overall_micro__", "rca_top1")])
    tags = gate_tags(comparison, SimpleNamespace(baseline_build="reference:v1+abc"), sequential=False,
                     baseline_source=BaselineSource("…", run_id="run-7"))
    assert tags == {
        "evalkit.gate.verdict": "regressed", "evalkit.gate.exit_code": "1", "evalkit.gate.design": "fixed",
        "evalkit.gate.regressed": "database/slow-query:rca_top1,__overall_micro__:rca_top1",
        "evalkit.gate.baseline_build": "reference:v1+abc", "evalkit.gate.baseline_run": "run-7",
        "evalkit.gate.policy_hash": policy_hash(comparison.policy), "evalkit.gate.policy": "p.toml",
    }


def test_a_passing_gate_is_tagged_too_and_a_plain_source_string_leaves_the_baseline_run_empty():
    tags = gate_tags(fake_comparison("not-worse", []), SimpleNamespace(baseline_build="b"), sequential=True,
                     baseline_source="somewhere")
    assert tags["evalkit.gate.verdict"] == "not-worse" and tags["evalkit.gate.exit_code"] == "0"
    assert tags["evalkit.gate.regressed"] == "" and tags["evalkit.gate.baseline_run"] == ""
    assert tags["evalkit.gate.design"] == "sequential"
