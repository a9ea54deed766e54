"""Store conformance: the same behaviour on the embedded SQLite store and on an MLflow server backed by
PostgreSQL (the ``store`` fixture is parametrised over both)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from store_support import synthetic_run_result, unique_suite

from evalkit.errors import UserError
from evalkit.store import DEFAULT_ALIAS, read_export, resolve_baseline
from evalkit.store.names import PROMOTIONS_EXPERIMENT


@pytest.fixture
def store(store_on_backend):
    """The Store under test: embedded-style SQLite file, then the PostgreSQL-backed server."""
    return store_on_backend


def test_logged_table_loads_back_equal_with_dtypes(store):
    suite = unique_suite()
    result = synthetic_run_result(suite)
    table = result.table
    # every column type of the schema is present, with NaN and custom columns
    assert {str(t) for t in table.dtypes} >= {"string", "int64", "float64"}
    assert table["evidence_recall"].isna().any() and table["custom.judge.helpfulness"].isna().any()
    run_id = store.log_run(result)
    assert not run_id.queued and run_id == run_id.run_id
    loaded = store.load_table(run_id)
    pd.testing.assert_frame_equal(loaded, table)


def test_round_trip_keeps_non_schema_dtypes_and_index(store):
    result = synthetic_run_result(unique_suite())
    table = result.table.copy()
    table["custom.int_counter"] = np.arange(len(table), dtype="int64")  # not conformed: kept as given
    table["note"] = pd.Series(["x"] * len(table), dtype="string")
    result.table = table
    pd.testing.assert_frame_equal(store.load_table(store.log_run(result)), table)


def test_run_records_params_tags_metrics_and_artifacts(store, tmp_path):
    suite = unique_suite()
    report = tmp_path / "report.md"
    report.write_text("# report\n")
    result = synthetic_run_result(suite, agent_config={"temperature": 0.2, "flags": ["a", "b"]})
    run_id = store.log_run(result, role="candidate", reports=[report], git_sha="abc123", branch="feat/x", pr=42)
    info = store.run_info(run_id)
    assert info.experiment == f"evalkit/{suite}"
    assert info.status == "FINISHED" and info.outcome == "complete" and info.uploaded
    for key, value in {"build_id": "reference:v1+abc", "agent_spec": "reference:v1", "suite": suite,
                       "suite_version": "1.0", "suite_hash": "hash-1", "trials": "3", "seed": "0",
                       "evalkit_version": "0.1.0", "agent_config.temperature": "0.2"}.items():
        assert info.params[key] == value, key
    assert json.loads(info.params["agent_config.flags"]) == ["a", "b"]
    assert info.tags["evalkit.git_sha"] == "abc123" and info.tags["evalkit.branch"] == "feat/x"
    assert info.tags["evalkit.pr"] == "42" and info.tags["evalkit.role"] == "candidate"
    table = result.table
    cat = "database/slow-query"
    expected = table[table["category"] == cat].groupby("scenario_id")["rca_top1"].mean().mean()
    assert info.metrics[f"rca_top1.mean.{cat}"] == pytest.approx(expected)
    assert f"rca_top1.se.{cat}" in info.metrics and "rca_top3.mean.__overall_micro__" in info.metrics
    assert len(info.metrics) <= 100  # headline numbers only; the rest is results/aggregates.parquet
    assert info.metrics["run.rows"] == len(table) and info.metrics["run.infra_error_rate"] == 0.0
    assert store.load_meta(run_id)["agent_config"] == {"temperature": 0.2, "flags": ["a", "b"]}
    assert store.load_trajectories(run_id) == result.trajectories
    listed = {f.path for f in store.client().list_artifacts(run_id, "reports")}
    assert listed == {"reports/report.md"}


def test_more_than_a_thousand_metrics_are_logged_in_batches(store):
    result = synthetic_run_result(unique_suite())
    rows = [{"category": f"cat/{i:03d}", "metric": "rca_top1", "mean": i / 1000, "se": 0.01, "n_scenarios": 9}
            for i in range(400)]  # 400 x 3 stats = 1200 metrics > one log_batch call
    run_id = store.log_run(result, aggregates=pd.DataFrame(rows))
    metrics = store.run_info(run_id).metrics
    assert len([k for k in metrics if k.startswith("rca_top1.")]) == 1200
    assert metrics["rca_top1.mean.cat/399"] == pytest.approx(0.399)


def test_idempotency_key_logs_one_run(store):
    suite = unique_suite()
    first = store.log_run(synthetic_run_result(suite), idempotency_key="job-77")
    again = store.log_run(synthetic_run_result(suite), idempotency_key="job-77")
    assert first == again
    assert len(store.find_runs(suite)) == 1


def test_failed_evaluation_is_stored_but_not_promotable(store):
    suite = unique_suite()
    run_id = store.log_run(synthetic_run_result(suite, status="failed"))
    info = store.run_info(run_id)
    assert info.status == "FAILED" and info.outcome == "failed"
    with pytest.raises(UserError, match="status"):
        store.promote(run_id, suite, "main")


def test_promotion_history_is_ordered_and_rollback_is_a_new_promotion(store):
    suite = unique_suite()
    r1 = store.log_run(synthetic_run_result(suite, build_id="b1"))
    r2 = store.log_run(synthetic_run_result(suite, build_id="b2"))
    assert store.current_baseline(suite, "main") is None
    p1 = store.promote(r1, suite, "main", reason="first", who="alice")
    p2 = store.promote(r2, suite, "main", reason="better", who="bob")
    store.promote(r2, suite, "nightly", who="ci")
    assert store.current_baseline(suite, "main").run_id == r2
    back = store.promote(r1, suite, "main", reason="rollback: b2 broke dns", who="alice")
    history = store.history(suite, "main")
    assert [p.run_id for p in history] == [r1, r2, r1]
    assert [p.reason for p in history] == ["first", "better", "rollback: b2 broke dns"]
    assert history[0].who == "alice" and history[1].build_id == "b2" and history[0].suite_hash == "hash-1"
    assert [p.order for p in history] == sorted(p.order for p in history)
    assert len({p.order for p in history}) == 3 and p1.order < p2.order < back.order
    assert store.current_baseline(suite, "main").run_id == r1
    assert store.current_baseline(suite, "nightly").run_id == r2
    assert len(store.history(suite)) == 4
    # the evaluation runs themselves are untouched by promotion
    assert store.run_info(r1).role == "candidate"


def test_promotion_order_survives_a_lagging_clock(store, monkeypatch):
    suite = unique_suite()
    run_id = store.log_run(synthetic_run_result(suite))
    first = store.promote(run_id, suite, "main")
    import datetime as dt

    real = dt.datetime

    class Lagging(real):  # this promoter's clock is an hour behind
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) - dt.timedelta(hours=1)

    monkeypatch.setattr("evalkit.store.baselines.dt.datetime", Lagging)
    second = store.promote(run_id, suite, "main", reason="later, from a slow clock")
    assert second.order > first.order
    assert store.current_baseline(suite, "main").record_id == second.record_id


def test_promotion_refuses_other_suite_version(store):
    suite = unique_suite()
    run_id = store.log_run(synthetic_run_result(suite, suite_hash="old-hash"))
    with pytest.raises(UserError) as err:
        store.promote(run_id, suite, "main", suite_hash="new-hash")
    assert "suite_hash 'old-hash'" in str(err.value) and "new-hash" in str(err.value)
    assert store.history(suite) == []


def test_promotion_refuses_too_many_infrastructure_errors(store):
    suite = unique_suite()
    run_id = store.log_run(synthetic_run_result(suite, infra_errors=6))  # 6 of 36 trials
    with pytest.raises(UserError, match="infra_error_rate"):
        store.promote(run_id, suite, "main")
    for rate in (float("nan"), -0.1, 1.5):  # NaN would have switched the check off
        with pytest.raises(UserError, match="give a share from 0 to 1"):
            store.promote(run_id, suite, "main", max_infra_error_rate=rate)
    assert store.promote(run_id, suite, "main", max_infra_error_rate=0.2).run_id == run_id


def test_promotion_refuses_run_of_another_suite_and_unknown_runs(store):
    suite, other = unique_suite(), unique_suite()
    run_id = store.log_run(synthetic_run_result(other))
    with pytest.raises(UserError, match="is not a run of suite"):
        store.promote(run_id, suite, "main")
    with pytest.raises(UserError, match="no such run"):
        store.promote("0" * 32, suite, "main")
    with pytest.raises(UserError, match="--alias"):
        store.promote(run_id, other, "bad alias!")


def test_export_then_import_into_an_empty_store(store, tmp_path, make_embedded_store):
    suite = unique_suite()
    result = synthetic_run_result(suite)
    run_id = store.log_run(result, role="baseline")
    store.promote(run_id, suite, DEFAULT_ALIAS, reason="release 1.0")
    baselines = tmp_path / "repo" / "baselines"
    manifest_path = store.export_baseline(suite, DEFAULT_ALIAS, baselines)
    assert manifest_path == baselines / suite / "main.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert manifest["mlflow_run_id"] == run_id and manifest["build_id"] == "reference:v1+abc"
    assert manifest["suite_hash"] == "hash-1" and manifest["trials"] == 3 and manifest["seed"] == 0
    assert manifest["evalkit_version"] == "0.1.0" and len(manifest["sha256"]) == 64
    doc, table, _ = read_export(baselines, suite, DEFAULT_ALIAS)
    pd.testing.assert_frame_equal(table, result.table)

    fresh = make_embedded_store(tmp_path / "fresh-clone")  # an empty embedded store
    assert fresh.current_baseline(suite) is None
    promotion = fresh.import_baseline(suite, DEFAULT_ALIAS, baselines, suite_hash="hash-1")
    assert promotion.build_id == "reference:v1+abc" and "imported from" in promotion.reason
    pd.testing.assert_frame_equal(fresh.load_table(promotion.run_id), result.table)
    assert fresh.run_info(promotion.run_id).tags["evalkit.imported_from_run"] == run_id
    again = fresh.import_baseline(suite, DEFAULT_ALIAS, baselines)
    assert again.record_id == promotion.record_id and len(fresh.history(suite)) == 1


def test_import_refuses_a_modified_export(store, tmp_path, make_embedded_store):
    suite = unique_suite()
    run_id = store.log_run(synthetic_run_result(suite))
    store.export_baseline(suite, "main", tmp_path, run_id=run_id)
    parquet = tmp_path / suite / "main.results.parquet"
    parquet.write_bytes(parquet.read_bytes() + b"tampered")
    with pytest.raises(UserError, match="sha256"):
        make_embedded_store(tmp_path / "clone").import_baseline(suite, "main", tmp_path)


def test_resolve_baseline_prefers_store_then_committed_export(store, tmp_path):
    suite = unique_suite()
    committed = synthetic_run_result(suite, build_id="committed", seed=1)
    run_c = store.log_run(committed)
    store.export_baseline(suite, "main", tmp_path, run_id=run_c)
    with pytest.raises(UserError, match="no promotion"):
        resolve_baseline(store, suite, "main", tmp_path / "nowhere")
    table, source = resolve_baseline(store, suite, "main", tmp_path)
    assert source.startswith("committed export") and "committed" in source
    pd.testing.assert_frame_equal(table, committed.table)

    promoted = synthetic_run_result(suite, build_id="promoted", seed=2)
    run_p = store.log_run(promoted)
    store.promote(run_p, suite, "main")
    table, source = resolve_baseline(store, suite, "main", tmp_path)
    assert run_p in source and "promoted" in source
    pd.testing.assert_frame_equal(table, promoted.table)
    # a baseline of another suite version is never used
    with pytest.raises(UserError, match="suite hash"):
        resolve_baseline(store, suite, "main", tmp_path, suite_hash="another")


def test_promotions_live_in_their_own_experiment(store):
    suite = unique_suite()
    run_id = store.log_run(synthetic_run_result(suite))
    promotion = store.promote(run_id, suite, "main")
    client = store.client()
    record = client.get_run(promotion.record_id)
    assert client.get_experiment(record.info.experiment_id).name == PROMOTIONS_EXPERIMENT
    assert record.data.tags["evalkit.promotion.run_id"] == run_id
