"""Store building blocks without a tracking server: names, metrics, URIs, probing, payloads, formats."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from store_support import free_port, synthetic_run_result, synthetic_table

from evalkit.errors import UserError
from evalkit.store import artifacts
from evalkit.store.metrics import aggregate_metrics, basic_aggregates, run_metrics
from evalkit.store.names import check_name, metric_key, sanitize_key
from evalkit.store.outbox import Outbox, sync_outbox
from evalkit.store.payload import PreparedRun, detect_git, params_of, prepare_run
from evalkit.store.tracking import (TrackingTarget, embedded_uri, is_unreachable_error, probe, resolve_tracking,
                                    retry_locked)


# -- names -----------------------------------------------------------------------------------------------
def test_metric_keys_keep_categories_and_are_valid_mlflow_names():
    from mlflow.utils.validation import _validate_metric_name

    assert metric_key("rca_top1", "mean", "database/slow-query") == "rca_top1.mean.database/slow-query"
    assert metric_key("rca_top1", "mean", "__overall_macro__") == "rca_top1.mean.__overall_macro__"
    odd = [metric_key("custom.judge.score", "ci_low", "a//b"), sanitize_key("/lead/../x"),
           sanitize_key("p@ss^k (k=3)"), sanitize_key("ünï/./côdé"), sanitize_key("x" * 400)]
    assert odd[0] == "custom.judge.score.ci_low.a/b" and odd[2] == "p_ss_k _k_3_"
    for key in odd:
        _validate_metric_name(key)  # raises on anything MLflow would reject


def test_suite_and_alias_names_are_checked():
    assert check_name("release-2024.06", "promote", "--alias") == "release-2024.06"
    for bad in ("", "a b", "x'y", "-lead", "a/b"):
        with pytest.raises(UserError, match="--alias"):
            check_name(bad, "promote", "--alias")


# -- metrics -----------------------------------------------------------------------------------------------
def test_long_aggregates_become_metric_stat_category_keys_and_skip_nan():
    agg = pd.DataFrame({"category": ["database/slow-query", "__overall_micro__"], "metric": ["rca_top1"] * 2,
                        "mean": [0.5, 0.25], "se": [np.nan, 0.1], "n_scenarios": [10, 20]})
    assert aggregate_metrics(agg) == {"rca_top1.mean.database/slow-query": 0.5,
                                      "rca_top1.n_scenarios.database/slow-query": 10.0,
                                      "rca_top1.mean.__overall_micro__": 0.25,
                                      "rca_top1.se.__overall_micro__": 0.1,
                                      "rca_top1.n_scenarios.__overall_micro__": 20.0}


def test_only_headline_numbers_become_mlflow_metrics_the_rest_stays_in_the_aggregates_artifact():
    """Per category: mean, se and n_scenarios of the gated metrics; otherwise the overall mean only."""
    rows = [(c, m, s) for c in ("db/slow", "__overall_micro__", "__overall_macro__")
            for m in ("rca_top1", "rca_top3", "rca_top1.pass_at_2", "error_rate.any", "latency_s")
            for s in ("mean", "se", "ci_low", "n_trials")]
    agg = pd.DataFrame(rows, columns=["category", "metric", "stat"]).assign(value=0.5).pivot_table(
        index=["category", "metric"], columns="stat", values="value").reset_index()
    assert set(aggregate_metrics(agg)) == {
        "rca_top1.mean.db/slow", "rca_top1.se.db/slow", "rca_top1.mean.__overall_micro__",
        "rca_top1.se.__overall_micro__", "rca_top3.mean.__overall_micro__", "error_rate.any.mean.__overall_micro__",
        "latency_s.mean.__overall_micro__"}


def test_wide_aggregates_indexed_by_category_are_flattened():
    wide = pd.DataFrame({"rca_top1.mean": [0.4]}, index=pd.Index(["kubernetes/oom"], name="category"))
    assert aggregate_metrics(wide) == {"rca_top1.mean.kubernetes/oom": 0.4}


def test_basic_aggregates_ignore_infrastructure_rows_and_add_overall_rows():
    table = synthetic_table("core", n_scenarios=8, trials=2, infra_errors=2)
    agg = basic_aggregates(table)
    usable = table[table["status"] != "infra_error"]
    cat = "database/slow-query"
    row = agg[(agg["category"] == cat) & (agg["metric"] == "rca_top1")].iloc[0]
    assert row["mean"] == pytest.approx(usable.loc[usable["category"] == cat, "rca_top1"].mean())
    micro = agg[(agg["category"] == "__overall_micro__") & (agg["metric"] == "rca_top1")].iloc[0]
    assert micro["mean"] == pytest.approx(usable["rca_top1"].mean()) and micro["n"] == len(usable)
    assert "custom.judge.helpfulness" in set(agg["metric"])


def test_run_metrics_count_errors():
    table = synthetic_table("core", n_scenarios=5, trials=2, infra_errors=3)
    m = run_metrics(table, {"duration_s": 4.0})
    assert m["run.rows"] == 10 and m["run.scenarios"] == 5 and m["run.trials"] == 2
    assert m["run.infra_errors"] == 3 and m["run.infra_error_rate"] == pytest.approx(0.3)
    assert m["run.duration_s"] == 4.0


# -- tracking URIs -----------------------------------------------------------------------------------------
def test_embedded_store_is_the_default_under_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    target = resolve_tracking()
    assert target.uri == f"sqlite:///{tmp_path.resolve()}/.evalkit/mlflow/mlflow.db" == embedded_uri()
    assert target.kind == "sqlite" and target.source == "default"
    assert target.artifact_root == tmp_path.resolve() / ".evalkit" / "mlflow" / "artifacts"


def test_tracking_uri_from_argument_then_environment(monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.internal:5000/")
    env = resolve_tracking()
    assert (env.uri, env.kind, env.source) == ("http://mlflow.internal:5000", "http", "env")
    arg = resolve_tracking("sqlite:////srv/evalkit/mlflow.db")
    assert arg.source == "argument" and arg.artifact_root == Path("/srv/evalkit/artifacts")


def test_unusable_tracking_uris_are_user_errors(monkeypatch):
    monkeypatch.delenv("EVALKIT_ARTIFACT_ROOT", raising=False)
    with pytest.raises(UserError, match="^--tracking-uri: uri 'ftp://x': use http"):
        resolve_tracking("ftp://x")
    with pytest.raises(UserError, match="artifact root") as err:
        resolve_tracking("postgresql://bob:secret@db/mlflow")
    assert "secret" not in str(err.value)
    monkeypatch.setenv("EVALKIT_ARTIFACT_ROOT", "/srv/artifacts")
    target = resolve_tracking("postgresql://bob@db/mlflow")
    assert target.uri.startswith("postgresql+psycopg2://") and target.kind == "database"


@pytest.fixture
def probe_attempts(monkeypatch) -> list[float]:
    """The timeout of every ``GET /health`` the probe makes, in order (the requests themselves are real)."""
    import urllib.request

    attempts: list[float] = []
    real_urlopen = urllib.request.urlopen

    def recording_urlopen(url, *args, timeout, **kwargs):
        attempts.append(timeout)
        return real_urlopen(url, *args, timeout=timeout, **kwargs)

    monkeypatch.setattr(urllib.request, "urlopen", recording_urlopen)
    return attempts


def test_probe_of_a_dead_port_answers_at_once(probe_attempts):
    """A refused connection is an answer: one try, no second chance (that is for servers slow to answer)."""
    target = TrackingTarget(f"http://127.0.0.1:{free_port()}", "http", None, "argument")
    reason = probe(target, timeout_s=3.0)
    assert reason and "refused" in reason.lower()
    assert probe_attempts == [3.0]
    assert probe(TrackingTarget("sqlite:////x.db", "sqlite", None, "default")) is None


class _SlowHealth:
    """A loopback HTTP server whose /health answers after ``delay_s`` (None: it accepts and never answers)."""

    def __init__(self, delay_s: float | None):
        import http.server
        import threading

        stop = self._stop = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if delay_s is None or stop.wait(delay_s):
                    stop.wait(30)
                    return
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"OK")

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.target = TrackingTarget(f"http://127.0.0.1:{self.server.server_address[1]}", "http", None, "argument")

    def close(self):
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_busy_server_that_answers_late_is_reachable_not_down():
    """A shared server behind a burst of CI jobs can miss the first timeout; the probe gives it a second,
    longer chance rather than declaring it down."""
    server = _SlowHealth(delay_s=0.6)
    try:
        assert probe(server.target, timeout_s=0.3) is None
    finally:
        server.close()


def test_a_server_that_never_answers_is_unreachable_after_the_second_chance(probe_attempts):
    server = _SlowHealth(delay_s=None)
    try:
        reason = probe(server.target, timeout_s=0.2)
    finally:
        server.close()
    assert reason and "timed out" in reason
    assert probe_attempts == [0.2, pytest.approx(0.6)]  # first try, then one try three times as long, no more


def test_locked_database_errors_are_retried_and_others_are_not():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("(sqlite3.OperationalError) database is locked")
        return "ok"

    assert retry_locked(flaky) == "ok" and len(calls) == 3
    with pytest.raises(ValueError):
        retry_locked(lambda: (_ for _ in ()).throw(ValueError("bad value")))
    assert is_unreachable_error(ConnectionRefusedError()) and not is_unreachable_error(ValueError("x"))


# -- payloads --------------------------------------------------------------------------------------------
def test_params_flatten_dicts_and_cap_long_values():
    params = params_of({"suite": "core", "trials": 3, "agent": {"temperature": 0.2}, "journal": None,
                        "warnings": ["a"], "huge": "x" * 7000})
    assert params["suite"] == "core" and params["trials"] == "3" and params["agent.temperature"] == "0.2"
    assert params["journal"] == "" and json.loads(params["warnings"]) == ["a"]
    assert len(params["huge"]) == 6000 and params["huge"].endswith("full value in meta.json]")
    assert params["suite_version"] == "" and params["evalkit_version"]


def test_git_details_come_from_arguments_then_meta_then_ci(monkeypatch):
    for var in ("GITHUB_SHA", "CI_COMMIT_SHA", "GIT_COMMIT", "GITHUB_HEAD_REF", "CI_COMMIT_REF_NAME",
                "GIT_BRANCH", "GITHUB_REF_NAME", "EVALKIT_PR", "CI_MERGE_REQUEST_IID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("GITHUB_SHA", "ci-sha")
    monkeypatch.setenv("GITHUB_HEAD_REF", "feature/x")
    monkeypatch.setenv("GITHUB_REF", "refs/pull/12/merge")
    assert detect_git({}) == {"sha": "ci-sha", "branch": "feature/x", "pr": "12"}
    assert detect_git({"git_sha": "meta-sha", "pr": 3}) == {"sha": "meta-sha", "branch": "feature/x", "pr": "3"}
    assert detect_git({}, git_sha="arg", branch="b", pr=9) == {"sha": "arg", "branch": "b", "pr": "9"}


def test_prepared_run_round_trips_through_its_folder(tmp_path):
    result = synthetic_run_result("core")
    prepared = prepare_run(result, tracking_uri="http://x:1", role="baseline", git_sha="s", branch="b")
    try:
        again = PreparedRun.load(prepared.directory)
        assert again == prepared
        assert again.tags["evalkit.role"] == "baseline" and again.experiment == "evalkit/core"
        pd.testing.assert_frame_equal(artifacts.read_table(prepared.directory / "results/results.parquet"),
                                      result.table)
    finally:
        import shutil

        shutil.rmtree(prepared.directory)


def test_prepare_rejects_bad_inputs(tmp_path):
    result = synthetic_run_result("core")
    with pytest.raises(UserError, match="--role"):
        prepare_run(result, tracking_uri="x", role="winner")
    with pytest.raises(UserError, match="report"):
        prepare_run(result, tracking_uri="x", reports=[tmp_path / "missing.md"])
    with pytest.raises(ValueError, match="lacks column"):
        prepare_run(synthetic_run_result("core").__class__(result.table.drop(columns=["trial"]), [], result.meta),
                    tracking_uri="x")


# -- formats ---------------------------------------------------------------------------------------------
def test_trajectories_are_strict_json_lines_even_with_nan_and_numpy(tmp_path):
    path = tmp_path / "t.jsonl.gz"
    docs = [{"a": np.float64("nan"), "b": np.int64(3), "c": (1, 2), "d": float("inf")}, {"e": "ü"}]
    artifacts.write_trajectories(docs, path)
    lines = gzip.decompress(path.read_bytes()).decode().splitlines()
    assert [json.loads(line) for line in lines] == [{"a": None, "b": 3, "c": [1, 2], "d": None}, {"e": "ü"}]
    assert "NaN" not in lines[0] and artifacts.read_trajectories(path)[1] == {"e": "ü"}


def test_outbox_entry_held_by_another_sync_is_skipped(tmp_path):
    prepared = prepare_run(synthetic_run_result("core"), tracking_uri=f"http://127.0.0.1:{free_port()}")
    outbox = Outbox(tmp_path / "outbox")
    outbox.put(prepared)
    [entry] = outbox.entries()
    with outbox.claim(entry) as mine:
        assert mine
        with outbox.claim(entry) as second:
            assert not second
    # the target is down anyway: the entry stays
    assert [r.status for r in sync_outbox(outbox)] == ["unreachable"] and outbox.entries() == [entry]


def test_idempotency_keys_are_checked():
    result = synthetic_run_result("core")
    for bad in ("../escape", ".hidden", "a b", "x" * 201):
        with pytest.raises(UserError, match="idempotency_key"):
            prepare_run(result, tracking_uri="x", key=bad)


def test_logged_run_is_a_picklable_run_id_string(tmp_path):
    import pickle

    from evalkit.store import LoggedRun

    logged = LoggedRun("abc123", queued=False, key="k", outbox_path=None, tracking_uri="sqlite:///x",
                       experiment="evalkit/core")
    assert logged == "abc123" and f"{logged}" == "abc123" and json.dumps(logged) == '"abc123"'
    again = pickle.loads(pickle.dumps(logged))
    assert again == "abc123" and again.run_id == "abc123" and again.message == logged.message
    queued = LoggedRun(None, queued=True, key="k", outbox_path=tmp_path, tracking_uri="http://x",
                       experiment="evalkit/core", reason="connection refused")
    assert queued == "" and not queued and "queued in outbox" in pickle.loads(pickle.dumps(queued)).message


def test_importing_the_store_does_not_import_mlflow():
    import subprocess
    import sys

    code = "import sys, evalkit.store; print('mlflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "False"
