"""The anomaly-traversal baseline: the deepest anomaly in the alert's metric on an anomalous path wins."""

from __future__ import annotations

from test_reference_agent import make_world

from evalkit.agents import load_agent
from evalkit.agents.baselines import AnomalyTraversal
from evalkit.world.toolbox import Toolbox

SPEC = "evalkit.agents.baselines:AnomalyTraversal"


def names(world, **options) -> list[str]:
    finding = AnomalyTraversal(**options).investigate(world.alert, Toolbox(world, max_calls=60), 0)
    return [h.component for h in finding.hypotheses]


def test_blames_the_deepest_anomalous_dependency_not_its_anomalous_callers():
    world = make_world(cause="cache", metric="latency_p99", factor=10.0, alert_on="gateway")
    assert names(world)[0] == "cache"            # gateway and orders are slow only because cache is


def test_ignores_anomalies_the_alerting_component_does_not_depend_on():
    world = make_world(cause="orders", metric="latency_p99", factor=4.0, alert_on="orders",
                       extra=(("payments", "latency_p99", 6.0, 80),))
    assert names(world) == ["orders"]


def test_a_target_that_is_not_anomalous_gives_an_empty_finding():
    world = make_world(cause="payments-db", metric="db_query_time_p99", factor=3.0, alert_on="orders",
                       propagate=0.0)
    assert names(world) == []


def test_loads_by_spec_with_options_and_is_deterministic():
    agent = load_agent(f"{SPEC}?threshold=8")
    assert agent.build.config["threshold"] == 8.0 and agent.deterministic
    world = make_world(cause="orders", metric="latency_p99", factor=4.0, alert_on="gateway")
    runs = [agent.investigate(world.alert, Toolbox(world, max_calls=60), seed) for seed in (0, 1)]
    assert runs[0].to_dict() == runs[1].to_dict()
    assert runs[0].hypotheses[0].evidence == ["metric:orders:latency_p99"]
