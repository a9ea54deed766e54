"""Materialized worlds (telemetry files inside the suite): the documented format round-trips exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same two scenarios generated as seeds and as materialized telemetry files."""
    from evalkit.suite import generate_suite

    base = tmp_path_factory.mktemp("mat")
    cats = ["network/connectivity", "kubernetes/oom"]
    seeds = generate_suite(base / "seeds", "x", 1, seed=5, categories=cats).path
    files = generate_suite(base / "files", "x", 1, seed=5, categories=cats, materialize=True).path
    return seeds, files


def test_materialized_world_loads_to_the_same_bytes_as_the_replay(pair):
    from evalkit.suite import load_suite, load_world

    seeds, files = pair
    a, b = load_suite(seeds), load_suite(files)
    for sa, sb in zip(a.scenarios, b.scenarios):
        assert sb.world == {"path": f"worlds/{sb.id}"} and sb.step == 60
        assert load_world(sa).to_bytes() == load_world(sb).to_bytes()


def test_materialized_folder_has_the_documented_files(pair):
    _, files = pair
    folder = next((files / "worlds").iterdir())
    assert {p.name for p in folder.iterdir()} == {"topology.json", "metrics.csv", "units.json", "logs.jsonl",
                                                  "traces.jsonl", "events.json", "monitors.json"}
    header = (folder / "metrics.csv").read_text().splitlines()[0]
    assert header == "ts,component,metric,value"
    topo = json.loads((folder / "topology.json").read_text())
    assert set(topo) == {"components", "edges"} and all(len(e) == 3 for e in topo["edges"])


def test_parquet_metrics_and_missing_samples_load_as_nan(tmp_path, pair):
    import pandas as pd

    from evalkit.suite import load_suite, load_world

    _, files = pair
    import shutil

    root = tmp_path / "p"
    shutil.copytree(files, root)
    folder = sorted((root / "worlds").iterdir())[0]
    df = pd.read_csv(folder / "metrics.csv")
    dropped = df.iloc[5]
    df = df.drop(index=5)
    df.to_parquet(folder / "metrics.parquet", index=False)
    (folder / "metrics.csv").unlink()
    sc = next(s for s in load_suite(root).scenarios if s.world["path"] == f"worlds/{folder.name}")
    w = load_world(sc)
    i = (int(dropped["ts"]) - w.start) // w.step
    assert np.isnan(w.metrics[dropped["component"]][dropped["metric"]][i])


def test_minimal_hand_written_world_needs_only_topology_and_metrics(tmp_path):
    """What an importer of a real dataset has to write, at the least."""
    from evalkit.suite import load_suite, load_truth, load_world, validate_suite
    from evalkit.world import Toolbox

    root = tmp_path / "real"
    (root / "scenarios").mkdir(parents=True)
    (root / "truth").mkdir()
    (root / "worlds" / "case-1").mkdir(parents=True)
    (root / "suite.toml").write_text('name = "real"\nversion = "0.1"\ndescription = "imported"\n'
                                     'default_trials = 1\n[categories]\n"network/latency" = "injected delay"\n')
    start = 1_660_000_000
    (root / "worlds" / "case-1" / "topology.json").write_text(json.dumps({
        "components": [{"name": "frontend", "kind": "service", "tier": "service"},
                       {"name": "cart", "kind": "service", "tier": "service"}],
        "edges": [["frontend", "cart", "calls"]]}))
    rows = ["ts,component,metric,value"] + [f"{start + 300 * i},cart,latency_p90_s,{0.1 + (i > 6)}"
                                            for i in range(12)]
    (root / "worlds" / "case-1" / "metrics.csv").write_text("\n".join(rows) + "\n")
    (root / "scenarios" / "case-1.json").write_text(json.dumps({
        "id": "case-1", "category": "network/latency",
        "alert": {"component": "frontend", "metric": "latency_p90_s", "fired_at": start + 2400, "title": "slow"},
        "window": {"start": start, "end": start + 3600, "step": 300}, "world": {"path": "worlds/case-1"}}))
    (root / "truth" / "case-1.json").write_text(json.dumps({
        "scenario_id": "case-1", "component": "cart", "fault_type": "network_delay",
        "evidence": ["metric:cart:latency_p90_s"]}))
    assert validate_suite(root) == []
    s = load_suite(root)
    w = load_world(s.scenarios[0])
    tb = Toolbox(w)
    q = tb.query_metric("cart", "latency_p90_s")
    assert len(q["timestamps"]) == 12 and q["values"][-1] == pytest.approx(1.1)
    assert load_truth(s, "case-1").component == "cart"
