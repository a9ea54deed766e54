"""Agent specs: recognising the four forms, options in the spec, one-line errors, and `evalkit agents`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evalkit.agents import load_agent
from evalkit.agents.spec import SPEC_FORMS, split_spec
from evalkit.errors import UserError
from system_support import needs_bwrap

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("spec, kind", [
    ("reference:v1", "reference"),
    ("reference:v2?monitor_focus=false", "reference"),
    ("mypkg.agents:make_agent", "python"),
    ("mypkg.agents:Factory.create?depth=2", "python"),
    ("cmd:node agent.js --verbose", "cmd"),
    ("cmd:python -c 'print(1)'", "cmd"),
    ("openai:gpt-4o-mini", "openai"),
    ("openai:qwen2.5:7b?temperature=0", "openai"),
])
def test_the_four_spec_forms_are_recognised(spec, kind):
    assert split_spec(spec)[0] == kind


@pytest.mark.parametrize("spec, fix", [
    ("", "use reference:<version>, pkg.module:factory"),
    ("   ", "use reference:<version>"),
    ("v1", "did you mean reference:v1?"),
    ("https://api.example.com/v1", "use openai:<model> with OPENAI_BASE_URL"),
    ("agents/my_agent.py:main", "use cmd:python agents/my_agent.py"),
    ("docker:my-image", "unknown agent spec form 'docker:'"),
    ("pkg.module:", "unknown agent spec form"),
    ("reference:", "unknown reference build ''"),
    ("reference:v9", "builds are: reference:v1"),
    ("openai:", "name the model"),
    ("cmd:", "give a command line"),
    ("cmd:   ", "give a command line"),
    ("cmd:'unbalanced", "quoting"),
    ("cmd:surely-not-an-installed-command-xyz --x", "not on PATH"),
    ("cmd:./missing/agent-binary", "does not exist"),
])
def test_malformed_or_unknown_specs_are_one_line_user_errors(spec, fix):
    with pytest.raises(UserError) as info:
        load_agent(spec)
    message = str(info.value)
    assert fix in message and "\n" not in message
    assert message.startswith("agent: spec ")


@pytest.mark.parametrize("value", [0, -1, "soon", True])
def test_timeout_must_be_a_positive_number_of_seconds(value):
    with pytest.raises(UserError, match="timeout_s"):
        load_agent("reference:v1", timeout_s=value)


def test_options_in_the_spec_query_are_parsed_as_json_values():
    agent = load_agent("fakes.py_agents:CountingAgent?depth=3")
    assert agent.build.config == {"depth": 3}


def test_a_malformed_spec_query_is_a_user_error():
    with pytest.raises(UserError, match="key=value"):
        load_agent("reference:v1?monitor_focus")


def test_reference_builds_load_lazily_with_flag_overrides():
    v1 = load_agent("reference:v1")
    assert v1.build.name == "reference" and v1.build.version == "v1"
    assert v1.deterministic is True
    focused = load_agent("reference:v1?monitor_focus=true")
    assert str(focused.build) != str(v1.build)
    with pytest.raises(UserError) as info:
        load_agent("reference:v1?not_a_flag=1")
    assert "not_a_flag" in str(info.value) and "\n" not in str(info.value)


def _evalkit(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=60)


def test_evalkit_agents_lists_builtin_builds_and_spec_forms():
    out = _evalkit("agents")
    assert out.returncode == 0, out.stderr
    for version in ("reference:v1", "reference:v2", "reference:v3"):
        assert version in out.stdout
    for form, _ in SPEC_FORMS:
        assert form in out.stdout
    doc = json.loads(_evalkit("agents", "--json").stdout)
    assert "reference:v2" in doc["builds"] and [f["form"] for f in doc["spec_forms"]] == [f for f, _ in SPEC_FORMS]


@needs_bwrap
def test_evalkit_agents_describe_prints_the_build_id_and_rejects_bad_specs_with_exit_2():
    out = _evalkit("agents", "describe", "--json", "cmd:bash examples/agents/bash/agent.sh")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["adapter"] == "SubprocessAgent" and doc["build_id"].startswith("agent.sh:")
    bad = _evalkit("agents", "describe", "reference:v9")
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and bad.stderr.startswith("error: agent: spec 'reference:v9'")
