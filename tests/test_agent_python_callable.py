"""The pkg.module:factory adapter: what a spec may name, build ids, limits and timeouts in-process (its
failure classes: test_agent_failure_classes.py)."""

from __future__ import annotations

import pickle
import sys

import pytest
from fakes.worlds import slow_query_world

from evalkit.agents import load_agent
from evalkit.agents.base import (AgentCrash, AgentTimeout, Finding)
from evalkit.agents.python_callable import PythonCallableAgent
from evalkit.errors import UserError
from evalkit.world.toolbox import Toolbox

MOD = "fakes.py_agents"


@pytest.fixture
def world():
    return slow_query_world()


def test_plain_function_returning_a_dict_becomes_an_agent_with_a_derived_build_id(world):
    agent = load_agent(f"{MOD}:investigate")
    assert isinstance(agent, PythonCallableAgent)
    tb = Toolbox(world)
    finding = agent.investigate(world.alert, tb, 0)
    assert isinstance(finding, Finding) and finding.hypotheses[0].component == "checkout"
    assert [c.tool for c in tb.trajectory] == ["get_topology"]
    build = agent.build
    assert build.name == f"{MOD}:investigate" and build.version == "9.9"
    assert len(build.config["module_sha256"]) == 64
    assert str(load_agent(f"{MOD}:investigate").build) == str(build)


def test_class_factory_and_instance_forms_use_the_agents_own_build_and_options(world):
    by_class = load_agent(f"{MOD}:CountingAgent?depth=2")
    by_factory = load_agent(f"{MOD}:make_agent", depth=2)
    instance = load_agent(f"{MOD}:AGENT")
    assert str(by_class.build) == str(by_factory.build) == str(instance.build)
    assert by_class.build.config == {"depth": 2}
    assert str(load_agent(f"{MOD}:CountingAgent").build) != str(by_class.build)
    assert by_class.investigate(world.alert, Toolbox(world), 0).hypotheses[0].component in {"orders-db", "payments"}
    assert by_class.deterministic is True


def test_keyword_options_override_spec_query_options():
    assert load_agent(f"{MOD}:CountingAgent?depth=2", depth=3).build.config == {"depth": 3}


def test_timeout_in_the_spec_query_is_applied():
    assert load_agent(f"{MOD}:investigate?timeout_s=5").timeout_s == 5.0
    assert load_agent(f"{MOD}:investigate", timeout_s=None).timeout_s is None


def test_a_crash_carries_the_traceback(world):
    with pytest.raises(AgentCrash, match="ZeroDivisionError: agent bug") as info:
        load_agent(f"{MOD}:crash").investigate(world.alert, Toolbox(world), 0)
    assert "py_agents.py" in info.value.stderr and "raise ZeroDivisionError" in info.value.stderr


def test_a_result_returned_after_the_timeout_is_a_timeout(world):
    agent = load_agent(f"{MOD}:slow", timeout_s=0.1)
    with pytest.raises(AgentTimeout, match="over the 0.1s timeout"):
        agent.investigate(world.alert, Toolbox(world), 0)
    assert load_agent(f"{MOD}:slow", timeout_s=10).investigate(world.alert, Toolbox(world), 0).hypotheses


def test_python_agent_pickles_as_its_spec(world):
    agent = load_agent(f"{MOD}:CountingAgent?depth=2", timeout_s=7)
    clone = pickle.loads(pickle.dumps(agent))
    assert str(clone.build) == str(agent.build) and clone.timeout_s == 7
    assert clone.investigate(world.alert, Toolbox(world), 1).to_dict() == \
        agent.investigate(world.alert, Toolbox(world), 1).to_dict()


def test_a_module_in_the_current_directory_is_importable(world, tmp_path, monkeypatch):
    (tmp_path / "evalkit_cwd_agent_mod.py").write_text(
        "def investigate(alert, toolbox, seed):\n"
        "    return {'hypotheses': [{'component': alert['component']}], 'summary': 'self'}\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "evalkit_cwd_agent_mod", raising=False)
    agent = load_agent("evalkit_cwd_agent_mod:investigate")
    assert agent.investigate(world.alert, Toolbox(world), 0).hypotheses[0].component == "api-gateway"


@pytest.mark.parametrize("spec, options, fix", [
    ("no_such_pkg_xyz.agent:make", {}, "cannot import module 'no_such_pkg_xyz.agent'"),
    ("fakes.broken_module:make", {}, "RuntimeError: broken at import time"),
    (f"{MOD}:missing_attr", {}, "has no attribute 'missing_attr'"),
    (f"{MOD}:NOT_CALLABLE", {}, "is a int, not an agent"),
    (f"{MOD}:factory_returning_junk", {}, "returned int, which has no investigate"),
    (f"{MOD}:factory_that_raises", {}, "RuntimeError: no model weights here"),
    (f"{MOD}:make_agent", {"colour": "red"}, "unexpected keyword argument 'colour'"),
    (f"{MOD}:investigate", {"depth": 2}, "takes no options"),
    (f"{MOD}:AGENT?depth=2", {}, "takes no options"),
])
def test_bad_python_specs_are_one_line_user_errors(spec, options, fix):
    with pytest.raises(UserError) as info:
        load_agent(spec, **options)
    assert fix in str(info.value) and "\n" not in str(info.value)
