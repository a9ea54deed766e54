"""`evalkit run --trace` logs each trial as an MLflow trace in the documented convention, and harvest reads it
back (through the default mapping, or a mapping hook for another convention)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from evalkit.cli import cli
from evalkit.store import names

pytestmark = pytest.mark.slow  # MLflow creates its SQLite schema (~10 s)


def skip_every_trace(trace):
    """A mapping hook that reads nothing as an investigation."""
    return None


def test_a_traced_run_is_harvested_into_a_candidate_with_its_feedback(tmp_path, monkeypatch):
    import mlflow

    from evalkit.labels.harvest import harvest
    from evalkit.labels.reading import load_mapping
    from evalkit.store.tracking import mlflow_tracking

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    res = CliRunner().invoke(cli, ["run", "--suite", "smoke", "--agent", "reference:v1", "--trials", "1",
                                   "--scenario", "database-slow-query-001", "--trace", "--trace-experiment", "prod",
                                   "--tracking-uri", uri, "--no-log", "--jobs", "1", "--quiet"])
    assert res.exit_code == 0, res.output
    # not mlflow.set_tracking_uri alone: it would leave MLFLOW_TRACKING_URI set for later tests
    with mlflow_tracking(uri):
        [trace] = mlflow.search_traces(locations=[mlflow.get_experiment_by_name("prod").experiment_id],
                                       return_type="list")
        tools = [s for s in trace.data.spans if str(s.span_type) == "TOOL"]
        assert trace.info.tags[names.TRACE_TAG_SCENARIO] == "database-slow-query-001"
        assert trace.info.tags[names.TRACE_TAG_CATEGORY] == "database/slow-query"
        assert trace.info.tags[names.TAG_BUILD].startswith("reference:v1")
        assert tools and all(s.outputs is not None for s in tools if names.SPAN_ATTR_ERROR not in s.attributes)
        root = next(s for s in trace.data.spans if s.parent_id is None)
        assert root.inputs["alert"]["component"] == "metering" and "hypotheses" in root.outputs["finding"]

        mlflow.log_expectation(trace_id=trace.info.trace_id, name=names.ASSESS_ROOT_CAUSE,
                               value={"component": "profiles-db", "fault_type": "slow_query"})
    got = harvest("prod", tmp_path / "labels", tracking_uri=uri)
    [cand] = [json.loads(p.read_text()) for p in (tmp_path / "labels" / "candidates").glob("*.json")]
    assert got.candidates == [cand["id"]] and cand["truth"]["component"] == "profiles-db"
    assert cand["category"] == "database/slow-query" and len(cand["queries"]) == len(tools)
    assert {"profiles-db", "metering"} <= {c["name"] for c in cand["snapshot"]["components"]}

    hooked = harvest("prod", tmp_path / "none", tracking_uri=uri,
                     mapping=load_mapping("test_labels_trace:skip_every_trace"))
    assert hooked.candidates == [] and list(hooked.skipped.values()) == ["not an investigation (no alert on the root span)"]


@pytest.mark.parametrize("before", [None, "sqlite:////tmp/the-users-own.db"])
def test_reading_labels_leaves_the_processes_tracking_uri_as_it_was(make_embedded_store, tmp_path, monkeypatch,
                                                                     before):
    # mlflow.set_tracking_uri also sets MLFLOW_TRACKING_URI: left set, a notebook's next evalkit call went there
    import os

    from evalkit.errors import UserError
    from evalkit.labels.harvest import harvest

    store = make_embedded_store(tmp_path)
    if before is not None:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", before)
    with pytest.raises(UserError, match="no such MLflow experiment"):
        harvest("no-such-experiment", tmp_path / "labels", tracking_uri=store.tracking_uri)
    assert os.environ.get("MLFLOW_TRACKING_URI") == before


def test_harvest_reaches_the_store_with_the_uri_as_given_credentials_included(monkeypatch, tmp_path):
    import evalkit.labels.harvest as harvest_mod

    seen = {}

    def fake_harvest(experiment, out, *, tracking_uri=None, mapping=None, force=False):
        seen["uri"] = tracking_uri
        raise SystemExit(0)

    monkeypatch.setattr(harvest_mod, "harvest", fake_harvest)
    CliRunner().invoke(cli, ["label", "harvest", "--experiment", "x", "--output-dir", str(tmp_path / "l"),
                             "--tracking-uri", "http://alice:s3cret@127.0.0.1:9"])
    assert seen["uri"] == "http://alice:s3cret@127.0.0.1:9"  # the display form drops the password
