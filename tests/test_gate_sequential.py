"""The sequential gate on a pool suite, end to end: rounds, early stops, budgets, --fixed, stored-run compare."""

from __future__ import annotations

from pathlib import Path

import pytest

from evalkit.gate import compare_refs, run_gate
from evalkit.run import JournalConfig, RunConfig
from evalkit.run.config import SequentialConfig
from evalkit.vocab import Stop, Verdict
from gate_support import copy_store_db, promote_and_export

#: one worker builds the pool (generate + baseline run, ~15 s) and runs every test of this module
pytestmark = pytest.mark.xdist_group("pool")

CATS = ["messaging/kafka-lag", "capacity/traffic-surge"]   # v2 loses ~90 points on the first, gains on the second
POOL = 60


@pytest.fixture(scope="module")
def pool(tmp_path_factory, embedded_store_template):
    """A 2-category pool of 60 scenarios each, its reference:v1 baseline (k=2) exported, and a policy."""
    from evalkit.run import run_suite
    from evalkit.suite import generate_suite

    root = tmp_path_factory.mktemp("pool")
    suite = generate_suite(root / "suites" / "pool", "pool", POOL, seed=5, categories=CATS, pool=True).path
    result = run_suite(suite, "reference:v1", RunConfig(trials=2, jobs=2, journal=JournalConfig(dir=root / "j")))
    promote_and_export(result, root, embedded_store_template)
    policy = root / "policy.toml"
    policy.write_text("[gate]\nround_size = 10\n")
    return root, suite, policy


def gate(pool, tmp_path: Path, agent: str, seed: int = 1, **sequential):
    root, suite, policy = pool
    config = RunConfig(seed=seed, jobs=2, journal=JournalConfig(dir=tmp_path / "journal"),
                       sequential=SequentialConfig(**sequential))
    uri = f"sqlite:///{copy_store_db(root / 'store' / 'mlflow.db', tmp_path / 'store')}"
    return run_gate(suite, agent, config, tracking_uri=uri, output_dir=tmp_path / "reports", policy=policy,
                    baselines_dir=root / "baselines"), uri


def cell(result, category: str, metric: str = "rca_top1"):
    f = result.comparison.to_frame()
    return f[(f["category"] == category) & (f["metric"] == metric)].iloc[0]


def test_a_loud_regression_fails_the_gate_within_two_rounds_and_the_gain_stops_early(pool, tmp_path):
    result, _ = gate(pool, tmp_path, "reference:v2")
    assert result.exit_code == 1
    kafka, surge = cell(result, CATS[0]), cell(result, CATS[1])
    assert kafka["verdict"] == Verdict.REGRESSED and kafka["stop"] == Stop.REGRESSED
    assert kafka["n"] in (10, 20) and kafka["pool"] == POOL      # decided within two rounds of 10
    assert kafka["bound_high"] < -kafka["margin"]                 # the printed bound is the one that decided
    assert surge["stop"] == Stop.WITHIN_DELTA and surge["n"] < POOL
    table = result.run.table
    assert set(table["trial"]) == {0}                              # one trial per drawn scenario
    assert len(table) == int(kafka["n"] + surge["n"])
    text = (tmp_path / "reports" / "report.txt").read_text()
    assert "n/pool" in text and f"{int(kafka['n'])}/60" in text and "anytime bound" in text


@pytest.mark.parametrize("journal", ["fresh", "none"])
def test_each_round_runs_only_its_new_scenarios_even_with_a_fresh_or_no_journal(pool, tmp_path, journal):
    from fakes import gate_agents

    from evalkit.run.config import NO_JOURNAL

    root, suite, policy = pool
    journals = {"fresh": JournalConfig(dir=tmp_path / "journal", fresh=True), "none": NO_JOURNAL}
    config = RunConfig(seed=1, jobs=2, executor="threads", journal=journals[journal])
    uri = f"sqlite:///{copy_store_db(root / 'store' / 'mlflow.db', tmp_path / 'store')}"
    gate_agents.INVESTIGATIONS.clear()
    result = run_gate(suite, "fakes.gate_agents:counted_monitor_focus", config, tracking_uri=uri,
                      output_dir=tmp_path / "reports", policy=policy, baselines_dir=root / "baselines")
    assert len(result.comparison.meta["rounds"]) >= 2
    assert len(gate_agents.INVESTIGATIONS) == len(result.run.table)  # no round ran an earlier round's scenarios
    assert result.run.meta["resumed_trials"] == 0  # the earlier rounds' trials are this gate's own, not resumed
    assert (result.run.meta["journal"] is None) == (journal == "none")


def test_a_gate_rerun_on_the_same_build_says_it_resumed_the_earlier_gate(pool, tmp_path):
    from fakes import gate_agents

    root, suite, policy = pool
    config = RunConfig(seed=1, jobs=2, executor="threads", journal=JournalConfig(dir=tmp_path / "journal"))
    uri = f"sqlite:///{copy_store_db(root / 'store' / 'mlflow.db', tmp_path / 'store')}"
    runs = []
    for _ in range(2):
        gate_agents.INVESTIGATIONS.clear()
        lines: list[str] = []
        result = run_gate(suite, "fakes.gate_agents:counted_monitor_focus", config, tracking_uri=uri,
                          output_dir=tmp_path / "reports", policy=policy, baselines_dir=root / "baselines",
                          log=lines.append)
        runs.append((len(gate_agents.INVESTIGATIONS), result.run.meta, lines))
    (ran1, meta1, lines1), (ran2, meta2, lines2) = runs
    assert ran1 == meta1["n_trials"] and meta1["resumed_trials"] == 0
    assert not any("resumed" in line for line in lines1)
    assert ran2 == 0 and meta2["resumed_trials"] == meta2["n_trials"] == meta1["n_trials"]
    assert any(line.startswith(f"note: {meta2['n_trials']} of {meta2['n_trials']} trials resumed") for line in lines2)


def test_the_baseline_build_with_another_seed_passes_without_spending_the_pool(pool, tmp_path):
    result, _ = gate(pool, tmp_path, "reference:v1", seed=3)
    assert result.exit_code == 0
    frame = result.comparison.to_frame()
    assert not (frame["verdict"] == Verdict.REGRESSED).any()
    assert len(result.run.table) < 2 * POOL
    assert set(result.comparison.meta["stops"].values()) <= {Stop.WITHIN_DELTA, Stop.POOL_SPENT}


def test_a_trial_budget_stops_every_category_and_reports_the_open_ones_as_they_stand(pool, tmp_path):
    result, _ = gate(pool, tmp_path, "reference:v1", seed=4, max_trials=15)
    assert len(result.run.table) == 15
    stops = result.comparison.meta["stops"]
    assert Stop.BUDGET in stops.values()
    assert any("trial budget reached" in n for n in result.comparison.notes)


def test_fixed_runs_every_scenario_of_the_pool_in_one_shot(pool, tmp_path):
    result, _ = gate(pool, tmp_path, "reference:v2", fixed=True)
    assert result.exit_code == 1
    assert result.run.table["scenario_id"].nunique() == 2 * POOL
    assert "stop" not in result.comparison.to_frame().columns


def test_comparing_a_stored_sequential_run_gives_the_gates_verdicts(pool, tmp_path):
    root, suite, policy = pool
    result, uri = gate(pool, tmp_path, "reference:v2")
    comparison, _ = compare_refs(result.logged.run_id, str(root / "baselines" / "pool" / "main.results.parquet"),
                                 policy=policy, tracking_uri=uri)
    assert comparison.meta["design"] == "sequential"
    assert comparison.to_frame()["verdict"].tolist() == result.comparison.to_frame()["verdict"].tolist()
    # the drop each category's pool resolves (the reports' "resolves" column), as the gate showed it
    assert comparison.meta["resolvable_drop"] == result.comparison.meta["resolvable_drop"]
    gated, stored = result.comparison.to_frame(), comparison.to_frame()
    assert stored["mde"].equals(gated["mde"]) and stored["mde"].notna().any()


def test_the_gates_decision_is_searchable_as_tags_of_its_mlflow_run(pool, tmp_path):
    import mlflow

    result, uri = gate(pool, tmp_path, "reference:v2")
    tags = mlflow.MlflowClient(uri).get_run(result.logged.run_id).data.tags
    assert tags["evalkit.gate.verdict"] == "regressed" and tags["evalkit.gate.exit_code"] == "1"
    assert tags["evalkit.gate.design"] == "sequential"
    assert f"{CATS[0]}:rca_top1" in tags["evalkit.gate.regressed"].split(",")
    assert tags["evalkit.gate.baseline_build"].startswith("reference:v1+")
