"""`evalkit suite import petshop`: the PetShop RCA dataset becomes a valid, deterministic suite.

Real-data tests read the shared copy (``<repo>/../shared/datasets/petshop`` or ``$EVALKIT_DATASETS``)
and skip with a reason when it is absent; error-path tests use a two-issue copy of it.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from evalkit.errors import UserError
from evalkit.suite.importers import default_source, import_suite

REPO = Path(__file__).resolve().parents[1]
SHIPPED = REPO / "suites" / "real-petshop"
SRC = default_source("petshop")
needs_data = pytest.mark.skipif(not (SRC / "dataset").is_dir(),
                                reason=f"PetShop dataset not found at {SRC} (set EVALKIT_DATASETS)")

#: command family of target.json -> category (written out independently of the importer's rules)
FAMILY = [("issue_dynamo_db_requests", "capacity/request-overload"), ("sleep(", "code-defect/slow-code"),
          ("inject = ", "code-defect/failing-code"), ("delaymode", "latency/delay-injection"),
          ("searchdelay", "latency/delay-injection"), ("errormode", "errors/error-injection"),
          ("errorpercent", "errors/error-injection")]


def labelled_issues() -> list[tuple[Path, dict]]:
    return [(p.parent, json.loads(p.read_text())) for p in sorted((SRC / "dataset").glob("*/*/issue_*/target.json"))]


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    if not (SRC / "dataset").is_dir():
        pytest.skip(f"PetShop dataset not found at {SRC} (set EVALKIT_DATASETS)")
    return import_suite("petshop", SRC, tmp_path_factory.mktemp("petshop") / "real-petshop")


def mini_source(dst: Path, issues=(("train", "issue_0"), ("test", "issue_0"))) -> Path:
    """A copy of the dataset with one traffic scenario (low_traffic) and a few of its issues."""
    data = SRC / "dataset" / "low_traffic"
    (dst / "dataset" / "low_traffic" / "noissue").mkdir(parents=True)
    for f in ("LICENSE", "NOTICE"):
        shutil.copyfile(SRC / f, dst / f)
    shutil.copyfile(data / "graph.csv", dst / "dataset" / "low_traffic" / "graph.csv")
    shutil.copyfile(data / "noissue" / "metrics.csv", dst / "dataset" / "low_traffic" / "noissue" / "metrics.csv")
    for split, issue in issues:
        shutil.copytree(data / split / issue, dst / "dataset" / "low_traffic" / split / issue,
                        copy_function=shutil.copyfile)
    return dst


def one_line_error(excinfo) -> str:
    text = str(excinfo.value)
    assert "\n" not in text, text
    return text


# --- the real dataset -----------------------------------------------------------------------------------

@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_import_validates_with_one_scenario_per_labelled_issue(imported):
    from evalkit.suite import validate_suite

    assert validate_suite(imported.path) == []
    expected = Counter(next(cat for key, cat in FAMILY if key in doc["metadata"]["reproducibility"]["command"])
                       for _, doc in labelled_issues())
    assert sum(expected.values()) == 68
    assert imported.per_category == dict(sorted(expected.items()))
    assert imported.skipped == []


@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_shipped_suite_is_exactly_a_fresh_import(imported):
    from evalkit.suite import suite_hash

    if not SHIPPED.is_dir():
        pytest.skip("suites/real-petshop is not shipped in this checkout")
    assert suite_hash(SHIPPED) == imported.hash


@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_truth_is_the_service_with_its_xray_nodes_as_aliases(imported):
    from evalkit.suite import load_suite, load_truth

    suite = load_suite(imported.path)
    for folder, doc in labelled_issues():
        sid = f"{folder.parent.parent.name}-{folder.parent.name}-{folder.name}"
        truth = load_truth(suite, sid)
        assert doc["root_cause"]["node"] in truth.aliases
        assert ":" not in truth.component and truth.accepts(doc["root_cause"]["node"])
    lam = load_truth(suite, "high_traffic-test-issue_0")
    assert lam.component == "lambdastatusupdater" and lam.fault_type == "code_delay"


@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_metrics_are_the_raw_values_in_evalkit_units(imported):
    from evalkit.suite import load_suite, load_world

    raw = pd.read_csv(SRC / "dataset/low_traffic/test/issue_0/metrics.csv", header=[0, 1, 2], index_col=0)
    suite = load_suite(imported.path)
    world = load_world(next(s for s in suite.scenarios if s.id == "low_traffic-test-issue_0"))
    i = list(world.timestamps).index(int(raw.index[3]))
    site = world.metrics["petsite"]
    assert site["latency_avg_ms"][i] == pytest.approx(1000 * raw[("PetSite", "latency", "Average")].iloc[3], rel=1e-5)
    assert site["latency_p99_ms"][i] == pytest.approx(1000 * raw[("PetSite", "latency", "p99")].iloc[3], rel=1e-5)
    assert site["requests_per_s"][i] == pytest.approx(raw[("PetSite", "requests", "Sum")].iloc[3] / 300, rel=1e-5)
    assert site["error_rate_pct"][i] == pytest.approx(100 - raw[("PetSite", "availability", "Average")].iloc[3],
                                                      abs=1e-6)
    # a Lambda's invocation node is folded into its service under a prefixed name
    assert "invocation_latency_avg_ms" in world.metrics["lambdastatusupdater"]


@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_worlds_start_with_an_hour_of_normal_operation_where_the_dataset_has_one(imported):
    from evalkit.suite import load_suite

    suite = load_suite(imported.path)
    by_id = {s.id: s for s in suite.scenarios}
    low = by_id["low_traffic-test-issue_0"]
    raw = pd.read_csv(SRC / "dataset/low_traffic/test/issue_0/metrics.csv", header=[0, 1, 2], index_col=0)
    assert low.window == (int(raw.index[0]) - 12 * 300, int(raw.index[-1]) + 300)
    assert "history:normal-recording" in low.tags
    temporal = by_id["temporal_traffic1-test-issue_0"]
    assert temporal.window[1] - temporal.window[0] == 5 * 300 and "history:none" in temporal.tags


@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_alert_is_the_datasets_target_kpi(imported):
    from evalkit.suite import load_suite

    suite = load_suite(imported.path)
    for folder, doc in labelled_issues():
        sc = next(s for s in suite.scenarios if s.id == f"{folder.parent.parent.name}-{folder.parent.name}-{folder.name}")
        assert sc.alert["component"] == "petsite"
        assert sc.alert["fired_at"] == doc["target"]["timestamp"]
        assert sc.alert["metric"] == {"latency": "latency_avg_ms", "availability": "error_rate_pct"}[
            doc["target"]["metric"]]


@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_reference_agent_investigates_imported_worlds_unchanged(imported):
    from evalkit.agents.reference import ReferenceAgent
    from evalkit.suite import load_suite, load_world
    from evalkit.world.toolbox import Toolbox

    suite = load_suite(imported.path)
    for sc in suite.scenarios[:3]:
        world = load_world(sc)
        tb = Toolbox(world, sc.max_tool_calls)
        finding = ReferenceAgent("v1").investigate(world.alert, tb, seed=1)
        names = set(world.component_names())
        assert finding.hypotheses and all(h.component in names for h in finding.hypotheses)
        # signals the dataset does not have come back empty and well-formed
        assert tb.list_events() == []
        assert tb.search_logs() == {"total": 0, "records": []}
        assert tb.get_traces() == {"total": 0, "traces": []}


# --- determinism and error paths (a two-issue copy) -----------------------------------------------------

@needs_data
@pytest.mark.slow  # imports the real dataset (tens of seconds); error paths stay fast
def test_importing_twice_gives_the_same_suite_hash(tmp_path):
    src = mini_source(tmp_path / "src")
    a = import_suite("petshop", src, tmp_path / "a")
    b = import_suite("petshop", src, tmp_path / "b")
    assert a.hash == b.hash and a.scenarios == 2
    assert (tmp_path / "a" / "LICENSE").read_bytes() == (SRC / "LICENSE").read_bytes()
    assert "CC-BY-4.0" in (tmp_path / "a" / "ATTRIBUTION.md").read_text()


def test_wrong_folder_is_a_one_line_error(tmp_path):
    (tmp_path / "not-a-dataset").mkdir()
    with pytest.raises(UserError) as e:
        import_suite("petshop", tmp_path / "not-a-dataset", tmp_path / "out")
    assert "not a PetShop dataset folder" in one_line_error(e)
    with pytest.raises(UserError) as e:
        import_suite("petshop", tmp_path / "missing", tmp_path / "out")
    assert "no such folder" in one_line_error(e)
    assert not (tmp_path / "out").exists()


@needs_data
def test_corrupt_metrics_csv_names_the_file(tmp_path):
    src = mini_source(tmp_path / "src")
    bad = src / "dataset/low_traffic/test/issue_0/metrics.csv"
    lines = bad.read_text().splitlines()
    lines[5] = lines[5].replace(",", ",oops", 1).replace("1681", "x1681", 1)
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(UserError) as e:
        import_suite("petshop", src, tmp_path / "out")
    msg = one_line_error(e)
    assert str(bad) in msg and "restore it from the upstream dataset" in msg
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))


@needs_data
def test_corrupt_target_json_names_the_file_and_the_field(tmp_path):
    src = mini_source(tmp_path / "src")
    bad = src / "dataset/low_traffic/train/issue_0/target.json"
    bad.write_text('{"target": {"node": "PetSite", "metric": "latency"')
    with pytest.raises(UserError) as e:
        import_suite("petshop", src, tmp_path / "out")
    assert str(bad) in one_line_error(e) and "malformed JSON" in str(e.value)
    bad.write_text(json.dumps({"target": {"node": "PetSite"}, "root_cause": {}}))
    with pytest.raises(UserError) as e:
        import_suite("petshop", src, tmp_path / "out")
    assert str(bad) in one_line_error(e) and "root_cause.node" in str(e.value)


@needs_data
def test_corrupt_graph_and_missing_licence_are_errors(tmp_path):
    src = mini_source(tmp_path / "src")
    graph = src / "dataset/low_traffic/graph.csv"
    graph.write_text(graph.read_text().replace("0.0", "zero", 1))
    with pytest.raises(UserError) as e:
        import_suite("petshop", src, tmp_path / "out")
    assert str(graph) in one_line_error(e)
    src2 = mini_source(tmp_path / "src2")
    (src2 / "LICENSE").unlink()
    with pytest.raises(UserError) as e:
        import_suite("petshop", src2, tmp_path / "out")
    assert "LICENSE" in one_line_error(e) and "CC-BY-4.0" in str(e.value)


@needs_data
def test_an_issue_with_missing_files_is_skipped_with_its_reason(tmp_path):
    src = mini_source(tmp_path / "src")
    (src / "dataset/low_traffic/test/issue_0/metrics.csv").unlink()
    res = import_suite("petshop", src, tmp_path / "out")
    assert res.scenarios == 1
    assert ("low_traffic/test/issue_0", "missing metrics.csv") in res.skipped
    assert ("high_traffic", "traffic scenario folder missing") in res.skipped


@needs_data
def test_existing_output_is_kept_unless_forced(tmp_path):
    src = mini_source(tmp_path / "src", issues=(("train", "issue_0"),))
    out = tmp_path / "out"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    with pytest.raises(UserError) as e:
        import_suite("petshop", src, out)
    assert "--force" in one_line_error(e) and (out / "precious.txt").exists()
    import_suite("petshop", src, out, force=True)
    assert not (out / "precious.txt").exists() and (out / "suite.toml").is_file()


def test_cli_reports_a_bad_source_in_one_line_with_exit_code_2(tmp_path):
    from suite_helpers import run_cli

    code, out, err = run_cli(["suite", "import", "petshop", str(tmp_path), "--output-dir", str(tmp_path / "s")])
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 1 and "not a PetShop dataset folder" in err


@needs_data
def test_cli_imports_and_lists_categories(tmp_path):
    from suite_helpers import run_cli

    src = mini_source(tmp_path / "src")
    code, out, err = run_cli(["suite", "import", "petshop", str(src), "--output-dir", str(tmp_path / "s")])
    assert code == 0, err
    assert "imported 2 scenarios" in out and "capacity/request-overload" in out
