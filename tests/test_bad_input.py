"""Acceptance of issue 16: input evalkit cannot use is exit 2 with ONE line (file, field, value, fix), no
traceback, and nothing the user wrote is changed — across suites, policies, baselines, journals and CLI options.

Every case builds its broken input under ``user/`` (a copy of the smoke suite, the committed baseline export,
a policy, a journal), hashes every file there, runs the real command in-process, and checks the contract.
Baseline and journal problems are found before any agent runs (no results, no reports).
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd
import pytest

from gate_support import smoke_baseline, synthetic_table
from suite_helpers import SMOKE, run_cli


@dataclass
class Case:
    """Where the user's files are and what a case's command may refer to."""

    user: Path  # everything the user wrote: suite copy, baselines/, policy.toml, journal/
    out: Path  # where evalkit may write (reports, runs, an empty store)
    baseline: object  # the session's SmokeBaseline

    @property
    def suite(self) -> Path:
        return self.user / "smoke"

    @property
    def exports(self) -> Path:
        return self.user / "baselines"

    @property
    def results(self) -> Path:
        return self.exports / "smoke" / "main.results.parquet"

    def gate(self, *extra: str) -> list[str]:
        """A gate of reference:v1 on the user's suite against the committed export (no store baseline)."""
        return ["gate", "--suite", str(self.suite), "--agent", "reference:v1", "--trials", "1", "--seed", "1",
                "--baselines-dir", str(self.exports), "--output-dir", str(self.out / "reports"),
                "--journal-dir", str(self.user / "journal"), "--tracking-uri",
                f"sqlite:///{self.out / 'no-store' / 'mlflow.db'}", *extra]

    def run(self, *extra: str) -> list[str]:
        return ["run", "--suite", str(self.suite), "--agent", "reference:v1", "--no-log", "--quiet",
                "--journal-dir", str(self.user / "journal"), "--output-dir", str(self.out / "run"), *extra]

    def compare(self, *extra: str) -> list[str]:
        return ["compare", str(self.baseline.results), str(self.results), *extra]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, embedded_store_template):
    return smoke_baseline(tmp_path_factory, embedded_store_template)


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file the user wrote under ``folder``, by relative path (evalkit's own ``.evalkit/``
    caches, such as a suite's index, are not the user's)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and ".evalkit" not in p.relative_to(folder).parts}


# ---- ways to break the user's files ----------------------------------------------------------------------
def rewrite_results(c: Case, table: pd.DataFrame | bytes) -> None:
    """Replace the committed baseline table and update the manifest's sha256, as a careless user would."""
    data = table if isinstance(table, bytes) else _parquet(table)
    c.results.write_bytes(data)
    manifest = c.exports / "smoke" / "main.manifest.json"
    doc = json.loads(manifest.read_text())
    doc["sha256"] = hashlib.sha256(data).hexdigest()
    manifest.write_text(json.dumps(doc))


def _parquet(table: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    table.to_parquet(buf)
    return buf.getvalue()


def base_table(c: Case) -> pd.DataFrame:
    return pd.read_parquet(c.baseline.baselines_dir / "smoke" / "main.results.parquet")


def edit_manifest(c: Case, **changes) -> None:
    manifest = c.exports / "smoke" / "main.manifest.json"
    doc = {**json.loads(manifest.read_text()), **changes}
    manifest.write_text(json.dumps({k: v for k, v in doc.items() if v is not None}))


def policy(c: Case, text: str) -> Path:
    path = c.user / "policy.toml"
    path.write_text(text)
    return path


def scenario_file(c: Case) -> Path:
    return sorted((c.suite / "scenarios").glob("*.json"))[0]


def journal(c: Case, content: bytes, seed: int = 0) -> None:
    from evalkit.run.journal import default_journal_path
    from evalkit.run.runner import agent_build_id

    path = default_journal_path(c.user / "journal", "smoke", agent_build_id("reference:v1", {}), seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def journal_header(c: Case, **changes) -> bytes:
    from evalkit.run.runner import agent_build_id
    from evalkit.suite import load_suite

    head = {"journal": 1, "suite": "smoke", "suite_hash": load_suite(c.suite).hash,
            "build_id": agent_build_id("reference:v1", {}), "agent_spec": "reference:v1", "seed": 0, "trials": 1}
    return json.dumps({**head, **changes}).encode() + b"\n"


def set_gated_to_nan(c: Case) -> None:
    t = base_table(c)
    t["rca_top1"] = float("nan")
    rewrite_results(c, t)


def column_as(column: str, values: Callable[[pd.Series], pd.Series]) -> Callable[[Case], None]:
    def do(c: Case) -> None:
        t = base_table(c)
        t[column] = values(t[column])
        rewrite_results(c, t)
    return do


# (id, set-up, command, substrings of the one line)
CASES: list[tuple[str, Callable[[Case], None], Callable[[Case], list[str]], tuple[str, ...]]] = [
    # -- suite ---------------------------------------------------------------------------------------------
    ("suite: no such folder", lambda c: None, lambda c: c.run()[:2] + [str(c.user / "nope")] + c.run()[3:],
     ("nope", "no such suite folder")),
    ("suite: suite.toml not TOML", lambda c: (c.suite / "suite.toml").write_text("name = [\n"),
     lambda c: c.run(), ("suite.toml",)),
    ("suite: suite.toml missing", lambda c: (c.suite / "suite.toml").unlink(), lambda c: c.run(), ("suite.toml",)),
    ("suite: scenario not JSON", lambda c: scenario_file(c).write_text('{"id": '), lambda c: c.run(),
     ("malformed JSON", "fix the JSON syntax")),
    ("suite: scenario of NUL bytes", lambda c: scenario_file(c).write_bytes(b"\x00" * 64), lambda c: c.run(),
     (".json",)),
    ("suite: scenario is a list", lambda c: scenario_file(c).write_text("[1, 2]"), lambda c: c.run(), (".json",)),
    ("suite: missing truth file", lambda c: (c.suite / "truth" / scenario_file(c).name).unlink(),
     lambda c: c.run(), ("add the ground truth",)),
    ("suite: default_trials = 0", lambda c: (c.suite / "suite.toml").write_text(
        (c.suite / "suite.toml").read_text().replace("default_trials = 1", "default_trials = 0")),
     lambda c: c.run(), ("default_trials",)),
    # -- policy --------------------------------------------------------------------------------------------
    ("policy: alpha 2", lambda c: policy(c, "[gate]\nalpha = 2\n"), lambda c: c.gate("--policy", str(c.user / "policy.toml")),
     ("gate.alpha", "(0, 0.5)")),
    ("policy: margin in points", lambda c: policy(c, "[margins]\ndefault = 5\n"),
     lambda c: c.gate("--policy", str(c.user / "policy.toml")), ("margins.default", "500 points")),
    ("policy: negative margin", lambda c: policy(c, "[margins]\ndefault = -0.1\n"),
     lambda c: c.compare("--policy", str(c.user / "policy.toml")), ("margins.default", "margin must be >= 0")),
    ("policy: margin not below delta", lambda c: policy(c, "[margins]\ndefault = 0.2\n"),
     lambda c: c.compare("--policy", str(c.user / "policy.toml")), ("deltas.default", "larger than the margin")),
    ("policy: 400-digit margin", lambda c: policy(c, f"[margins]\ndefault = {10 ** 400}\n"),
     lambda c: c.compare("--policy", str(c.user / "policy.toml")), ("margins.default", "must be a number")),
    ("policy: nan alpha", lambda c: policy(c, "[gate]\nalpha = nan\n"),
     lambda c: c.compare("--policy", str(c.user / "policy.toml")), ("gate.alpha",)),
    ("policy: huge permutations", lambda c: policy(c, "[gate]\npermutations = 100000000000\n"),
     lambda c: c.compare("--policy", str(c.user / "policy.toml")), ("gate.permutations", "[999, 1e+06]")),
    ("policy: unknown key", lambda c: policy(c, "[gate]\nalpah = 0.05\n"),
     lambda c: c.compare("--policy", str(c.user / "policy.toml")), ("gate.alpah", "unknown key")),
    ("policy: not TOML", lambda c: policy(c, "[gate\n"),
     lambda c: c.compare("--policy", str(c.user / "policy.toml")), ("fix the TOML syntax",)),
    ("policy: NUL bytes", lambda c: (c.user / "policy.toml").write_bytes(b"\x00" * 32),
     lambda c: c.compare("--policy", str(c.user / "policy.toml")), ("policy.toml",)),
    ("policy: unknown metric", lambda c: policy(c, '[gate]\nmetrics = ["rca_top9"]\n'),
     lambda c: c.gate("--policy", str(c.user / "policy.toml")), ("gate.metrics", "unknown metric")),
    ("policy: delta in points", lambda c: policy(c, "[deltas]\ndefault = 10\n"),
     lambda c: c.gate("--policy", str(c.user / "policy.toml")), ("deltas.default", "1000 points")),
    # -- baseline --------------------------------------------------------------------------------------------
    ("baseline: garbage bytes, sha256 updated", lambda c: rewrite_results(c, b"PAR1" + b"\x00garbage" * 50),
     lambda c: c.gate(), ("main.results.parquet", "not a readable Parquet file")),
    ("baseline: truncated parquet, sha256 updated",
     lambda c: rewrite_results(c, (c.baseline.baselines_dir / "smoke" / "main.results.parquet").read_bytes()[:300]),
     lambda c: c.gate(), ("main.results.parquet", "parquet")),
    ("baseline: rca_top1 stored as strings", column_as("rca_top1", lambda s: s.astype(str)), lambda c: c.gate(),
     ("main.results.parquet", "rca_top1", "not numbers")),
    ("baseline: trial stored as fractions", column_as("trial", lambda s: s + 0.5), lambda c: c.gate(),
     ("trial", "whole numbers")),
    ("baseline: scenario_id stored as numbers", column_as("scenario_id", lambda s: pd.Series(range(len(s)))),
     lambda c: c.gate(), ("scenario_id", "not text")),
    ("baseline: gated metric all NaN", set_gated_to_nan, lambda c: c.gate(), ("baseline run", "rca_top1")),
    ("baseline: column missing", lambda c: rewrite_results(c, base_table(c).drop(columns="rca_score")),
     lambda c: c.gate(), ("columns", "rca_score")),
    ("baseline: no rows", lambda c: rewrite_results(c, base_table(c).iloc[:0]), lambda c: c.gate(), ("rows",)),
    ("baseline: score off its scale", lambda c: rewrite_results(c, base_table(c).assign(rca_top1=5.0)),
     lambda c: c.gate(), ("main.results.parquet: rca_top1 5.0", "outside its scale [0, 1]")),
    ("baseline: infinite latency", lambda c: rewrite_results(c, base_table(c).assign(latency_s=float("inf"))),
     lambda c: c.gate(), ("latency_s inf", "not finite")),
    ("baseline: trial listed twice", lambda c: rewrite_results(c, pd.concat([base_table(c)] * 2)),
     lambda c: c.gate(), ("scenario_id/trial", "each trial is one row")),
    ("baseline: two builds in one run",
     lambda c: rewrite_results(c, base_table(c).assign(build_id=lambda t: ["a", "b"] * (len(t) // 2) + ["a"] * (len(t) % 2))),
     lambda c: c.gate(), ("build_id 'a, b'", "one run holds one build_id")),
    ("baseline: too few scenarios to compare",
     lambda c: rewrite_results(c, base_table(c).groupby("category").head(1).head(5)), lambda c: c.gate(),
     ("scenarios", "nothing would be compared")),
    ("baseline: manifest not JSON", lambda c: (c.exports / "smoke" / "main.manifest.json").write_text("{"),
     lambda c: c.gate(), ("main.manifest.json", "not valid JSON")),
    ("baseline: manifest not an object", lambda c: (c.exports / "smoke" / "main.manifest.json").write_text("[]"),
     lambda c: c.gate(), ("main.manifest.json: json 'list'", "one JSON object")),
    ("baseline: manifest nested too deep",
     lambda c: (c.exports / "smoke" / "main.manifest.json").write_text("[" * 100000),
     lambda c: c.gate(), ("main.manifest.json: json 'RecursionError", "not valid JSON")),
    ("baseline: manifest without sha256", lambda c: edit_manifest(c, sha256=None), lambda c: c.gate(),
     ("sha256", "missing")),
    ("baseline: garbage compared directly", lambda c: rewrite_results(c, b"\x00" * 100), lambda c: c.compare(),
     ("main.results.parquet", "not a readable Parquet file")),
    ("baseline: strings compared directly", column_as("rca_score", lambda s: s.astype(str)), lambda c: c.compare(),
     ("rca_score", "not numbers")),
    ("compare: nothing comparable", lambda c: synthetic_table("x", {"kubernetes/oom": [True] * 12}).to_parquet(
        c.user / "other.parquet"), lambda c: ["compare", str(c.user / "other.parquet"), str(c.user / "other.parquet"),
                                              "--policy", str(policy(c, "[gate]\nmin_scenarios = 13\n"))],
     ("scenarios", "nothing would be compared")),
    # -- journal -------------------------------------------------------------------------------------------
    ("journal: header of NUL bytes", lambda c: journal(c, b"\x00" * 60 + b"\n"), lambda c: c.run("--trials", "1"),
     ("header", "\\x00", "not an evalkit journal")),
    ("journal: header not an object", lambda c: journal(c, b"[1, 2]\n"), lambda c: c.run("--trials", "1"),
     ("not an evalkit journal",)),
    ("journal: header of another seed", lambda c: journal(c, journal_header(c, seed=9)),
     lambda c: c.run("--trials", "1"), ("seed 9", "another --seed")),
    ("journal: header of another trial count", lambda c: journal(c, journal_header(c, trials=4)),
     lambda c: c.run("--trials", "1"), ("trials 4", "another --trials")),
    # -- CLI options ---------------------------------------------------------------------------------------
    ("option: --trials 0", lambda c: None, lambda c: c.run("--trials", "0"), ("--trials",)),
    ("option: --trials abc", lambda c: None, lambda c: c.run("--trials", "abc"), ("'abc' is not a valid integer",)),
    ("option: --seed -3", lambda c: None, lambda c: c.run("--seed", "-3"), ("--seed",)),
    ("option: --jobs -1", lambda c: None, lambda c: c.run("--jobs", "-1"), ("--jobs",)),
    ("option: --timeout -5", lambda c: None, lambda c: c.run("--timeout", "-5"), ("--timeout",)),
    ("option: --executor kubernetes", lambda c: None, lambda c: c.run("--executor", "kubernetes"),
     ("--executor",)),
    ("option: --tracking-uri ftp", lambda c: None, lambda c: c.gate()[:-2] + ["--tracking-uri", "ftp://x/y"],
     ("--tracking-uri", "ftp://x/y")),
    ("option: suite name with control bytes", lambda c: None,
     lambda c: c.run()[:2] + ["no\x1b[2Jsuch"] + c.run()[3:], ("no\\x1b[2Jsuch",)),
    ("option: --output-dir is a file", lambda c: (c.user / "a-file").write_text("x"),
     lambda c: c.run("--trials", "1", "--output-dir", str(c.user / "a-file")), ("--output-dir",)),
]


@pytest.mark.parametrize("name, setup, command, needles", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_exit_2_in_one_line_without_traceback_and_changes_nothing(name, setup, command, needles,
                                                                               baseline, tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.chdir(tmp_path)
    c = Case(tmp_path / "user", tmp_path / "out", baseline)
    shutil.copytree(baseline.suite if baseline.suite.is_dir() else SMOKE, c.suite)
    shutil.copytree(baseline.baselines_dir, c.exports)
    setup(c)
    args = command(c)
    before = digest(c.user)

    code, out, err = run_cli(args)

    assert code == 2, f"exit {code}\nstdout: {out[-1500:]}\nstderr: {err[-1500:]}"
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    assert lines[0].startswith("error: ") and "Traceback" not in err + out
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert not any(ch in lines[0] for ch in "\x00\x1b\r"), lines[0]
    assert digest(c.user) == before, "the user's files changed"
    assert not (c.out / "reports").exists() and not (c.out / "run").exists(), "something ran"


def test_there_are_at_least_30_cases_across_every_kind_of_input():
    kinds = {name.split(":")[0] for name, *_ in CASES}
    assert len(CASES) >= 30 and {"suite", "policy", "baseline", "journal", "option"} <= kinds
