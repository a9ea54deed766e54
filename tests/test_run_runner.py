"""run_suite end to end on suites/smoke: rows, seeds, resume, failure classes, retries, user scorers."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from evalkit.errors import UserError
from evalkit.run.journal import default_journal_path
from evalkit.run.config import NO_JOURNAL, JournalConfig, RetryConfig, RunConfig
from evalkit.run.runner import run_suite
from evalkit.run.seeds import trial_seed
from evalkit.run.spool import Trajectories
from evalkit.run.summary import format_summary
from evalkit.score.schema import RESULT_COLUMNS
from test_run_agents import down_for_good, hangs, odd_scenario

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "suites" / "smoke"
TIMING = ["latency_s"]


# --- fixtures ----------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def smoke():
    if not (SMOKE / "suite.toml").exists():
        pytest.fail("suites/smoke is missing")
    from evalkit.suite import load_suite

    return load_suite(SMOKE)


@pytest.fixture(scope="module")
def v1_run(smoke, tmp_path_factory):
    journal = tmp_path_factory.mktemp("journal")
    config = RunConfig(trials=2, seed=3, jobs=2, journal=JournalConfig(journal))
    return run_suite(SMOKE, "reference:v1", config), journal


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.drop(columns=TIMING), b.drop(columns=TIMING))


# --- tests -------------------------------------------------------------------------------------------
def test_run_scores_every_scenario_and_trial_with_seeds_from_the_run_seed(smoke, v1_run):
    result, _ = v1_run
    t = result.table
    assert list(t.columns)[: len(RESULT_COLUMNS)] == list(RESULT_COLUMNS)
    assert len(t) == 2 * len(smoke.scenarios) and not t.duplicated(["scenario_id", "trial"]).any()
    assert set(t["status"]) == {"ok"} and (t["expected_component"] != "").all()
    assert t["rca_top1"].between(0, 1).all() and (t["tool_calls"] > 0).all()
    assert all(s == trial_seed(3, sc, tr) for s, sc, tr in zip(t["seed"], t["scenario_id"], t["trial"]))
    cats = {s.id: s.category for s in smoke.scenarios}
    assert all(cats[sc] == c for sc, c in zip(t["scenario_id"], t["category"]))
    m = result.meta
    assert (m["suite_hash"], m["trials"], m["seed"], m["infra_errors"]) == (smoke.hash, 2, 3, 0)
    assert m["build_id"].startswith("reference:v1") and m["executor"] == "processes"
    assert len(result.trajectories) == len(t) and result.trajectories[0]["calls"][0]["tool"]
    assert isinstance(result.trajectories, Trajectories)  # read from disk when asked, not held in memory
    assert [(x["scenario_id"], x["trial"]) for x in result.trajectories] == list(zip(t["scenario_id"], t["trial"]))
    assert "overall (macro)" in format_summary(result)


def test_rerunning_the_same_call_resumes_and_reproduces_the_table(v1_run):
    result, journal = v1_run
    again = run_suite(SMOKE, "reference:v1", RunConfig(trials=2, seed=3, jobs=2, journal=JournalConfig(journal)))
    assert again.meta["resumed_trials"] == len(result.table)
    pd.testing.assert_frame_equal(again.table, result.table)
    assert again.trajectories == result.trajectories  # resumed from the journal, the same as when they ran


def test_journal_of_another_build_is_refused(v1_run, tmp_path):
    result, journal = v1_run
    suite = result.meta["suite"]
    src = default_journal_path(journal, suite, result.meta["build_id"], 3)
    other = "reference:v1?victim_discount=0.0"
    from evalkit.agents.spec import load_agent

    dst = default_journal_path(tmp_path, suite, str(load_agent(other).build), 3)
    shutil.copy(src, dst)
    with pytest.raises(UserError, match="build_id .*another agent build"):
        run_suite(SMOKE, other, RunConfig(trials=2, seed=3, journal=JournalConfig(tmp_path)))


def test_crashing_agent_is_a_scored_failure_not_a_crashed_run(smoke):
    r = run_suite(SMOKE, "test_run_agents:crash_agent", RunConfig(trials=1, executor="threads", journal=NO_JOURNAL))
    t = r.table
    assert set(t["status"]) == {"agent_error"} and set(t["error_class"]) == {"agent_crash"}
    assert (t["rca_top1"] == 0).all() and (t["rca_score"] == 0).all() and (t["tool_calls"] == 1).all()
    assert t["error_message"].str.contains("agent bug").all()
    assert r.meta["agent_errors"] == len(t)


def test_hung_python_agent_is_killed_at_the_timeout(smoke):
    """A hung investigation ends as a timeout whose worker was killed, never as the late answer it would give."""
    r = run_suite(SMOKE, "test_run_agents:hang_sometimes",
                  RunConfig(trials=1, jobs=2, timeout_s=0.5, journal=NO_JOURNAL))
    t = r.table
    hung = t["seed"].map(hangs)
    assert hung.any() and set(t.loc[hung, "error_class"]) == {"timeout"}
    assert t.loc[hung, "error_message"].str.contains("killed and replaced").all()
    assert (t.loc[hung, "latency_s"] >= 0.5).all()
    assert set(t.loc[~hung, "status"]) == {"ok"}


def test_infrastructure_failures_are_retried_then_reported_apart(smoke, tmp_path):
    r = run_suite(SMOKE, "test_run_agents:FlakyEndpointAgent",
                  RunConfig(trials=1, jobs=2, executor="threads", journal=JournalConfig(tmp_path / "j"),
                            agent_options={"marker_dir": str(tmp_path)}, retry=RetryConfig(backoff_s=0.01)))
    t = r.table
    down = t["seed"].map(down_for_good)
    if not down.any() or down.all():
        pytest.fail("smoke seeds do not exercise both cases")
    assert set(t.loc[down, "status"]) == {"infra_error"} and set(t.loc[down, "error_class"]) == {"infra_unreachable"}
    assert t.loc[down, ["rca_top1", "rca_score", "evidence_recall"]].isna().all().all()
    assert set(t.loc[~down, "status"]) == {"ok"}  # one failed attempt, then retried successfully
    assert r.meta["infra_errors"] == int(down.sum())
    assert any("infrastructure errors" in w for w in r.warnings)
    journal = Path(r.meta["journal"]).read_text().splitlines()[1:]
    attempts = [json.loads(line)["outcome"]["attempt"] for line in journal]
    assert max(attempts) == 2 and set(attempts) == {1, 2}


def test_a_run_where_every_trial_hits_infrastructure_errors_is_a_user_error(smoke, tmp_path):
    with pytest.raises(UserError, match="all .* trials failed with infrastructure errors"):
        run_suite(SMOKE, "test_run_agents:FlakyEndpointAgent",
                  RunConfig(trials=1, executor="threads", journal=NO_JOURNAL,
                            agent_options={"marker_dir": str(tmp_path)}, retry=RetryConfig(max_retries=0, backoff_s=0.0)))


def test_failing_user_scorer_is_named_and_does_not_lose_the_run(v1_run):
    result, journal = v1_run
    # Resuming from the journal re-scores the stored findings, so scorers added later apply too.
    r = run_suite(SMOKE, "reference:v1",
                  RunConfig(trials=2, seed=3, journal=JournalConfig(journal),
                            scorers=["test_run_agents:always_explodes", "test_run_agents:sometimes_explodes",
                                     "n=test_run_agents:hypothesis_count"]))
    t = r.table
    assert r.meta["resumed_trials"] == len(t) == len(result.table)
    builtin = ["rca_top1", "rca_top3", "rca_score", "evidence_recall", "distractor_ratio", "tool_calls"]
    pd.testing.assert_frame_equal(t[builtin], result.table[builtin])  # built-in scores kept
    assert set(t["status"]) == {"ok"} and set(t["error_class"]) == {"scorer_error"}
    assert t["error_message"].str.contains("scorer 'always_explodes'").all()
    assert t["error_message"].str.contains("KeyError").all()
    assert not any(c.startswith("custom.always_explodes") for c in t.columns)
    assert (t["custom.n.n_hypotheses"] >= 1).all()
    part = t["custom.sometimes_explodes.ok"]
    odd = t["scenario_id"].map(odd_scenario)
    assert odd.any() and (~odd).any()
    assert part[odd].isna().all() and (part[~odd] == 1.0).all()
    text = format_summary(r)
    assert f"warning: user scorer 'always_explodes' failed on {len(t)} trial(s)" in text
    assert any("'sometimes_explodes' failed on" in w for w in r.warnings)


def test_bad_inputs_are_user_errors_before_anything_runs(tmp_path):
    with pytest.raises(UserError, match="--trials"):
        run_suite(SMOKE, "reference:v1", RunConfig(trials=0, journal=NO_JOURNAL))
    with pytest.raises(UserError, match="agent"):
        run_suite(SMOKE, "nonsense agent", RunConfig(trials=1, journal=NO_JOURNAL))
    with pytest.raises(UserError, match="--scorer"):
        run_suite(SMOKE, "reference:v1", RunConfig(trials=1, journal=NO_JOURNAL, scorers=["nope"]))
    assert not list(tmp_path.iterdir())


def test_a_stale_world_in_the_suite_stops_the_run_with_the_suites_error(tmp_path):
    suite = tmp_path / "smoke"
    shutil.copytree(SMOKE, suite)
    victim = sorted((suite / "scenarios").glob("*.json"))[0]
    doc = json.loads(victim.read_text())
    doc["world"]["digest"] = "0000000000000000"
    victim.write_text(json.dumps(doc))
    with pytest.raises(UserError, match=victim.stem):
        run_suite(suite, "reference:v1",
                  RunConfig(trials=1, executor="threads", journal=JournalConfig(tmp_path / "j")))
    journal = next((tmp_path / "j").glob("*.jsonl"))
    assert json.loads(journal.read_text().splitlines()[0])["suite"] == "smoke"  # kept for the rerun


def test_a_worker_gets_its_next_trial_before_the_finished_one_is_scored_and_journaled(smoke, tmp_path, monkeypatch):
    """Scoring, journaling and the journal's fsync happen while the workers run their next trials, once the
    broken-agent check (the first --fail-fast trials) is past; those first trials are scored before more start."""
    import evalkit.run.runner as runner
    from test_executor_conformance import SerialExecutor

    events: list[tuple[str, str]] = []

    class Recording(SerialExecutor):
        def submit(self, task):
            events.append(("submit", task.key))
            super().submit(task)

    record = runner._Context.record
    monkeypatch.setattr(runner._Context, "record", lambda self, o: events.append(("score", o.key)) or record(self, o))
    config = RunConfig(trials=2, executor=Recording(), fail_fast=3, journal=JournalConfig(dir=tmp_path / "j"))
    run_suite(smoke, "reference:v1", config, limit=4)
    submits = [k for e, k in events if e == "submit"]
    assert len(submits) == 8 and [e for e, _ in events].count("score") == 8
    for i, key in enumerate(submits[:-1]):  # the trial after ``key`` starts before (past the check) or after it is scored
        started_next, scored = events.index(("submit", submits[i + 1])), events.index(("score", key))
        assert (started_next < scored) == (i >= 3), (i, events)
