"""A run's trajectories wait on disk, not in memory, and read back as the sequence they always were."""

from __future__ import annotations

import math
import pickle

import pytest

from evalkit.run.spool import Trajectories, TrajectorySpool


def _traj(i: int) -> dict:
    return {"scenario_id": f"s{i:03d}", "trial": i % 3, "finding": {"component": "db", "confidence": 0.5},
            "calls": [{"tool": "query_metric", "args": {"component": "db", "metric": "cpu"}, "refs": ["metric:db:cpu"],
                       "duration_s": 0.001 * i, "error": None}] * (i % 4), "stderr": ""}


def test_a_view_reads_back_every_spooled_trajectory_in_the_order_asked():
    spool = TrajectorySpool()
    for i in range(20):
        spool.put(f"k{i}", _traj(i))
    order = [f"k{i}" for i in reversed(range(20))]
    view = spool.view(order)
    assert isinstance(view, Trajectories) and len(view) == 20
    assert list(view) == [_traj(i) for i in reversed(range(20))]
    assert view[0] == _traj(19) and view[-1] == _traj(0)
    assert view[2:4] == [_traj(17), _traj(16)]


def test_a_view_compares_and_concatenates_like_the_list_it_stands_for():
    spool = TrajectorySpool()
    for i in range(3):
        spool.put(str(i), _traj(i))
    view = spool.view(["0", "1", "2"])
    expected = [_traj(0), _traj(1), _traj(2)]
    assert view == expected and expected == view and view != expected[:2]
    assert view + [_traj(9)] == expected + [_traj(9)] and [_traj(9)] + view == [_traj(9)] + expected
    assert pickle.loads(pickle.dumps(view)) == expected and type(pickle.loads(pickle.dumps(view))) is list


def test_every_read_is_a_fresh_copy_so_a_reader_cannot_change_the_run():
    spool = TrajectorySpool()
    spool.put("k", _traj(5))
    view = spool.view(["k"])
    view[0]["finding"]["component"] = "changed"
    assert view[0]["finding"]["component"] == "db"


def test_json_values_survive_including_nan_and_later_puts_replace_earlier_ones():
    spool = TrajectorySpool()
    spool.put("k", {"x": float("nan"), "y": "é\n\"", "z": [1, 2.5, None, True]})
    first = spool.view(["k"])[0]
    assert math.isnan(first["x"]) and first["y"] == "é\n\"" and first["z"] == [1, 2.5, None, True]
    spool.put("k", {"x": 1})
    assert spool.view(["k"])[0] == {"x": 1} and len(spool) == 1


def test_a_key_never_spooled_is_refused_when_the_view_is_made():
    spool = TrajectorySpool()
    spool.put("a", _traj(1))
    with pytest.raises(KeyError, match="'b'"):
        spool.view(["a", "b"])


def test_a_spool_nobody_reads_any_more_closes_its_file_without_a_resource_warning():
    import gc
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spool = TrajectorySpool()
        spool.put("k", {"calls": []})
        view = spool.view(["k"])
        del spool  # the view still reads it
        assert list(view) == [{"calls": []}]
        del view
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]
