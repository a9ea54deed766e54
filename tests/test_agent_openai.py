"""The openai: adapter against a scripted OpenAI-compatible server on 127.0.0.1: the tool-calling loop,
recovery from tool errors, retries/backoff, budgets, usage and cost, and every failure class."""

from __future__ import annotations

import json
import pickle
import socket
import subprocess
import sys

import pytest
from fakes.chat_server import (Hang, Raw, Reply, ScriptedChatServer, Status, completion, investigator_policy,
                               submit, text, tool_calls)
from fakes.worlds import slow_query_world

from evalkit.agents import load_agent
from evalkit.agents.base import (AgentCrash, AgentTimeout, BudgetExceeded, EndpointUnreachable, Finding,
                                 MalformedOutput, RateLimited, UnknownComponent, UnknownToolCall, is_infrastructure)
from evalkit.agents.openai_chat import FAULT_TYPES, SUBMIT_SCHEMA
from evalkit.errors import UserError
from evalkit.world.toolbox import TOOL_SCHEMAS, Toolbox

GOOD = [{"component": "orders-db", "fault_type": "slow_query", "confidence": 0.8,
         "evidence": ["metric:orders-db:query_time_p99_ms"]}]


@pytest.fixture
def world():
    return slow_query_world()


def agent_for(srv: ScriptedChatServer, **options):
    options = {"base_url": srv.base_url, "backoff_s": 0.001, "max_backoff_s": 0.01, **options}
    return load_agent("openai:scripted-model", **options)


def tool_messages(request: dict) -> list[dict]:
    return [json.loads(m["content"]) for m in request["messages"] if m["role"] == "tool"]


def test_tool_calls_are_served_and_the_submitted_finding_returned(world):
    script = [tool_calls(("get_alert", {}), ("list_components", {})),
              tool_calls(("query_metric", {"component": "orders-db", "metric": "query_time_p99_ms"})),
              submit(GOOD, "slow query on orders-db")]
    with ScriptedChatServer(script) as srv:
        tb = Toolbox(world)
        finding = agent_for(srv).investigate(world.alert, tb, seed=5)
    assert isinstance(finding, Finding)
    assert finding.hypotheses[0].component == "orders-db" and finding.summary == "slow query on orders-db"
    assert [c.tool for c in tb.trajectory] == ["get_alert", "list_components", "query_metric"]
    assert finding.usage == {"tokens_in": 300.0, "tokens_out": 60.0, "turns": 3.0}
    first = srv.requests[0]
    assert first["model"] == "scripted-model" and first["seed"] == 5 and first["temperature"] == 0.0
    offered = {t["function"]["name"]: t["function"]["parameters"] for t in first["tools"]}
    assert offered == {**{n: s["parameters"] for n, s in TOOL_SCHEMAS.items()},
                       "submit_finding": SUBMIT_SCHEMA["parameters"]}
    assert "api-gateway error rate above 5%" in first["messages"][1]["content"]
    last = srv.requests[2]["messages"]
    calls = {c["id"] for m in last if m["role"] == "assistant" for c in m.get("tool_calls", [])}
    assert {m["tool_call_id"] for m in last if m["role"] == "tool"} == calls
    metric = tool_messages(srv.requests[2])[-1]
    assert metric["evidence_refs"] == ["metric:orders-db:query_time_p99_ms"]
    assert metric["result"]["values"][-1] > 300 and metric["calls_left"] == 57


def test_malformed_arguments_json_is_returned_to_the_model_which_can_recover(world):
    script = [tool_calls(("query_metric", '{"component": "orders-db", "metric": ')), submit(GOOD)]
    with ScriptedChatServer(script) as srv:
        tb = Toolbox(world)
        finding = agent_for(srv).investigate(world.alert, tb, 0)
    assert finding.hypotheses[0].component == "orders-db"
    assert "not valid JSON" in tool_messages(srv.requests[1])[0]["error"]
    assert tb.trajectory == []


def test_tool_errors_are_returned_to_the_model_as_tool_messages(world):
    script = [tool_calls(("list_metrics", {"component": "orderz-db"}), ("get_topology", {"component": "checkout", "depth": 9})),
              submit(GOOD)]
    with ScriptedChatServer(script) as srv:
        tb = Toolbox(world)
        agent_for(srv).investigate(world.alert, tb, 0)
    errors = [m["error"] for m in tool_messages(srv.requests[1])]
    assert "unknown component 'orderz-db'" in errors[0] and "depth" in errors[1]
    assert [c.error is not None for c in tb.trajectory] == [True, True]


def test_a_rate_limit_then_success_is_retried_transparently(world):
    with ScriptedChatServer([Status(429, "slow down", {"retry-after": "0"})], policy=investigator_policy) as srv:
        finding = agent_for(srv).investigate(world.alert, Toolbox(world), 0)
    assert finding.hypotheses[0].component == "checkout"
    assert len(srv.requests) == 4  # the 429 + three turns
    assert finding.usage["turns"] == 3


def test_rate_limit_exhaustion_is_an_infrastructure_error(world):
    with ScriptedChatServer([Status(429)] * 3) as srv:
        with pytest.raises(RateLimited, match="gave up after 3 attempts") as info:
            agent_for(srv, retries=2).investigate(world.alert, Toolbox(world), 0)
    assert info.value.infrastructure and is_infrastructure(info.value.error_class)
    assert len(srv.requests) == 3


def test_server_errors_are_retried_and_exhaustion_is_endpoint_unreachable(world):
    with ScriptedChatServer([Status(503), Status(500)], policy=investigator_policy) as srv:
        assert agent_for(srv, retries=2).investigate(world.alert, Toolbox(world), 0).hypotheses
    with ScriptedChatServer([Status(502)] * 2) as srv:
        with pytest.raises(EndpointUnreachable, match="server error 502"):
            agent_for(srv, retries=1).investigate(world.alert, Toolbox(world), 0)


def test_backoff_doubles_and_honours_retry_after(world):
    with ScriptedChatServer([Status(429, headers={"retry-after": "0.3"}), Status(429)],
                            policy=investigator_policy) as srv:
        agent, slept = agent_for(srv, backoff_s=0.05, max_backoff_s=1.0), []
        agent.sleep = slept.append
        agent.investigate(world.alert, Toolbox(world), 0)
    assert slept == [0.3, 0.1]  # Retry-After 0.3 s, then 0.05 * 2


def test_an_unreachable_endpoint_is_endpoint_unreachable(world):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    agent = load_agent("openai:m", base_url=f"http://127.0.0.1:{port}/v1", retries=1, backoff_s=0.001)
    with pytest.raises(EndpointUnreachable, match="cannot reach"):
        agent.investigate(world.alert, Toolbox(world), 0)


def test_a_hanging_endpoint_times_out_at_the_deadline(world):
    """The request's own timeout is the investigation's deadline: it ends while the endpoint still holds the
    request open, not when the endpoint gives up 30 s later."""
    with ScriptedChatServer([Hang(30)]) as srv:
        with pytest.raises(AgentTimeout, match=r"within the 0\.5s timeout \(endpoint still answering\)"):
            agent_for(srv, timeout_s=0.5).investigate(world.alert, Toolbox(world), 0)
        assert len(srv.requests) == 1


def test_turn_budget_is_budget_exceeded_with_usage_attached(world):
    with ScriptedChatServer(policy=lambda req: tool_calls(("get_alert", {}))) as srv:
        with pytest.raises(BudgetExceeded, match="turn budget of 3") as info:
            agent_for(srv, max_turns=3).investigate(world.alert, Toolbox(world), 0)
    assert info.value.usage["turns"] == 3 and len(srv.requests) == 3


def test_token_budget_is_budget_exceeded(world):
    with ScriptedChatServer(policy=lambda req: tool_calls(("get_alert", {}), usage=(5000, 100))) as srv:
        with pytest.raises(BudgetExceeded, match="token budget of 8000"):
            agent_for(srv, max_tokens=8000).investigate(world.alert, Toolbox(world), 0)
    assert len(srv.requests) == 2


def test_toolbox_call_budget_ends_the_investigation(world):
    with ScriptedChatServer([tool_calls(("get_alert", {}), ("get_alert", {}), ("get_alert", {}))]) as srv:
        with pytest.raises(BudgetExceeded, match="budget of 2"):
            agent_for(srv).investigate(world.alert, Toolbox(world, max_calls=2), 0)


def test_a_call_to_an_unknown_tool_is_unknown_tool_call(world):
    with ScriptedChatServer([tool_calls(("get_alert", {}), ("restart_database", {"name": "orders-db"}))]) as srv:
        tb = Toolbox(world)
        with pytest.raises(UnknownToolCall, match="restart_database"):
            agent_for(srv).investigate(world.alert, tb, 0)
    assert [c.tool for c in tb.trajectory] == ["get_alert", "restart_database"]


def test_plain_text_answers_get_a_reminder_then_end_as_malformed_output(world):
    with ScriptedChatServer([text("It is the database."), submit(GOOD)]) as srv:
        assert agent_for(srv).investigate(world.alert, Toolbox(world), 0).hypotheses[0].component == "orders-db"
    assert "submit_finding" in srv.requests[1]["messages"][-1]["content"]
    with ScriptedChatServer([text("It is the database.")] * 3) as srv:
        with pytest.raises(MalformedOutput, match="plain text"):
            agent_for(srv, max_repairs=2).investigate(world.alert, Toolbox(world), 0)


def test_an_invalid_submission_is_returned_for_repair_then_accepted(world):
    bad = tool_calls(("submit_finding", {"hypotheses": "orders-db", "summary": "x"}))
    with ScriptedChatServer([bad, submit(GOOD)]) as srv:
        finding = agent_for(srv).investigate(world.alert, Toolbox(world), 0)
    assert finding.hypotheses[0].component == "orders-db"
    assert "hypotheses must be a list" in tool_messages(srv.requests[1])[0]["error"]
    with ScriptedChatServer([bad, bad]) as srv:
        with pytest.raises(MalformedOutput, match="invalid submit_finding"):
            agent_for(srv, max_repairs=1).investigate(world.alert, Toolbox(world), 0)


def test_a_submitted_component_that_does_not_exist_is_unknown_component(world):
    with ScriptedChatServer([submit([{"component": "orders-database", "fault_type": "slow_query",
                                      "confidence": 0.9, "evidence": []}])]) as srv:
        with pytest.raises(UnknownComponent, match="orders-database"):
            agent_for(srv).investigate(world.alert, Toolbox(world), 0)


@pytest.mark.parametrize("step", [Raw("<html>502 Bad Gateway</html>"),
                                  Reply({"id": "x", "object": "chat.completion", "choices": []})])
def test_a_malformed_response_body_is_malformed_output(world, step):
    with ScriptedChatServer([step]) as srv:
        with pytest.raises(MalformedOutput):
            agent_for(srv).investigate(world.alert, Toolbox(world), 0)


def test_a_rejected_request_is_an_agent_crash(world):
    with ScriptedChatServer([Status(400, "context length exceeded")]) as srv:
        with pytest.raises(AgentCrash, match="400 context length exceeded"):
            agent_for(srv).investigate(world.alert, Toolbox(world), 0)


@pytest.mark.parametrize("code, fix", [(401, "OPENAI_API_KEY"), (403, "OPENAI_API_KEY"), (404, "model name")])
def test_auth_and_model_errors_are_unretried_infrastructure_errors_naming_the_fix(world, code, fix):
    with ScriptedChatServer([Status(code, "nope")]) as srv:
        with pytest.raises(EndpointUnreachable) as info:
            agent_for(srv).investigate(world.alert, Toolbox(world), 0)
    assert fix in str(info.value) and info.value.infrastructure
    assert len(srv.requests) == 1


def test_cost_is_computed_from_configured_prices(world):
    with ScriptedChatServer([tool_calls(("get_alert", {}), usage=(1000, 50)), submit(GOOD, usage=(1500, 80))]) as srv:
        finding = agent_for(srv, price_in=2.5, price_out=10.0).investigate(world.alert, Toolbox(world), 0)
    assert finding.usage["tokens_in"] == 2500 and finding.usage["tokens_out"] == 130
    assert finding.usage["cost_usd"] == pytest.approx((2500 * 2.5 + 130 * 10.0) / 1e6)


def test_long_tool_results_are_truncated_for_the_model(world):
    with ScriptedChatServer([tool_calls(("search_logs", {})), submit(GOOD)]) as srv:
        agent_for(srv, max_result_chars=200).investigate(world.alert, Toolbox(world), 0)
    content = [m["content"] for m in srv.requests[1]["messages"] if m["role"] == "tool"][0]
    assert content.startswith('{"result"') and "[truncated" in content and len(content) < 300


# --- specs, options, build ids ---------------------------------------------------------------------
def test_base_url_and_key_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    agent = load_agent("openai:m")
    assert agent.base_url == "http://127.0.0.1:9/v1" and agent.api_key == "sk-test"
    assert "sk-test" not in json.dumps(agent.build.config)


def test_the_public_endpoint_without_a_key_is_a_user_error(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(UserError, match="OPENAI_API_KEY"):
        load_agent("openai:gpt-4o-mini")


def test_build_id_follows_model_endpoint_and_behaviour_options_but_not_keys_or_prices():
    base = dict(base_url="http://127.0.0.1:9/v1")
    a = load_agent("openai:m", **base)
    assert str(a.build).startswith("openai:m+")
    assert str(load_agent("openai:m", **base, api_key="k2", price_in=3.0, retries=9).build) == str(a.build)
    assert str(load_agent("openai:m?temperature=0.7", **base).build) != str(a.build)
    assert str(load_agent("openai:m2", **base).build) != str(a.build)
    assert str(load_agent("openai:m", base_url="http://10.0.0.7:9/v1").build) != str(a.build)


@pytest.mark.parametrize("url, same_build_as", [
    ("http://127.0.0.1:41017/v1", "http://127.0.0.1:8000/v1/"),    # a local server's new port: same build
    ("http://localhost:5/v1", "http://LOCALHOST:6/v1"),
    ("http://[::1]:5/v1", "http://[::1]/v1"),
])
def test_a_local_endpoints_port_is_not_part_of_the_build(url, same_build_as):
    from evalkit.agents.openai_chat import endpoint_identity

    assert str(load_agent("openai:m", base_url=url).build) == str(load_agent("openai:m", base_url=same_build_as).build)
    assert endpoint_identity(url) == endpoint_identity(same_build_as)


def test_a_remote_endpoints_host_and_port_are_part_of_the_build():
    from evalkit.agents.openai_chat import endpoint_identity

    assert endpoint_identity("https://llm.example.com:8443/v1") == "https://llm.example.com:8443/v1"
    assert endpoint_identity("https://llm.example.com:8443/v1") != endpoint_identity("https://llm.example.com:9443/v1")


@pytest.mark.parametrize("options, fix", [
    ({"colour": "red"}, "openai: agents accept"),
    ({"max_turns": 0}, "at least 1"),
    ({"temperature": "hot"}, "non-negative number"),
    ({"base_url": "127.0.0.1:8000"}, "http(s) URL"),
])
def test_bad_openai_options_are_one_line_user_errors(options, fix):
    options.setdefault("base_url", "http://127.0.0.1:9/v1")
    with pytest.raises(UserError) as info:
        load_agent("openai:m", **options)
    assert fix in str(info.value) and "\n" not in str(info.value)


def test_a_missing_openai_package_is_a_user_error_naming_the_extra(monkeypatch):
    import evalkit.agents.openai_chat as oc

    monkeypatch.setattr(oc, "openai_available", lambda: False)
    with pytest.raises(UserError, match=r"pip install 'evalkit\[openai\]'"):
        load_agent("openai:m", base_url="http://127.0.0.1:9/v1")
    monkeypatch.setitem(sys.modules, "openai", None)  # import fails at the first request
    with pytest.raises(UserError, match=r"evalkit\[openai\]"):
        oc._import_openai()


def test_load_agent_does_not_import_openai():
    code = ("import sys; from evalkit.agents import load_agent; "
            "load_agent('openai:m', base_url='http://127.0.0.1:9/v1'); print('openai' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_openai_agent_pickles_after_use(world):
    with ScriptedChatServer(policy=investigator_policy) as srv:
        agent = agent_for(srv)
        first = agent.investigate(world.alert, Toolbox(world), 0)
        clone = pickle.loads(pickle.dumps(agent))
        assert str(clone.build) == str(agent.build)
        assert clone.investigate(world.alert, Toolbox(world), 0).to_dict() == first.to_dict()


def test_the_fault_type_enum_matches_the_suites_taxonomy():
    from evalkit.suite.generator import catalog

    enum = SUBMIT_SCHEMA["parameters"]["properties"]["hypotheses"]["items"]["properties"]["fault_type"]["enum"]
    assert enum == list(FAULT_TYPES) == list(catalog.FAULT_TYPES)


def test_scripted_server_speaks_chat_completions_to_the_official_client():
    openai = pytest.importorskip("openai")
    with ScriptedChatServer([Reply(completion({"role": "assistant", "content": "hi"}, finish="stop"))]) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="x", max_retries=0)
        resp = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hello"}])
    assert resp.choices[0].message.content == "hi" and resp.usage.prompt_tokens == 100
