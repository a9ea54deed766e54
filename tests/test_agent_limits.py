"""What an agent sends is bounded: over a limit, the investigation ends as malformed_output naming the limit,
never as a crash inside evalkit or an unbounded journal. The same limits hold for every adapter."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
from fakes.worlds import slow_query_world

from evalkit.agents import load_agent
from evalkit.agents.base import Finding, Hypothesis, MalformedOutput
from evalkit.agents.finalize import finalize
from evalkit.agents.limits import DEFAULT_LIMITS, MessageLimits, check_depth, loads
from evalkit.errors import UserError
from evalkit.world.toolbox import Toolbox
from system_support import needs_bwrap

FAKE = Path(__file__).resolve().parent / "fakes" / "subprocess_agents.py"


@pytest.fixture
def world():
    return slow_query_world()


def fake(mode: str, *args: str, **options):
    options.setdefault("timeout_s", 30)
    return load_agent("cmd:" + shlex.join([sys.executable, str(FAKE), mode, *args]), **options)


@needs_bwrap
@pytest.mark.parametrize("mode, arg, limit", [
    ("huge_summary", "30000000", "1048576 bytes"),       # a 30 MB summary: over the message limit
    ("huge_summary", "50000", "limit of 20000"),         # under the message limit, over the summary limit
    ("deep_nesting", "100000", "nested deeper"),
    ("deep_nesting", "100", "limit of 64 levels"),
    ("long_number", "400", "limit of 40 digits"),
    ("many_hypotheses", "51", "limit of 50"),
    ("chatty", "100", "8388608 bytes"),                  # 10 MB over one investigation
])
def test_a_cmd_agent_over_a_limit_is_malformed_output_naming_the_limit(world, mode, arg, limit):
    with pytest.raises(MalformedOutput, match=limit):
        fake(mode, arg).investigate(world.alert, Toolbox(world, max_calls=1000), 0)


@needs_bwrap
def test_limits_are_configurable_per_run(world):
    roomy = MessageLimits(summary_chars=60_000)
    finding = fake("huge_summary", "50000", limits=roomy).investigate(world.alert, Toolbox(world), 0)
    assert len(finding.summary) == 50_000


def test_a_python_agent_gets_the_same_limits(world):
    big = {"hypotheses": [{"component": "db"}], "summary": "y" * 20_001}
    with pytest.raises(MalformedOutput, match="finding.summary has 20001 characters"):
        finalize(big, Toolbox(world))
    many = Finding([Hypothesis("db", evidence=["e"] * 201)])
    with pytest.raises(MalformedOutput, match="evidence has 201 items"):
        finalize(many, Toolbox(world))


def test_a_huge_integer_confidence_from_python_is_malformed_not_a_crash(world):
    with pytest.raises(MalformedOutput, match="confidence must be a number"):
        finalize({"hypotheses": [{"component": "db", "confidence": 10 ** 400}]}, Toolbox(world))


def test_a_huge_integer_in_usage_is_malformed_not_a_crash(world):
    """Found by the protocol fuzzer: math.isfinite(10 ** 400) raises OverflowError."""
    with pytest.raises(MalformedOutput, match="usage.*must be a finite number"):
        finalize({"hypotheses": [], "usage": {"tokens_in": 10 ** 400}}, Toolbox(world))


@pytest.mark.parametrize("text, problem", [
    (b'{"a": NaN}', "NaN is not JSON"),
    (b'{"a": 1e999}', "out of range"),
    (b'{"a": -Infinity}', "-Infinity is not JSON"),
])
def test_the_parser_refuses_what_other_languages_cannot_read(text, problem):
    with pytest.raises(MalformedOutput, match=problem):
        loads(text)


def test_depth_is_checked_without_recursion():
    doc = current = []
    for _ in range(500):
        current.append([])
        current = current[0]
    with pytest.raises(MalformedOutput, match="limit of 64"):
        check_depth(doc, DEFAULT_LIMITS.json_depth)
    check_depth({"a": [[1]]}, 3)


@pytest.mark.parametrize("field", ["message_bytes", "json_depth", "hypotheses"])
@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_a_limit_must_be_a_positive_whole_number(field, value):
    with pytest.raises(UserError, match=field):
        MessageLimits(**{field: value})
