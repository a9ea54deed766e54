"""Gate policy per suite (``baselines/<suite>/policy.toml``): what is gated, margins, α, correction, tests.

Every problem in a policy file is reported at once, one line each (file, field, value, fix). Every value is
range-checked against what it means: the [gate] numbers against :data:`GATE_NUMBERS`, a margin on a 0–1 metric
in [0, 0.5) and below that metric's δ, δ in (0, 1). Without a file the default policy applies (see
docs/statistics.md for where its numbers come from).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evalkit.errors import Problem, UserError
from evalkit.score import catalogue
from evalkit.score.catalogue import BINARY, METRICS, is_known, on_unit_scale

TESTS = ("auto", "t", "wilson", "score", "permutation")
CORRECTIONS = ("holm", "bh")
#: conditional McNemar (gate.test = "mcnemar", gate.mcnemar = midp | exact) was removed: at a non-zero margin it
#: treats the number of flips as fixed and exceeds its level when flips go one way (docs/statistics.md §2)
_MCNEMAR_GONE = ("the conditional McNemar test was removed: it exceeds its level at a non-zero margin when flips "
                 "go one way; binary one-trial cells now use the Wilson MOVER test (test = \"auto\")")
#: auto: the sequential design on pool suites (generated, can always grow), the fixed one otherwise
DESIGNS = ("auto", "fixed", "sequential")



@dataclass(frozen=True)
class Range:
    """The values a ``[gate]`` number may take: ``kind`` int or float, between ``low`` and ``high`` (each bound
    open or closed), with an example and why, for the one-line fix."""

    kind: type
    low: float
    high: float
    low_open: bool = False
    high_open: bool = False
    example: str = ""
    why: str = ""

    def holds(self, v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, (int, float) if self.kind is float else int):
            return False
        if not finite(v):
            return False
        above = v > self.low if self.low_open else v >= self.low
        below = v < self.high if self.high_open else v <= self.high
        return above and below

    def fix(self) -> str:
        interval = f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        why = f" ({self.why})" if self.why else ""
        return f"must be {'an integer' if self.kind is int else 'a number'} in {interval}{why}, e.g. {self.example}"


#: every number of the [gate] section and the values it may take (the single list of them: the checks, the
#: known keys and the fixes all come from here)
GATE_NUMBERS: dict[str, Range] = {
    "alpha": Range(float, 0, 0.5, True, True, "0.05"),
    "futility_alpha": Range(float, 0, 0.5, True, True, "0.05"),
    "power": Range(float, 0.5, 1, False, True, "0.8", "the design's power against a drop of δ"),
    "max_infra_error_rate": Range(float, 0, 1, False, True, "0.05", "a fraction of the trials"),
    "permutations": Range(int, 999, 1_000_000, example="9999"),
    "min_scenarios": Range(int, 2, 100_000, example="10", why="a paired test needs two scenarios"),
    "round_size": Range(int, 1, 100_000, example="20", why="scenarios per category per round"),
}
#: every [gate] key that names one of a few choices
GATE_CHOICES: dict[str, tuple[str, ...]] = {"correction": CORRECTIONS, "test": TESTS, "design": DESIGNS}
_GATE_KEYS = {"metrics", "report", "primary", *GATE_NUMBERS, *GATE_CHOICES}
_MARGIN_KEYS = {"default", "metric", "category"}
_DELTA_KEYS = {"default", "metric"}


def finite(v: Any) -> bool:
    """A finite number (a 400-digit integer is not one: no float holds it)."""
    try:
        return math.isfinite(v)
    except OverflowError:
        return False


@dataclass(frozen=True)
class Policy:
    """How a candidate is compared to a baseline; the gate fails when a gated cell regressed."""

    metrics: tuple[str, ...] = ("rca_top1", "rca_score")
    report: tuple[str, ...] = ("rca_top3", "fault_type_correct", "evidence_recall", "distractor_ratio")
    primary: str = "rca_top1"
    alpha: float = 0.05
    correction: str = "holm"
    test: str = "auto"
    permutations: int = 9999
    min_scenarios: int = 10
    max_infra_error_rate: float = 0.05
    margin: float = 0.02
    metric_margins: dict[str, float] = field(default_factory=dict)
    category_margins: dict[str, float] = field(default_factory=dict)
    delta: float = 0.10
    metric_deltas: dict[str, float] = field(default_factory=dict)
    design: str = "auto"
    futility_alpha: float = 0.05
    round_size: int = 20
    power: float = 0.8
    source: str = "<default policy>"

    def margin_for(self, category: str, metric: str) -> float:
        """Margin of one cell: per-category, else per-metric, else the default."""
        if category in self.category_margins:
            return self.category_margins[category]
        return self.metric_margins.get(metric, self.margin)

    def delta_for(self, metric: str) -> float:
        """δ of a metric: the smallest regression that matters (the sequential design's futility bound)."""
        return self.metric_deltas.get(metric, self.delta)

    def lower_is_better(self, metric: str) -> bool:
        """A drop of ``metric`` is an improvement (from the metric catalogue)."""
        return catalogue.lower_is_better(metric)

    def all_metrics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(self.metrics + self.report))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["metrics"], d["report"] = list(self.metrics), list(self.report)
        return d


def default_policy() -> Policy:
    """The policy used when a suite has no ``policy.toml``."""
    return Policy()


def resolve_policy_path(path_or_suite: str | Path) -> Path | None:
    """A policy file path: a file, a folder holding ``policy.toml``, or a bare suite name (``core`` →
    ``<baselines>/core/policy.toml`` of the workspace, :mod:`evalkit.workspace`). None when nothing exists."""
    from evalkit.workspace import Workspace

    p = Path(path_or_suite)
    if p.is_file():
        return p
    if p.is_dir():
        return p / "policy.toml" if (p / "policy.toml").is_file() else None
    if len(p.parts) == 1 and p.suffix == "":
        return Workspace.resolve().policy_path(p.name)
    return None


def policy_for_suite(suite: str) -> Policy:
    """The suite's ``<baselines>/<suite>/policy.toml`` in the workspace when it exists, else the default."""
    from evalkit.workspace import Workspace

    return Workspace.resolve().policy(suite)


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file (or a suite's, by folder or bare name); all problems in one error."""
    resolved = resolve_policy_path(path)
    if resolved is None:
        raise UserError.at(str(path), "", "policy.toml",
                           "no such policy file; create it (see docs/statistics.md) or omit it to use the default")
    where = str(resolved)
    try:
        data = tomllib.loads(resolved.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise UserError.at(where, "", str(err).split("\n")[0], "fix the TOML syntax") from None
    return policy_from_dict(data, where)


def policy_from_dict(data: dict[str, Any], where: str = "<policy>") -> Policy:
    """Validate a parsed policy mapping and build a :class:`Policy`; raises UserError listing every problem."""
    reader = _PolicyReader(data, where)
    kw = reader.read()
    if reader.problems:
        raise UserError(*reader.problems)
    return Policy(**{**asdict(Policy()), **kw})


class _PolicyReader:
    """Reads one policy mapping section by section, collecting every problem (file, field, value, fix) and
    the keyword arguments of the :class:`Policy` it describes."""

    def __init__(self, data: dict[str, Any], where: str) -> None:
        self.where = where
        self.problems: list[Problem] = []
        self.kw: dict[str, Any] = {"source": where}
        for key in data:
            if key not in ("gate", "margins", "deltas"):
                self.bad(key, key, "unknown section; use [gate], [margins] and [deltas]")
        self.deltas = self.table(data, "deltas", _DELTA_KEYS, "unknown key; use default or [deltas.metric]")
        self.gate = self.table(data, "gate", None, "")
        self.margins = self.table(data, "margins", None, "")
        for key in self.gate:
            if key == "mcnemar":
                self.bad("gate.mcnemar", self.gate[key], f"{_MCNEMAR_GONE}; delete this key")
            elif key not in _GATE_KEYS:
                self.bad(f"gate.{key}", key, f"unknown key; known keys: {', '.join(sorted(_GATE_KEYS))}")
        for key in self.margins:
            if key not in _MARGIN_KEYS:
                self.bad(f"margins.{key}", key, "unknown key; use default, [margins.metric] or [margins.category]")

    def bad(self, field: str, value: Any, fix: str) -> None:
        self.problems.append(Problem(self.where, field, value, fix))

    def table(self, data: dict[str, Any], name: str, keys, unknown_fix: str) -> dict[str, Any]:
        """One top-level section as a dict ({} and a problem when it is not a table); unknown keys flagged."""
        value = data.get(name, {})
        if not isinstance(value, dict):
            self.bad(name, value, f"must be a table: [{name}]")
            return {}
        for key in value if keys is not None else ():
            if key not in keys:
                self.bad(f"{name}.{key}", key, unknown_fix)
        return value

    def read(self) -> dict[str, Any]:
        base = Policy()
        self.read_metric_lists(base)
        self.read_gate_values()
        self.read_margins()
        self.read_deltas()
        self.cross_check(base)
        return self.kw

    # ---- [gate] ----------------------------------------------------------------------------------------
    def metric_list(self, key: str) -> tuple[str, ...] | None:
        if key not in self.gate:
            return None
        v = self.gate[key]
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            self.bad(f"gate.{key}", v, 'must be a list of metric names, e.g. ["rca_top1", "rca_score"]')
            return None
        for m in v:
            if not is_known(m):
                self.bad(f"gate.{key}", m, f"unknown metric; use one of {', '.join(METRICS)} or custom.<scorer>.<name>")
        if len(set(v)) != len(v):
            self.bad(f"gate.{key}", v, "lists a metric twice; name each metric once")
        return tuple(v)

    def read_metric_lists(self, base: Policy) -> None:
        metrics, report = self.metric_list("metrics"), self.metric_list("report")
        if metrics is not None:
            if not metrics:
                self.bad("gate.metrics", list(metrics), "gate at least one metric, e.g. [\"rca_top1\"]")
            self.kw["metrics"] = metrics
        if report is not None:
            self.kw["report"] = report
        self.gated = self.kw.get("metrics", base.metrics)
        self.reported = self.kw.get("report", base.report)
        for m in set(self.gated) & set(self.reported):
            self.bad("gate.report", m, "is also in gate.metrics; list each metric in one of them")

    def read_gate_values(self) -> None:
        gate, kw = self.gate, self.kw
        if "primary" in gate:
            v = gate["primary"]
            if not isinstance(v, str) or v not in BINARY:
                self.bad("gate.primary", v, f"must be a binary score ({', '.join(sorted(BINARY))}) for pass/fail flips")
            else:
                kw["primary"] = v
        for key, allowed in GATE_NUMBERS.items():
            if key in gate:
                v = gate[key]
                if not allowed.holds(v):
                    self.bad(f"gate.{key}", v, allowed.fix())
                else:
                    kw[key] = allowed.kind(v)
        for key, choices in GATE_CHOICES.items():
            if key in gate:
                v = gate[key]
                if key == "test" and v == "mcnemar":
                    self.bad("gate.test", v, f"{_MCNEMAR_GONE}; write test = \"auto\"")
                elif not isinstance(v, str) or v not in choices:
                    self.bad(f"gate.{key}", v, f"must be one of {' | '.join(choices)}")
                else:
                    kw[key] = v

    # ---- [margins] and [deltas] ------------------------------------------------------------------------
    def margin_value(self, f: str, v: Any) -> float | None:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not finite(v):
            self.bad(f, v, "must be a number (the tolerated drop in the metric's units), e.g. 0.02")
            return None
        if v < 0:
            self.bad(f, v, "margin must be >= 0 (the tolerated drop, e.g. 0.02 = 2 points)")
            return None
        return float(v)

    def read_margins(self) -> None:
        margins = self.margins
        if "default" in margins:
            v = self.margin_value("margins.default", margins["default"])
            if v is not None:
                self.kw["margin"] = v
        for sub, target in (("metric", "metric_margins"), ("category", "category_margins")):
            table = margins.get(sub, {})
            if not isinstance(table, dict):
                self.bad(f"margins.{sub}", table, f"must be a table: [margins.{sub}]")
                continue
            out: dict[str, float] = {}
            for name, v in table.items():
                if sub == "metric" and not is_known(name):
                    self.bad(f"margins.metric.{name}", name, f"unknown metric; use one of {', '.join(METRICS)}")
                    continue
                mv = self.margin_value(f"margins.{sub}.{name}", v)
                if mv is not None:
                    out[name] = mv
            self.kw[target] = out

    def delta_value(self, f: str, v: Any) -> float | None:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not finite(v) or v <= 0:
            self.bad(f, v, "must be a number > 0 (the smallest drop that matters, e.g. 0.10 = 10 points)")
            return None
        return float(v)

    def read_deltas(self) -> None:
        deltas = self.deltas
        if "default" in deltas:
            v = self.delta_value("deltas.default", deltas["default"])
            if v is not None:
                self.kw["delta"] = v
        dtable = deltas.get("metric", {})
        if not isinstance(dtable, dict):
            self.bad("deltas.metric", dtable, "must be a table: [deltas.metric]")
            dtable = {}
        self.kw["metric_deltas"] = {}
        for name, v in dtable.items():
            if not is_known(name):
                self.bad(f"deltas.metric.{name}", name, f"unknown metric; use one of {', '.join(METRICS)}")
                continue
            dv = self.delta_value(f"deltas.metric.{name}", v)
            if dv is not None:
                self.kw["metric_deltas"][name] = dv

    # ---- rules across sections ---------------------------------------------------------------------------
    def cross_check(self, base: Policy) -> None:
        """Thresholds on the metric's scale, δ above the margin, a margin for every metric off the 0-1 scale."""
        probe = Policy(**{**asdict(base), **self.kw})
        gated, reported = tuple(self.gated), tuple(self.reported)
        off_scale = _unit_scale_thresholds(probe, gated + reported)
        for f, v, metric in off_scale:
            means = (f"would tolerate a drop of {100 * v:.0f} points" if f.startswith("margins")
                     else f"would count only drops of {100 * v:.0f} points or more")
            self.bad(f, v, f"{metric} is a 0-1 score, so {v:g} {means}: give a fraction of its scale, e.g. 0.02 = "
                           "2 points (margins) or 0.10 = 10 points (deltas)")
        said = {f for f, _, _ in off_scale}
        for m in gated:
            d = probe.delta_for(m)
            margin = max([probe.margin_for("", m), *(probe.margin_for(c, m) for c in probe.category_margins)])
            where_d = f"deltas.metric.{m}" if m in probe.metric_deltas else "deltas.default"
            if d <= margin and not off_scale and where_d not in said:
                said.add(where_d)
                self.bad(where_d, d, f"must be larger than the margin of {m} ({margin:g}): δ is the smallest drop "
                                     "that matters, the margin the largest one tolerated")
        for m in gated + reported:
            if is_known(m) and not on_unit_scale(m) and m not in self.kw.get("metric_margins", {}):
                self.bad("margins.metric", m,
                         f"is not on a 0-1 scale; set [margins.metric] {m} = <tolerated change in its units>")


def _unit_scale_thresholds(pol: Policy, metrics: tuple[str, ...]) -> list[tuple[str, float, str]]:
    """(field, value, metric) of every margin >= 0.5 or δ >= 1 that applies to a 0–1 metric: almost surely
    points written where a fraction belongs (5 for 5 points), under which nothing could ever regress."""
    out: list[tuple[str, float, str]] = []
    for m in metrics:
        if not on_unit_scale(m):
            continue
        field_ = f"margins.metric.{m}" if m in pol.metric_margins else "margins.default"
        if pol.margin_for("", m) >= 0.5:
            out.append((field_, pol.margin_for("", m), m))
        out += [(f"margins.category.{c}", v, m) for c, v in pol.category_margins.items() if v >= 0.5]
        field_ = f"deltas.metric.{m}" if m in pol.metric_deltas else "deltas.default"
        if pol.delta_for(m) >= 1.0:
            out.append((field_, pol.delta_for(m), m))
    # one line per field: the same default margin applies to every 0-1 metric
    return list({f: (f, v, m) for f, v, m in reversed(out)}.values())[::-1]
