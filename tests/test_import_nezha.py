"""`evalkit suite import nezha`: the Nezha RCA dataset becomes a valid, deterministic suite.

Real-data tests read the shared copy (``<repo>/../shared/datasets/nezha`` or ``$EVALKIT_DATASETS``)
and skip with a reason when it is absent. Most checks run on one Train Ticket day (17 faults, a few
seconds); the full 101-fault import is compared with the shipped suite in a slow test.
"""

from __future__ import annotations

import gzip
import json
import os
from collections import Counter
from pathlib import Path

import pytest

from evalkit.errors import UserError
from evalkit.suite.importers import default_source, import_suite

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "suites" / "real-nezha"
SRC = default_source("nezha")
DAY = "2023-01-30"
needs_data = pytest.mark.skipif(not (SRC / "rca_data").is_dir(),
                                reason=f"Nezha dataset not found at {SRC} (set EVALKIT_DATASETS)")
#: inject_type -> category (written out independently of the importer)
CATEGORY = {"cpu_contention": "cpu/contention", "cpu_consumed": "cpu/consumption", "network_delay": "network/delay",
            "return": "code-defect/wrong-return", "exception": "code-defect/exception"}


def labels(days=None) -> list[dict]:
    out = []
    for p in sorted((SRC / "rca_data").glob("*/*-fault_list.json")):
        if days is None or p.parent.name in days:
            out += [f for hour in json.loads(p.read_text()).values() for f in hour]
    return out


def link_tree(src: Path, dst: Path, days=(DAY,), keep_faults: int | None = None) -> Path:
    """A view of the dataset (symlinked files) with only ``days`` (and, with ``keep_faults``, only the first
    faults of each day's list); files can then be replaced one by one."""
    def link(rel: str) -> None:
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(src / rel, dst / rel)

    link("LICENSE")
    for p in sorted((src / "construct_data").glob("root_cause_*.json")):
        link(str(p.relative_to(src)))
    for day in days:
        for p in sorted((src / "rca_data" / day).rglob("*")):
            if p.is_file():
                link(str(p.relative_to(src)))
        if keep_faults is not None:
            lst = dst / "rca_data" / day / f"{day}-fault_list.json"
            doc = json.loads(lst.read_text())
            first = sorted(doc)[0]
            replace(lst, json.dumps({first: doc[first][:keep_faults]}).encode())
    return dst


def replace(path: Path, data: bytes) -> None:
    path.unlink()
    path.write_bytes(data)


def one_line_error(excinfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text, text
    return text


@pytest.fixture(scope="module")
def one_day(tmp_path_factory):
    if not (SRC / "rca_data").is_dir():
        pytest.skip(f"Nezha dataset not found at {SRC} (set EVALKIT_DATASETS)")
    base = tmp_path_factory.mktemp("nezha")
    src = link_tree(SRC, base / "src")
    return src, import_suite("nezha", src, base / "tt")


# --- one real day -----------------------------------------------------------------------------------------

@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_one_day_imports_one_valid_scenario_per_fault(one_day):
    from evalkit.suite import validate_suite

    _, res = one_day
    assert validate_suite(res.path) == []
    want = Counter(CATEGORY[f["inject_type"]] for f in labels({DAY}))
    assert res.per_category == dict(sorted(want.items())) and res.scenarios == 17 and res.skipped == []


@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_importing_twice_gives_the_same_suite_hash(tmp_path):
    src = link_tree(SRC, tmp_path / "src", keep_faults=2)
    first = import_suite("nezha", src, tmp_path / "first")
    again = import_suite("nezha", src, tmp_path / "again")
    assert first.scenarios == 2 and again.hash == first.hash


@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_truth_is_the_injected_pods_service_with_the_pod_as_alias(one_day):
    from evalkit.suite import load_suite, load_truth

    suite = load_suite(one_day[1].path)
    pods = {f["inject_pod"] for f in labels({DAY})}
    for sc in suite.scenarios:
        truth = load_truth(suite, sc.id)
        (pod,) = truth.aliases
        assert pod in pods and pod.startswith(truth.component + "-")
        assert pod not in sc.path.read_text()          # the visible scenario file never names the pod


@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_window_surrounds_the_injection_read_from_the_time_string(one_day):
    from datetime import datetime, timezone

    from evalkit.suite import load_suite

    suite = load_suite(one_day[1].path)
    minutes = sorted(int(datetime.strptime(f["inject_time"][:16], "%Y-%m-%d %H:%M")
                         .replace(tzinfo=timezone.utc).timestamp()) for f in labels({DAY}))
    starts = sorted(sc.window[0] for sc in suite.scenarios)
    for sc, minute in zip(sorted(suite.scenarios, key=lambda s: s.window[0]), minutes):
        start, end = sc.window
        assert start <= minute < end and end - minute <= 600 and minute - start <= 1800
        assert start <= sc.alert["fired_at"] < end
        assert sc.id.endswith(datetime.fromtimestamp(minute, timezone.utc).strftime("%H%M"))
    assert len(starts) == len(minutes)


@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_worlds_carry_metrics_logs_traces_and_kpi_monitors(one_day):
    from evalkit.suite import load_suite, load_world

    suite = load_suite(one_day[1].path)
    sc = suite.scenarios[0]
    world = load_world(sc)
    assert {"cpu_pct", "memory_pct", "latency_p90_ms", "requests_per_s"} <= set(world.metrics["ts-order-service"])
    assert "latency_p50_ms" in world.metrics["ts-ui-dashboard"]          # the entry KPI (front_service)
    assert ("ts-ui-dashboard", "ts-gateway-service", "calls") in world.edges
    assert world.logs and {r["level"] for r in world.logs} <= {"DEBUG", "INFO", "WARN", "ERROR"}
    assert world.traces
    for t in world.traces:
        assert {sp["component"] for sp in t["spans"]} <= set(world.component_names())
        assert all(sp["parent"] is None or 0 <= sp["parent"] < len(t["spans"]) for sp in t["spans"])
    assert any(m["name"] == "ts-ui-dashboard-latency-p99-ms-slo" for m in world.monitors)
    assert (suite.path / "worlds" / sc.id / "logs.jsonl.gz").is_file()


@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_reference_agent_investigates_imported_worlds_unchanged(one_day):
    from evalkit.agents.reference import ReferenceAgent
    from evalkit.suite import load_suite, load_world
    from evalkit.world.toolbox import Toolbox

    suite = load_suite(one_day[1].path)
    for sc in suite.scenarios[:2]:
        world = load_world(sc)
        tb = Toolbox(world, sc.max_tool_calls)
        finding = ReferenceAgent("v1").investigate(world.alert, tb, seed=3)
        assert finding.hypotheses and all(h.component in world.component_names() for h in finding.hypotheses)
        assert tb.list_events() == []          # the dataset has no change events: empty, well-formed


# --- the shipped suite --------------------------------------------------------------------------------

@needs_data
def test_shipped_suite_counts_match_the_fault_lists():
    from evalkit.suite import load_suite

    if not SHIPPED.is_dir():
        pytest.skip("suites/real-nezha is not shipped in this checkout")
    suite = load_suite(SHIPPED)
    want = Counter(CATEGORY[f["inject_type"]] for f in labels())
    assert sum(want.values()) == 101
    assert Counter(sc.category for sc in suite.scenarios) == want
    systems = Counter(next(t for t in sc.tags if t.startswith("system:")) for sc in suite.scenarios)
    assert systems == {"system:online-boutique": 56, "system:train-ticket": 45}


@needs_data
def test_corrupt_timestamp_column_does_not_lose_a_service():
    """adservice's TimeStamp column on 2022-08-22 is off by years; times come from the Time string."""
    from evalkit.suite import load_suite, load_world

    if not SHIPPED.is_dir():
        pytest.skip("suites/real-nezha is not shipped in this checkout")
    suite = load_suite(SHIPPED)
    sc = next(s for s in suite.scenarios if s.id.startswith("ob-20220822-"))
    cpu = load_world(sc).metrics["adservice"]["cpu_pct"]
    assert (cpu == cpu).mean() > 0.9


@pytest.mark.slow
@needs_data
def test_shipped_suite_is_exactly_a_fresh_import(tmp_path):
    from evalkit.suite import suite_hash, validate_suite

    if not SHIPPED.is_dir():
        pytest.skip("suites/real-nezha is not shipped in this checkout")
    res = import_suite("nezha", SRC, tmp_path / "real-nezha")
    assert res.hash == suite_hash(SHIPPED) and res.scenarios == 101
    assert validate_suite(SHIPPED) == []


# --- error paths ----------------------------------------------------------------------------------------

def test_wrong_folder_is_a_one_line_error(tmp_path):
    with pytest.raises(UserError) as e:
        import_suite("nezha", tmp_path, tmp_path / "out")
    assert "not a Nezha dataset folder" in one_line_error(e)


@needs_data
def test_corrupt_fault_list_names_the_file(tmp_path):
    src = link_tree(SRC, tmp_path / "src")
    bad = src / "rca_data" / DAY / f"{DAY}-fault_list.json"
    replace(bad, b'{"11": [{"inject_time": "2023-01-30 11:51:00", "inject_pod": ')
    with pytest.raises(UserError) as e:
        import_suite("nezha", src, tmp_path / "out")
    assert str(bad) in one_line_error(e) and "malformed JSON" in str(e.value)
    replace(bad, json.dumps({"11": [{"inject_time": "2023-01-30 11:51:00", "inject_pod": "x-1-2",
                                     "inject_type": "meteor_strike"}]}).encode())
    with pytest.raises(UserError) as e:
        import_suite("nezha", src, tmp_path / "out")
    assert "inject_type" in one_line_error(e) and "meteor_strike" in str(e.value)
    assert not (tmp_path / "out").exists()


@needs_data
def test_corrupt_metric_csv_names_the_file(tmp_path):
    src = link_tree(SRC, tmp_path / "src")
    bad = next((src / "rca_data" / DAY / "metric").glob("ts-auth-service-*_metric.csv.gz"))
    lines = gzip.decompress(bad.read_bytes()).decode().splitlines()
    lines[3] = "not a time" + lines[3][lines[3].index(","):]
    replace(bad, gzip.compress(("\n".join(lines) + "\n").encode()))
    with pytest.raises(UserError) as e:
        import_suite("nezha", src, tmp_path / "out")
    assert str(bad) in one_line_error(e) and "Time (row 4)" in str(e.value)
    replace(bad, b"\x1f\x8b garbage that is not gzip")
    with pytest.raises(UserError) as e:
        import_suite("nezha", src, tmp_path / "out")
    assert str(bad) in one_line_error(e) and "unreadable CSV" in str(e.value)


@needs_data
def test_missing_licence_is_an_error(tmp_path):
    src = link_tree(SRC, tmp_path / "src")
    (src / "LICENSE").unlink()
    with pytest.raises(UserError) as e:
        import_suite("nezha", src, tmp_path / "out")
    assert "LICENSE" in one_line_error(e) and "MIT" in str(e.value)


@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_corrupt_gzipped_logs_in_a_suite_are_a_validation_problem(one_day, tmp_path):
    import shutil

    from evalkit.suite import validate_suite

    suite = shutil.copytree(one_day[1].path, tmp_path / "copy")
    world = next((suite / "worlds").iterdir())
    (world / "logs.jsonl.gz").write_bytes(b"\x1f\x8b\x08 truncated")
    problems = validate_suite(suite)
    assert len(problems) == 1 and "logs.jsonl.gz" in problems[0].where and "unreadable" in str(problems[0])
