"""The notebook API's conveniences on a loaded run: a run's aggregates and the components a trajectory looked at."""

from evalkit.notebook import RunData, Trajectory
from evalkit.score.aggregate import aggregate
from test_score_aggregate import make_table


def test_a_loaded_runs_aggregate_is_the_scorers_aggregate_of_its_table():
    table = make_table([("db", "a1", [1, 0]), ("db", "a2", [1, 1]), ("net", "b1", [0, None])])
    run = RunData("r1", info=None, table=table, trajectories=[], meta={})
    assert run.aggregate().equals(aggregate(table))


def test_a_trajectorys_components_are_listed_once_in_order_of_first_look():
    calls = [{"tool": "get_alert", "args": {}, "refs": []},
             {"tool": "query_metric", "args": {"component": "api", "metric": "latency"}, "refs": []},
             {"tool": "search_logs", "args": {}, "refs": ["logs:orders-db"]},
             {"tool": "list_monitors", "args": {}, "refs": ["monitor:api-latency"]},
             {"tool": "query_metric", "args": {"component": "api", "metric": "errors"}, "refs": []}]
    trajectory = Trajectory("r1", "b", "s1", 0, calls, finding={})
    assert trajectory.components() == ["api", "orders-db"]
