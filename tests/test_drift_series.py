"""Metric series across builds read from the store (evalkit.drift.series) and backdated runs (Store.log_run)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from store_support import synthetic_run_result

from evalkit.drift.series import load_series, metric_columns, parse_since
from evalkit.errors import UserError
from evalkit.store.names import metric_key

DAY = dt.timedelta(days=1)
T0 = dt.datetime(2024, 3, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def store(tmp_path, make_embedded_store):
    return make_embedded_store(tmp_path)


def test_log_run_start_time_backdates_the_run_and_its_metrics(store):
    run_id = store.log_run(synthetic_run_result("drifty", build_id="b1"), start_time=T0)
    info = store.run_info(run_id)
    assert info.start_time == int(T0.timestamp() * 1000)
    history = store.client().get_metric_history(run_id, "run.rows")
    assert [m.timestamp for m in history] == [int(T0.timestamp() * 1000)]


def test_series_has_one_point_per_build_in_time_order_with_promotions_marked(store):
    # logged out of order; b2 is evaluated twice (its latest run counts); a failed run is left out
    r3 = store.log_run(synthetic_run_result("drifty", build_id="b3", seed=3), start_time=T0 + 2 * DAY)
    r1 = store.log_run(synthetic_run_result("drifty", build_id="b1", seed=1), start_time=T0)
    store.log_run(synthetic_run_result("drifty", build_id="b2", seed=2), start_time=T0 + DAY)
    r2b = store.log_run(synthetic_run_result("drifty", build_id="b2", seed=5),
                        start_time=T0 + DAY + dt.timedelta(hours=3))
    store.log_run(synthetic_run_result("drifty", build_id="b4", status="failed"), start_time=T0 + 3 * DAY)
    store.promote(r1, "drifty", "main", suite_hash="hash-1")

    s = load_series(store, "drifty", "main")
    assert s.builds["run_id"].tolist() == [r1, r2b, r3]
    assert s.builds["build_id"].tolist() == ["b1", "b2", "b3"]
    assert s.builds["promoted"].tolist() == [True, False, False]
    assert any("failed" in n for n in s.notes) and any("latest run" in n for n in s.notes)
    assert set(s.frame["metric"]) == {"rca_top1", "rca_score"}
    assert "__overall_micro__" in set(s.frame["category"]) and "__overall_macro__" not in set(s.frame["category"])
    # the values are the run's logged aggregates (what the MLflow UI charts)
    info = store.run_info(r3)
    f = s.frame
    row = f[(f["order"] == 2) & (f["category"] == "kubernetes/oom") & (f["metric"] == "rca_top1")]
    assert row["mean"].item() == pytest.approx(info.metrics[metric_key("rca_top1", "mean", "kubernetes/oom")])
    assert row["se"].item() == pytest.approx(info.metrics[metric_key("rca_top1", "se", "kubernetes/oom")])
    assert row["n_scenarios"].item() == 3.0

    later = load_series(store, "drifty", "main", since="2024-03-02")
    assert later.builds["build_id"].tolist() == ["b2", "b3"]
    assert s.run_url(r1).endswith(f"/runs/{r1}") and s.ui_hint().startswith("mlflow ui --backend-store-uri")


def test_series_marks_each_gated_build_with_its_latest_gate_verdict(store):
    gate = lambda verdict: {"evalkit.gate.verdict": verdict}  # noqa: E731 - the tags a gate sets
    store.log_run(synthetic_run_result("gated", build_id="b1", seed=1), start_time=T0, role="baseline")
    store.log_run(synthetic_run_result("gated", build_id="b2", seed=2), start_time=T0 + DAY, tags=gate("regressed"))
    store.log_run(synthetic_run_result("gated", build_id="b3", seed=3), start_time=T0 + 2 * DAY,
                  tags=gate("regressed"))
    store.log_run(synthetic_run_result("gated", build_id="b3", seed=4), start_time=T0 + 2 * DAY + dt.timedelta(hours=1),
                  tags=gate("not-worse"))  # the fix, gated again: its latest gate counts
    store.log_run(synthetic_run_result("gated", build_id="b3", seed=5), start_time=T0 + 3 * DAY,
                  role="history")  # a later plain run of the build does not erase that it was gated

    s = load_series(store, "gated", "main")
    assert s.builds["build_id"].tolist() == ["b1", "b2", "b3"]
    assert s.builds["gate"].tolist() == ["", "regressed", "not-worse"]


def test_series_of_a_suite_without_runs_is_a_user_error(store):
    with pytest.raises(UserError) as err:
        load_series(store, "nothing-here")
    assert "no complete evaluation runs" in str(err.value) and "demo-history" in str(err.value)


def test_since_must_be_an_iso_date():
    assert parse_since("2024-06-01") == dt.datetime(2024, 6, 1, tzinfo=dt.timezone.utc)
    assert parse_since("2024-06-01T12:00+02:00").utcoffset() == dt.timedelta(hours=2)
    with pytest.raises(UserError, match="--since"):
        parse_since("last tuesday")


def test_metric_keys_with_dotted_metrics_are_not_mistaken_for_stats():
    metrics = {"rca_top1.mean.db/slow": 0.5, "rca_top1.pass_at_1.mean.db/slow": 0.9, "rca_top1.se.db/slow": 0.1,
               "rca_score.mean.db/slow": 0.4}
    out = metric_columns(metrics, ["rca_top1"])
    assert out == {("db/slow", "rca_top1"): {"mean": 0.5, "se": 0.1}}
    assert pd.notna(out[("db/slow", "rca_top1")]["mean"])
