"""Property-based fuzzing (hypothesis) of what users hand evalkit: journals, suite files and policy files.

For any input: no traceback, and invalid input is never exit 0 or 1. Example counts are modest so the suite
stays fast; each test records how many examples it tried (``examples`` in the JUnit properties, the pytest
cache key ``evalkit/fuzz-examples/<target>``, and a printed line under ``-s``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st

from evalkit.errors import printable
from gate_support import smoke_suite
from suite_helpers import run_cli

_BASE = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def fuzz(examples: int):
    """A fuzz target's settings: ``examples`` examples, no per-example deadline (no timed tests), and a fixed
    seed, so the test command tries the same examples in every checkout and CI is never red by chance.
    ``EVALKIT_FUZZ=random`` draws new ones and ``EVALKIT_FUZZ_SCALE=10`` tries ten times as many — a deeper
    search to run by hand, whose finds become fixed ``@example``s."""
    scale = float(os.environ.get("EVALKIT_FUZZ_SCALE", "1"))
    chosen = settings(_BASE, max_examples=max(1, int(examples * scale)))

    def decorate(test):
        test = chosen(test)
        return test if os.environ.get("EVALKIT_FUZZ") == "random" else seed(20261202)(test)

    return decorate


def report(request, record_property, target: str, examples: int) -> None:
    """Record how many examples a fuzz target tried (quoted in the issue's closing note)."""
    record_property("examples", examples)
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    if cache is not None:
        cache.set(f"evalkit/fuzz-examples/{target}", examples)
    print(f"fuzz {target}: {examples} examples")
    assert examples > 0


# ---- JSON values of every shape, including the ones that broke evalkit ---------------------------------
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.just(10 ** 400), st.just(-(10 ** 400)),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                    st.sampled_from(["\x00" * 8, "\u202e", "ok", "agent_error", "infra_error", ""]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                           max_leaves=12)


def mutate(doc: Any, path: list[str], value: Any) -> Any:
    """``doc`` with the value at ``path`` (keys into nested objects) replaced by ``value`` (or deleted when
    ``value`` is the string ``"<delete>"``); a path that leaves the objects replaces what is there."""
    if not path or not isinstance(doc, dict):
        return value
    out = dict(doc)
    head, rest = path[0], path[1:]
    if not rest and value == "<delete>":
        out.pop(head, None)
    else:
        out[head] = mutate(out.get(head), rest, value)
    return out


# ---- 1. the journal reader (and the re-scoring of what it keeps) ----------------------------------------
@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    from evalkit.suite import load_suite

    return load_suite(smoke_suite(tmp_path_factory))


RECORD_PATHS = [["key"], ["row"], ["row", "status"], ["outcome"], ["outcome", "status"], ["outcome", "seed"],
                ["outcome", "latency_s"], ["outcome", "error_class"], ["trajectory"], ["trajectory", "scenario_id"],
                ["trajectory", "trial"], ["trajectory", "calls"], ["trajectory", "finding"],
                ["trajectory", "finding", "hypotheses"], ["trajectory", "finding", "usage"],
                ["trajectory", "stderr"]]


def good_record(smoke, scenario: int, trial: int) -> dict:
    from evalkit.run.journal import record_key

    sid = smoke.scenarios[scenario % len(smoke.scenarios)].id
    return {"key": record_key(smoke.hash, sid, trial, "fuzz+build"),
            "row": {"scenario_id": sid, "trial": trial, "status": "ok"},
            "trajectory": {"scenario_id": sid, "trial": trial, "stderr": "",
                           "finding": {"hypotheses": [{"component": "db", "fault_type": "oom", "confidence": 0.5,
                                                       "evidence": ["logs:db"]}], "summary": "", "usage": {}},
                           "calls": [{"tool": "get_logs", "args": {"component": "db"}, "result_size": 2,
                                      "duration_s": 0.1, "refs": ["logs:db"], "error": None}]},
            "outcome": {"status": "ok", "error_class": "", "error_message": "", "latency_s": 0.2, "seed": 1,
                        "attempt": 0}}


@st.composite
def journal_lines(draw, smoke) -> list[bytes]:
    """Lines after a journal's header: good records, records with one part replaced or deleted, raw bytes."""
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["good", "mutated", "mutated", "bytes", "json"]))
        rec = good_record(smoke, draw(st.integers(0, 50)), draw(st.integers(0, 1)))
        if kind == "good":
            lines.append(json.dumps(rec).encode())
        elif kind == "mutated":
            value = draw(st.one_of(json_values, st.just("<delete>")))
            lines.append(json.dumps(mutate(rec, draw(st.sampled_from(RECORD_PATHS)), value)).encode())
        elif kind == "json":
            lines.append(json.dumps(draw(json_values)).encode())
        else:
            lines.append(draw(st.binary(max_size=80)).replace(b"\n", b" "))
    return lines


def test_fuzz_the_journal_reader_keeps_only_records_it_can_rescore(smoke, request, record_property):
    from evalkit.run.journal import Journal, JournalHeader, quarantine_path
    from evalkit.run.runner import _Context
    from evalkit.score.scorer import TrialScorer

    header = JournalHeader(smoke.name, smoke.hash, "fuzz+build", "fuzz", 0, 2)
    ctx = _Context(smoke, "fuzz+build", "fuzz", 0, TrialScorer(smoke), {s.id: s.category for s in smoke.scenarios})
    ids = [s.id for s in smoke.scenarios]
    tried = 0

    control_id = json.dumps(mutate(good_record(smoke, 0, 0), ["trajectory", "scenario_id"], "\x1f")).encode()

    @fuzz(200)
    @given(lines=journal_lines(smoke), torn=st.binary(max_size=30).map(lambda b: b.replace(b"\n", b"")))
    @example(lines=[control_id], torn=b"")  # found by this fuzzer: a control byte in the warning line
    def check(lines: list[bytes], torn: bytes) -> None:
        nonlocal tried
        tried += 1
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "j.jsonl"
            Journal(path, header).close()
            head = path.read_bytes()
            path.write_bytes(head + b"".join(line + b"\n" for line in lines) + torn)
            with Journal(path, header, scenario_ids=ids) as j:
                for key, rec in j.records.items():  # what a resumed run re-scores
                    tr = j.trajectory(key)
                    ctx.row(tr["scenario_id"], int(tr["trial"]), rec["outcome"], tr)
                for warning in j.warnings:
                    assert printable(warning) == warning  # nothing left to escape (spaces such as U+00A0 stay)
                moved = quarantine_path(path).read_bytes() if quarantine_path(path).exists() else b""
                assert moved == b"".join(d.raw + b"\n" for d in j.damaged)  # nothing lost
            kept = path.read_bytes()
            assert kept.startswith(head) and kept.count(b"\n") == 1 + len(lines) + bool(torn) - len(j.damaged)

    check()
    report(request, record_property, "journal reader", tried)


# ---- 2. suite files ------------------------------------------------------------------------------------
SCENARIO_FIELDS = ["id", "category", "title", "alert", "world", "max_tool_calls", "tags"]


@st.composite
def broken_suite_file(draw) -> tuple[str, bytes]:
    """(file under the suite, new content): a scenario or suite.toml replaced, mangled or given a bad field."""
    target = draw(st.sampled_from(["scenario", "scenario", "truth", "suite.toml"]))
    how = draw(st.sampled_from(["bytes", "json", "field"]))
    if how == "bytes":
        return target, draw(st.binary(max_size=200))
    if how == "json" or target == "suite.toml":
        value = draw(json_values)
        text = json.dumps(value) if target != "suite.toml" else "\n".join(
            f"{k!r} = {json.dumps(v)}" for k, v in (value.items() if isinstance(value, dict) else [("x", value)]))
        return target, text.encode("utf-8", "surrogatepass")
    return target, ("field", draw(st.sampled_from(SCENARIO_FIELDS)), draw(json_values))  # type: ignore[return-value]


def test_fuzz_suite_files_are_exit_2_without_traceback(tmp_path_factory, request, record_property):
    source = smoke_suite(tmp_path_factory)
    first = sorted((source / "scenarios").glob("*.json"))[0].name
    tried = 0

    @fuzz(60)
    @given(change=broken_suite_file())
    def check(change) -> None:
        nonlocal tried
        tried += 1
        target, content = change
        with tempfile.TemporaryDirectory() as tmp:
            suite = Path(tmp) / "smoke"
            shutil.copytree(source, suite, ignore=shutil.ignore_patterns(".evalkit"))
            path = suite / ("suite.toml" if target == "suite.toml" else f"{target}s/{first}"
                            if target == "scenario" else f"truth/{first}")
            if isinstance(content, tuple):  # one field of the scenario given a random value
                _, field, value = content
                doc = json.loads(path.read_text())
                if doc.get(field) == value:
                    return
                doc[field] = value
                content = json.dumps(doc).encode()
            if content == path.read_bytes():
                return
            path.write_bytes(content)
            code, out, err = run_cli(["suite", "validate", str(suite)])
        assert "Traceback" not in err + out
        assert code in (0, 2), (code, err[-500:])
        if code == 0:  # a change evalkit accepts must leave a loadable, consistent suite
            assert target == "scenario" and isinstance(change[1], tuple), (target, err)
        else:
            assert all(line.startswith(("error: ", str(suite))) for line in err.splitlines() if line.strip())

    check()
    report(request, record_property, "suite files", tried)


# ---- 3. policy files -----------------------------------------------------------------------------------
POLICY_KEYS = {"gate": ["metrics", "report", "primary", "alpha", "correction", "test", "mcnemar", "permutations",
                        "min_scenarios", "max_infra_error_rate", "design", "futility_alpha", "round_size", "power",
                        "nonsense"],
               "margins": ["default", "metric", "category", "nonsense"], "deltas": ["default", "metric"],
               "nonsense": ["x"]}


def toml_value(v: Any) -> str:
    """``v`` written as a TOML value (NaN and infinities as TOML writes them)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if v != v else ("inf" if v > 0 else "-inf") if v in (float("inf"), float("-inf")) else repr(v)
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v))


@st.composite
def policy_text(draw) -> str:
    """A policy file: known and unknown sections and keys with values of every type, or arbitrary text."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=120))
    sections = draw(st.lists(st.sampled_from(sorted(POLICY_KEYS)), min_size=1, max_size=3, unique=True))
    out = []
    for section in sections:
        keys = draw(st.lists(st.sampled_from(POLICY_KEYS[section]), min_size=1, max_size=4, unique=True))
        out.append(f"[{section}]")
        for key in keys:
            value = draw(st.one_of(json_values, st.floats(-2, 12), st.lists(st.sampled_from(
                ["rca_top1", "rca_score", "rca_top9", "latency_s"]), max_size=3),
                st.dictionaries(st.sampled_from(["rca_top1", "rca_score", "kubernetes/oom", "x"]),
                                st.one_of(st.floats(-1, 2), st.integers(), st.just(10 ** 400)), max_size=2)))
            if value is None:
                continue
            out.append(f"{key} = {toml_value(value)}")
    return "\n".join(out) + "\n"


def test_fuzz_policy_files_are_exit_2_unless_valid(tmp_path_factory, request, record_property, embedded_store_template):
    from evalkit.compare import load_policy
    from evalkit.errors import UserError
    from gate_support import smoke_baseline

    baseline = smoke_baseline(tmp_path_factory, embedded_store_template)
    tried = 0

    @fuzz(100)
    @given(text=policy_text())
    def check(text: str) -> None:
        nonlocal tried
        tried += 1
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "policy.toml"
            path.write_text(text, encoding="utf-8", errors="surrogatepass")
            try:
                load_policy(path)
                valid = True
            except UserError:
                valid = False
            code, out, err = run_cli(["compare", str(baseline.results), str(baseline.results), "--policy", str(path)])
        assert "Traceback" not in err + out
        if valid:
            assert code in (0, 1, 2), err
        else:
            assert code == 2, (code, text, err[-500:])
            assert err.startswith("error: ") and all(str(path) in line for line in err.splitlines() if line.strip())

    check()
    report(request, record_property, "policy files", tried)
