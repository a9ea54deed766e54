"""The Toolbox: the agent's only view of a World. JSON in/out, a schema per tool, trajectory and refs,
budget, argument errors, and no path from it to the ground truth."""

from __future__ import annotations

import gc
import json
import types
from pathlib import Path

import numpy as np
import pytest

from suite_helpers import SMOKE


@pytest.fixture(scope="module")
def scenario_world():
    from evalkit.suite import load_suite, load_world

    s = load_suite(SMOKE)
    sc = next(x for x in s.scenarios if x.category == "kubernetes/oom")
    return s, sc, load_world(sc)


@pytest.fixture
def tb(scenario_world):
    from evalkit.world import Toolbox

    return Toolbox(scenario_world[2], max_calls=30)


def test_every_tool_has_a_json_schema_with_description(tb):
    from evalkit.world.toolbox import TOOL_SCHEMAS

    assert set(TOOL_SCHEMAS) == {"get_alert", "list_components", "get_topology", "list_metrics", "query_metric",
                                 "search_logs", "get_traces", "list_events", "list_monitors"}
    for name, spec in TOOL_SCHEMAS.items():
        assert spec["description"] and spec["parameters"]["type"] == "object"
        assert set(spec["parameters"]["required"]) <= set(spec["parameters"]["properties"])
        json.dumps(spec)


def test_every_tool_returns_plain_json(tb, scenario_world):
    w = scenario_world[2]
    comp = w.alert["component"]
    calls = [("get_alert", {}), ("list_components", {}), ("get_topology", {"component": comp, "depth": 2}),
             ("list_metrics", {"component": comp}), ("query_metric", {"component": comp, "metric": "latency_p99_ms"}),
             ("search_logs", {"component": comp, "level": "ERROR"}), ("get_traces", {"errors_only": True}),
             ("list_events", {}), ("list_monitors", {"state": "ALERT"})]
    for tool, args in calls:
        result = tb.call(tool, args)
        assert json.loads(json.dumps(result)) == result, tool
    assert [c.tool for c in tb.trajectory] == [t for t, _ in calls]
    assert all(c.result_size > 0 and c.error is None for c in tb.trajectory)


def test_alert_through_the_toolbox_is_the_scenarios_alert(tb, scenario_world):
    assert tb.get_alert() == scenario_world[1].alert


def test_calls_record_the_refs_evidence_scoring_matches(tb, scenario_world):
    w = scenario_world[2]
    pod = next(c["name"] for c in w.components if c["kind"] == "pod")
    tb.query_metric(pod, "restarts")
    tb.search_logs(component=pod)
    tb.list_events(component=pod)
    tb.get_traces(component=w.alert["component"])
    tb.get_topology(pod)
    refs = [r for c in tb.trajectory for r in c.refs]
    assert refs == [f"metric:{pod}:restarts", f"logs:{pod}", f"events:{pod}",
                    f"traces:{w.alert['component']}", f"topology:{pod}"]


def test_query_metric_respects_the_time_range_and_reports_missing_as_null(tb, scenario_world):
    w = scenario_world[2]
    comp = w.alert["component"]
    r = tb.query_metric(comp, "error_rate_pct", start=w.start + 600, end=w.start + 1200)
    assert r["timestamps"] == list(range(w.start + 600, w.start + 1200, 60)) and len(r["values"]) == 10
    assert r["unit"] == "%"


def test_search_logs_filters_by_component_level_and_substring(tb, scenario_world):
    w = scenario_world[2]
    comp = w.alert["component"]
    r = tb.search_logs(component=comp, level="ERROR", query="FAILED", limit=5)
    assert len(r["records"]) <= 5 and r["total"] >= len(r["records"])
    assert all(x["component"] == comp and x["level"] == "ERROR" and "failed" in x["message"].lower()
               for x in r["records"])


def test_results_are_copies_the_agent_cannot_use_to_change_the_world(tb, scenario_world):
    w = scenario_world[2]
    events = tb.list_events()
    events[0]["summary"] = "tampered"
    logs = tb.search_logs(limit=3)
    logs["records"][0]["message"] = "tampered"
    assert all(e["summary"] != "tampered" for e in w.events)
    assert all(r["message"] != "tampered" for r in w.logs)


@pytest.mark.parametrize("tool,args,message", [
    ("query_metric", {"component": "nope", "metric": "cpu_pct"}, "unknown component"),
    ("query_metric", {"component": "coredns", "metric": "nope"}, "has no metric"),
    ("query_metric", {"component": "coredns"}, "missing required argument"),
    ("search_logs", {"level": "FATAL"}, "level must be one of"),
    ("search_logs", {"limit": 0}, "limit must be an integer"),
    ("search_logs", {"start": 10, "end": 5}, "must be after start"),
    ("get_topology", {"component": "coredns", "depth": 9}, "depth must be"),
    ("list_events", {"color": "red"}, "unknown argument"),
])
def test_bad_arguments_raise_tool_error_and_are_recorded(tb, tool, args, message):
    from evalkit.world import ToolError

    with pytest.raises(ToolError, match=message):
        tb.call(tool, args)
    assert tb.trajectory[-1].error and message.split()[0] in tb.trajectory[-1].error


def test_unknown_tool_is_its_own_error(tb):
    from evalkit.world import UnknownTool

    with pytest.raises(UnknownTool):
        tb.call("read_truth_file", {})


def test_budget_is_enforced(scenario_world):
    from evalkit.world import Toolbox, ToolBudgetExceeded

    tb = Toolbox(scenario_world[2], max_calls=3)
    for _ in range(3):
        tb.get_alert()
    assert tb.calls_left == 0
    with pytest.raises(ToolBudgetExceeded):
        tb.get_alert()
    assert len(tb.trajectory) == 3


# --- the ground truth is unreachable ------------------------------------------------------------
def _reachable(root: object) -> list[object]:
    """Every object reachable from ``root`` through instance data (vars, containers, gc referents),
    without wandering into classes, modules or functions (shared code, not data the agent holds)."""
    skip = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType, types.MethodType,
            types.CodeType)
    seen: set[int] = set()
    out: list[object] = []
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, skip):
            continue
        seen.add(id(obj))
        out.append(obj)
        if isinstance(obj, np.ndarray):
            continue
        if hasattr(obj, "__dict__"):
            stack.extend(vars(obj).values())
        if hasattr(obj, "__slots__"):
            stack.extend(getattr(obj, s) for s in obj.__slots__ if hasattr(obj, s))
        stack.extend(gc.get_referents(obj))
    return out


def test_no_attribute_or_path_leads_from_a_toolbox_to_the_ground_truth():
    from evalkit.suite import load_suite, load_truth, load_world
    from evalkit.suite.generator.plan import Plan
    from evalkit.suite.model import GroundTruth, Scenario, Suite
    from evalkit.world import Toolbox

    suite = load_suite(SMOKE)
    for sc in suite.scenarios[::4]:
        tb = Toolbox(load_world(sc))
        tb.get_alert()
        tb.list_components()
        truth = load_truth(suite, sc.id)
        objs = _reachable(tb)
        assert len(objs) > 1000  # the walk really covers the world's data
        assert not [o for o in objs if isinstance(o, (GroundTruth, Scenario, Suite, Plan, Path))]
        strings = [o for o in objs if isinstance(o, str)]
        suite_dir = str(suite.path.resolve())
        assert not [s for s in strings if "truth" in s.lower() and ("/" in s or ".json" in s)]
        assert not [s for s in strings if suite_dir in s or str(suite.path) in s]
        assert truth.fault_type not in strings


def test_list_components_shows_attributes_an_investigator_needs(tb, scenario_world):
    comps = {c["name"]: c for c in tb.list_components()}
    w = scenario_world[2]
    ext = next(c for c in w.components if c["kind"] == "external")
    pod = next(c for c in w.components if c["kind"] == "pod")
    assert comps[ext["name"]]["host"] == ext["host"]
    assert comps[pod["name"]]["node"] == pod["node"] and comps[pod["name"]]["service"] == pod["service"]
    assert all(c["kind"] == "k8s-node" for c in tb.list_components(kind="k8s-node"))


# --- answers shared by the trials of one scenario ----------------------------------------------------------
def _calls(tb):
    return [(c.tool, c.args, c.result_size, c.refs, c.error) for c in tb.trajectory]


def _investigate(tb, comp):
    out = [tb.get_alert(), tb.list_metrics(comp), tb.search_logs(component=comp, limit=5),
           tb.get_traces(errors_only=True, limit=3), tb.list_events()]
    metric = out[1][0]["metric"]
    out.append(tb.query_metric(comp, metric))
    with pytest.raises(Exception):
        tb.query_metric(comp, "no-such-metric")
    return out


def test_a_second_trial_on_shared_answers_sees_and_records_exactly_what_the_first_did(scenario_world, monkeypatch):
    from evalkit.world import Toolbox
    from evalkit.world.toolbox import Answers

    world = scenario_world[2]
    comp = world.alert["component"]
    answers = Answers()
    first = Toolbox(world, max_calls=30, answers=answers)
    got_first = _investigate(first, comp)
    computed = []
    real = Toolbox._t_search_logs
    monkeypatch.setattr(Toolbox, "_t_search_logs", lambda self, *a, **k: computed.append(1) or real(self, *a, **k))
    second = Toolbox(world, max_calls=30, answers=answers)
    assert _investigate(second, comp) == got_first
    assert _calls(second) == _calls(first)
    assert computed == []                        # the remembered answer was served, not recomputed
    assert _calls(Toolbox(world, max_calls=30)) == []   # and a toolbox without them starts from nothing
    alone = Toolbox(world, max_calls=30)
    assert _investigate(alone, comp) == got_first and _calls(alone) == _calls(first)


def test_a_remembered_answer_is_a_fresh_copy_each_time(scenario_world):
    from evalkit.world import Toolbox
    from evalkit.world.toolbox import Answers

    world, answers = scenario_world[2], Answers()
    a = Toolbox(world, answers=answers).list_components()
    a[0]["name"] = "mutated by the agent"
    a.clear()
    b = Toolbox(world, answers=answers).list_components()
    assert b and b[0]["name"] != "mutated by the agent"


def test_answers_stop_remembering_at_their_byte_bound_and_skip_args_json_would_conflate(scenario_world):
    from evalkit.world import Toolbox
    from evalkit.world.toolbox import Answers

    world = scenario_world[2]
    full = Answers(max_bytes=0)
    Toolbox(world, answers=full).list_components()
    assert full.get('list_components{}') is None
    comp, answers = world.alert["component"], Answers()
    args = [{"component": comp, "depth": 1}, {"component": comp, "depth": True}, {"component": comp, "depth": 1.0},
            {"component": comp, "depth": np.int64(1)}]
    shared, plain = Toolbox(world, answers=answers), Toolbox(world)
    for tb in (shared, plain):
        for a in args:
            try:
                tb.call("get_topology", a)
            except Exception:  # noqa: BLE001 - recorded in the trajectory, compared below
                pass
    assert _calls(shared) == _calls(plain)
    assert [c.error is None for c in plain.trajectory] == [True, True, False, False]


def _calls_everywhere(tb, world):
    """Every tool, on every component the answers could differ on (logs, traces, events, metrics)."""
    out = [tb.get_alert(), tb.list_components(), tb.list_monitors(), tb.list_events(), tb.get_traces(limit=200),
           tb.search_logs(limit=500), tb.search_logs(query="e-", limit=500), tb.search_logs(level="ERROR")]
    for comp in [c["name"] for c in world.components]:
        out += [tb.search_logs(component=comp), tb.get_traces(component=comp), tb.list_events(component=comp),
                tb.get_topology(comp, depth=2)]
        out += [tb.query_metric(comp, m["metric"]) for m in tb.list_metrics(comp)]
    return out


def test_answers_and_their_sizes_are_the_standard_librarys_json_of_what_the_tools_found(scenario_world,
                                                                                     monkeypatch):
    import copy

    import evalkit.world.toolbox as toolbox

    world = copy.deepcopy(scenario_world[2])
    world.logs[0]["message"] += " café \x7f"           # escaped by json, raw in orjson
    world.logs[1]["message"] += " rate 5e-06"           # an exponent inside a string
    world.logs[2]["extra"] = None                       # a null that is not a span's parent
    world.logs[3]["extra"] = float("nan")               # json writes NaN, orjson null
    world.traces[0]["spans"][0]["duration_ms"] = 1e-05  # json writes 1e-05, orjson 0.00001
    world.events.append({"ts": world.start, "kind": "deploy", "component": world.alert["component"],
                         "summary": "v2 \u2192 v3", "details": {"ratio": 2e-07, "owner": None}})
    answers = toolbox.Answers()
    fast, remembered = (toolbox.Toolbox(world, max_calls=10_000, answers=answers) for _ in range(2))
    got, again = _calls_everywhere(fast, world), _calls_everywhere(remembered, world)   # computed, then recalled
    monkeypatch.setattr(toolbox, "orjson_text", lambda value, allowed_null=None: None)
    standard = toolbox.Toolbox(world, max_calls=10_000)
    want = _calls_everywhere(standard, world)
    for tb, answered in ((fast, got), (remembered, again)):
        differ = [i for i, (a, b) in enumerate(zip(answered, want)) if json.dumps(a) != json.dumps(b)]  # NaN too
        assert len(answered) == len(want) and not differ, f"answers of calls {differ[:5]} differ"
        assert [c.result_size for c in tb.trajectory] == [c.result_size for c in standard.trajectory]


def _matching(world, start=None, end=None, component=None, level=None, query=None):
    """search_logs' definition: the records in the window that match every filter given, in the logs' order."""
    s, e = world.start if start is None else start, world.end if end is None else end
    return [r for r in world.logs if s <= r["ts"] < e and component in (None, r["component"])
            and level in (None, r["level"]) and (query is None or query.lower() in r["message"].lower())]


def test_search_logs_finds_the_records_its_definition_names_in_logs_in_or_out_of_time_order(scenario_world):
    import copy
    import random

    from evalkit.world import Toolbox

    world = scenario_world[2]
    shuffled = copy.deepcopy(world)
    random.Random(1).shuffle(shuffled.logs)
    comp, mid = world.alert["component"], (world.start + world.end) // 2
    for args in [{}, {"component": comp}, {"component": comp, "start": mid}, {"end": mid, "level": "ERROR"},
                 {"query": "Timeout", "start": world.start + 60, "end": mid}, {"component": "no-logs-here"}]:
        for w in (world, shuffled):
            if args.get("component") == "no-logs-here":
                w = copy.deepcopy(w)
                w.components.append({"name": "no-logs-here", "kind": "service"})
            want = _matching(w, **args)
            assert Toolbox(w).call("search_logs", {**args, "limit": 500}) == {"total": len(want),
                                                                             "records": want[-500:]}
