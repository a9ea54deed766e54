"""Property-based fuzzing (hypothesis) of the agent protocol parser: whatever bytes or JSON an agent sends as a
message or a finding, evalkit either accepts a valid finding or ends the investigation with an AgentFailure
(``malformed_output``, ``unknown_component``) that names the problem — never another exception."""

from __future__ import annotations

import json

import pytest
from fakes.worlds import slow_query_world
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz_inputs import fuzz, json_values, report

from evalkit.agents.base import AgentFailure, Finding
from evalkit.agents.finalize import finalize
from evalkit.agents.subprocess_agent import parse_message
from evalkit.world.toolbox import Toolbox

EXAMPLES = 300
WORLD = slow_query_world()

hypotheses = st.lists(st.fixed_dictionaries({"component": st.one_of(json_values, st.sampled_from(["db", "api"]))},
                                            optional={"confidence": json_values, "fault_type": json_values,
                                                      "evidence": json_values}), max_size=4)
findings = st.one_of(json_values, st.fixed_dictionaries({"hypotheses": st.one_of(hypotheses, json_values)},
                                                        optional={"summary": json_values, "usage": json_values}))
raw_lines = st.one_of(st.binary(max_size=200),
                      st.builds(lambda d: json.dumps(d, allow_nan=True).encode(), json_values),
                      st.sampled_from([b"\x00" * 60, b"{" * 5000, b"[" * 100_000, b'{"type":"final","finding":'
                                       + b"9" * 400 + b"}", b'{"type": NaN}']))


def _accepts_or_refuses(fn, *args) -> None:
    try:
        fn(*args)
    except AgentFailure as exc:
        assert str(exc)  # the reason is named
    # any other exception fails the test: the fuzzer found a crash inside evalkit


def test_any_stdout_line_parses_or_is_malformed_output(request, record_property):
    seen = []

    @fuzz(EXAMPLES)
    @given(raw_lines)
    def check(line):
        seen.append(1)
        _accepts_or_refuses(parse_message, line)

    check()
    report(request, record_property, "agent-protocol-lines", len(seen))


@pytest.mark.parametrize("as_message", [False, True], ids=["finding", "final-message"])
def test_any_finding_is_accepted_or_refused_with_its_reason(request, record_property, as_message):
    seen = []

    @fuzz(EXAMPLES)
    @given(findings)
    def check(doc):
        seen.append(1)
        if as_message:  # through the wire: serialise as an agent would, parse, then check
            try:
                line = json.dumps({"type": "final", "finding": doc}).encode()
            except ValueError:
                return
            _accepts_or_refuses(lambda: finalize(parse_message(line).get("finding"), Toolbox(WORLD)))
        else:  # a Python agent's return value
            _accepts_or_refuses(lambda: isinstance(finalize(doc, Toolbox(WORLD)), Finding))

    check()
    report(request, record_property, f"agent-{'messages' if as_message else 'findings'}", len(seen))
