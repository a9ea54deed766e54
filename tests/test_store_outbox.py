"""Offline outbox: a run that cannot reach its tracking server is kept locally and synced exactly once."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from store_support import TcpForwarder, free_port, synthetic_run_result, unique_suite

from evalkit.errors import UserError
from evalkit.store import Store, TrackingUnreachable
from evalkit.store import store as store_module
from evalkit.store.names import TAG_KEY
from evalkit.store.payload import REQUEST_FILE


def no_mlflow_client_for_a_dead_server(monkeypatch) -> None:
    """Fail the test if an MLflow client is made: its HTTP retries are what take minutes on a dead server."""
    def make_client(target):
        raise AssertionError(f"an MLflow client was made for {target.display}: the probe should have failed first")

    monkeypatch.setattr(store_module, "make_client", make_client)


def _runs_with_key(store: Store, suite: str, key: str) -> list:
    client = store.client()
    exp = client.get_experiment_by_name(f"evalkit/{suite}")
    if exp is None:
        return []
    return client.search_runs([exp.experiment_id], filter_string=f"tags.`{TAG_KEY}` = '{key}'")


@pytest.mark.postgres
def test_dead_server_queues_run_then_sync_uploads_it_exactly_once(mlflow_pg_server, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    port = free_port()  # nothing listens here yet: the "server" is down
    uri = f"http://127.0.0.1:{port}"
    suite = unique_suite()
    result = synthetic_run_result(suite)
    store = Store(uri, root=tmp_path)

    with pytest.MonkeyPatch.context() as patch:
        no_mlflow_client_for_a_dead_server(patch)  # fails fast, no minutes of HTTP retries
        logged = store.log_run(result, pr=7)
    assert "refused" in logged.message.lower()  # the probe, not an upload, found it down
    assert logged.queued and logged == "" and logged.run_id is None
    assert "queued in outbox" in logged.message and "evalkit sync" in logged.message
    entry = tmp_path / ".evalkit" / "outbox" / logged.key
    assert logged.outbox_path == entry
    for name in (REQUEST_FILE, "results/results.parquet", "trajectories/trajectories.jsonl.gz",
                 "meta/meta.json"):
        assert (entry / name).is_file(), name
    assert [e.key for e in store.pending()] == [logged.key]

    # still down: sync keeps the entry
    results = store.sync()
    assert [r.status for r in results] == ["unreachable"] and entry.exists()

    forwarder = TcpForwarder(port, ("127.0.0.1", mlflow_pg_server.port)).start()  # the server comes back
    try:
        results = store.sync()
        assert [r.status for r in results] == ["uploaded"]
        run_id = results[0].run_id
        assert not entry.exists() and store.pending() == []
        runs = _runs_with_key(store, suite, logged.key)
        assert [r.info.run_id for r in runs] == [run_id]
        assert runs[0].info.status == "FINISHED" and runs[0].data.tags["evalkit.source"] == "outbox"
        assert runs[0].data.tags["evalkit.pr"] == "7"
        pd.testing.assert_frame_equal(store.load_table(run_id), result.table)
        assert store.load_trajectories(run_id) == result.trajectories

        assert store.sync() == []  # a second sync changes nothing
        assert len(_runs_with_key(store, suite, logged.key)) == 1
    finally:
        forwarder.stop()


@pytest.mark.postgres
def test_sync_after_an_interrupted_cleanup_does_not_upload_twice(mlflow_pg_server, tmp_path, monkeypatch):
    """The upload finished but the process died before removing the entry: the next sync finds the run by
    its idempotency key and only removes the entry."""
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    port = free_port()
    suite = unique_suite()
    store = Store(f"http://127.0.0.1:{port}", root=tmp_path)
    logged = store.log_run(synthetic_run_result(suite))
    saved = tmp_path / "saved-entry"
    shutil.copytree(logged.outbox_path, saved)
    forwarder = TcpForwarder(port, ("127.0.0.1", mlflow_pg_server.port)).start()
    try:
        [first] = store.sync()
        shutil.copytree(saved, logged.outbox_path)  # as if the entry had never been removed
        [second] = store.sync()
        assert (first.status, second.status) == ("uploaded", "already present")
        assert second.run_id == first.run_id
        assert len(_runs_with_key(store, suite, logged.key)) == 1 and store.pending() == []
    finally:
        forwarder.stop()


def test_sync_to_an_explicit_uri_uploads_to_that_store(tmp_path, make_embedded_store, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    suite = unique_suite()
    dead = Store(f"http://127.0.0.1:{free_port()}", root=tmp_path)
    logged = dead.log_run(synthetic_run_result(suite))
    assert logged.queued
    local = make_embedded_store(tmp_path)  # same outbox folder, explicit embedded target
    local_explicit = Store(local.target.uri, root=tmp_path)
    [res] = local_explicit.sync()
    assert res.status == "uploaded" and local_explicit.run_info(res.run_id).suite == suite
    assert local_explicit.pending() == []


def test_outbox_can_be_disabled(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store = Store(f"http://127.0.0.1:{free_port()}", root=tmp_path)
    with pytest.raises(TrackingUnreachable) as err:
        store.log_run(synthetic_run_result(unique_suite()), outbox=False)
    assert isinstance(err.value, UserError) and "unreachable" in str(err.value)
    assert store.pending() == []


def test_reads_from_a_dead_server_fail_fast_with_one_line(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store = Store(f"http://127.0.0.1:{free_port()}", root=tmp_path)
    no_mlflow_client_for_a_dead_server(monkeypatch)  # fails fast, no minutes of HTTP retries
    with pytest.raises(TrackingUnreachable) as err:
        store.history("core")
    message = str(err.value)
    assert "\n" not in message and message.startswith("--tracking-uri: server 'http://127.0.0.1:")
    assert "start the MLflow server" in message


@pytest.mark.postgres
def test_a_live_server_is_health_checked_once_per_connect_and_once_before_each_upload(mlflow_pg_server, tmp_path,
                                                                                     monkeypatch):
    """The check runs before first use and again before an upload (which may follow a long run), never
    twice in a row: a silent server costs its probe timeout once per step, not twice."""
    import evalkit.store.store as store_module

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    calls = []
    real_probe = store_module.probe
    monkeypatch.setattr(store_module, "probe", lambda target: calls.append(target.uri) or real_probe(target))
    store = Store(mlflow_pg_server.uri, root=tmp_path)
    store.require_reachable()
    assert len(calls) == 1
    store.find_runs(unique_suite())
    assert len(calls) == 1
    assert not store.log_run(synthetic_run_result(unique_suite()), pr=1).queued
    assert len(calls) == 2
    fresh = Store(mlflow_pg_server.uri, root=tmp_path)
    assert not fresh.log_run(synthetic_run_result(unique_suite()), pr=2).queued
    assert calls[2:] == [mlflow_pg_server.uri]
