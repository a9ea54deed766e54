"""Gate policy per suite (``baselines/<suite>/policy.toml``): what is gated, margins, α, correction, tests.

Every problem in a policy file is reported at once, one line each (file, field, value, fix). Every value is
range-checked against what it means: the [gate] numbers against :data:`GATE_NUMBERS`, a margin on a 0–1 metric
in [0, 0.5) and below that metric's δ, δ in (0, 1). Without a file the default policy applies (see
docs/statistics.md for where its numbers come from).
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError, create_model

from evalkit.errors import Problem, UserError
from evalkit.file_models import STRICT, Fix, read_model
from evalkit.score import catalogue
from evalkit.score.catalogue import BINARY, METRICS, is_known, on_unit_scale
from evalkit.vocab import Correction, Design, GateTest, values
from evalkit.workspace import POLICY_FILE, Workspace

TESTS = values(GateTest)
CORRECTIONS = values(Correction)
#: conditional McNemar (gate.test = "mcnemar", gate.mcnemar = midp | exact) was removed: at a non-zero margin it
#: treats the number of flips as fixed and exceeds its level when flips go one way (docs/statistics.md §2)
_MCNEMAR_GONE = ("the conditional McNemar test was removed: it exceeds its level at a non-zero margin when flips "
                 "go one way; binary one-trial cells now use the mid-p MOVER test (test = \"auto\")")
#: auto: the sequential design on pool suites (generated, can always grow), the fixed one otherwise
DESIGNS = values(Design)


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

    def annotation(self) -> Any:
        """The pydantic type of a value in this range (strict: no coercion, no inf/nan), with its fix."""
        low, high = (self.low, None), (self.high, None)
        gt, ge = low if self.low_open else low[::-1]
        lt, le = high if self.high_open else high[::-1]
        return Annotated[self.kind, Field(strict=True, allow_inf_nan=False, gt=gt, ge=ge, lt=lt, le=le),
                         Fix(self.fix())]

    @cached_property
    def _adapter(self) -> TypeAdapter:
        return TypeAdapter(self.annotation())

    def holds(self, v: Any) -> bool:
        """Whether ``v`` is a value of this range (the check the policy file's schema makes)."""
        try:
            self._adapter.validate_python(v)
        except ValidationError:
            return False
        return True

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


@dataclass(frozen=True)
class Policy:
    """How a candidate is compared to a baseline; the gate fails when a gated cell regressed."""

    metrics: tuple[str, ...] = ("rca_top1", "rca_score")
    report: tuple[str, ...] = ("rca_top3", "fault_type_correct", "evidence_recall", "distractor_ratio")
    primary: str = "rca_top1"
    alpha: float = 0.05
    correction: str = Correction.HOLM.value
    test: str = GateTest.AUTO.value
    permutations: int = 9999
    min_scenarios: int = 10
    max_infra_error_rate: float = 0.05
    margin: float = 0.02
    metric_margins: dict[str, float] = field(default_factory=dict)
    category_margins: dict[str, float] = field(default_factory=dict)
    delta: float = 0.10
    metric_deltas: dict[str, float] = field(default_factory=dict)
    design: str = Design.AUTO.value
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
    p = Path(path_or_suite)
    if p.is_file():
        return p
    if p.is_dir():
        return p / POLICY_FILE if (p / POLICY_FILE).is_file() else None
    if len(p.parts) == 1 and p.suffix == "":
        return Workspace.resolve().policy_path(p.name)
    return None


def policy_for_suite(suite: str) -> Policy:
    """The suite's ``<baselines>/<suite>/policy.toml`` in the workspace when it exists, else the default."""
    return Workspace.resolve().policy(suite)


def load_policy(path: str | Path) -> Policy:
    """Read and validate a policy file (or a suite's, by folder or bare name); all problems in one error."""
    resolved = resolve_policy_path(path)
    if resolved is None:
        raise UserError.at(str(path), "file", "missing", "no such policy file; create it (its format: "
                           "docs/statistics.md in evalkit's repository) or omit it to use the default")
    where = str(resolved)
    try:
        data = tomllib.loads(resolved.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise UserError.at(where, "", str(err).split("\n")[0], "fix the TOML syntax") from None
    return policy_from_dict(data, where)


def policy_from_dict(data: dict[str, Any], where: str = "<policy>") -> Policy:
    """Validate a parsed policy mapping and build a :class:`Policy`; raises UserError listing every problem."""
    problems: list[Problem] = []
    data = _without_unknown_metrics(_without_mcnemar(data, where, problems), where, problems)
    parsed, schema_problems = read_model(PolicyFile, data, where, _unknown_key_fix)
    problems += schema_problems
    kw = _checked_values(parsed or PolicyFile(), where, problems)  # every field has a default: never None
    policy = Policy(**kw, source=where)
    _cross_check(policy, where, problems)
    if problems:
        raise UserError(*problems)
    return policy


# ---- the file's schema: types, ranges and fixes, declared once -------------------------------------------
_METRIC_LIST = Fix('must be a list of metric names, e.g. ["rca_top1", "rca_score"]')
_MARGIN = Fix("must be a number (the tolerated drop in the metric's units), e.g. 0.02",
              {"greater_than_equal": "margin must be >= 0 (the tolerated drop, e.g. 0.02 = 2 points)"})
_DELTA = Fix("must be a number > 0 (the smallest drop that matters, e.g. 0.10 = 10 points)")
_Margin = Annotated[float, Field(ge=0)]
_Delta = Annotated[float, Field(gt=0)]

#: the [gate] table: the metric lists, the primary score, :data:`GATE_NUMBERS` and :data:`GATE_CHOICES`
_GATE_FIELDS: dict[str, Any] = {
    "metrics": (Annotated[list[str], _METRIC_LIST], list(Policy.metrics)),
    "report": (Annotated[list[str], _METRIC_LIST], list(Policy.report)),
    "primary": (Annotated[str, Fix(f"must be a binary score ({', '.join(sorted(BINARY))}) for pass/fail flips")],
                Policy.primary),
    **{key: (allowed.annotation(), getattr(Policy, key)) for key, allowed in GATE_NUMBERS.items()},
    **{key: (Annotated[Literal[choices], Fix(f"must be one of {' | '.join(choices)}")], getattr(Policy, key))
       for key, choices in GATE_CHOICES.items()},
}
GateTable = create_model("GateTable", __config__=STRICT, **_GATE_FIELDS)


class MarginsTable(BaseModel):
    """[margins]: the tolerated drop, by default, per metric and per category (most specific wins)."""

    model_config = STRICT
    default: Annotated[_Margin, _MARGIN] = Policy.margin
    metric: Annotated[dict[str, _Margin], _MARGIN] = {}
    category: Annotated[dict[str, _Margin], _MARGIN] = {}


class DeltasTable(BaseModel):
    """[deltas]: δ, the smallest drop that matters, by default and per metric."""

    model_config = STRICT
    default: Annotated[_Delta, _DELTA] = Policy.delta
    metric: Annotated[dict[str, _Delta], _DELTA] = {}


class PolicyFile(BaseModel):
    """A whole ``policy.toml``."""

    model_config = STRICT
    gate: GateTable = GateTable()  # type: ignore[valid-type]
    margins: MarginsTable = MarginsTable()
    deltas: DeltasTable = DeltasTable()


_UNKNOWN = {(): "unknown section; use [gate], [margins] and [deltas]",
            ("margins",): "unknown key; use default, [margins.metric] or [margins.category]",
            ("deltas",): "unknown key; use default or [deltas.metric]",
            ("gate",): f"unknown key; known keys: {', '.join(sorted(GateTable.model_fields))}"}


def _unknown_key_fix(path: tuple[str, ...], key: str) -> tuple[object, str]:
    return key, _UNKNOWN.get(path, "unknown key")


def _without_mcnemar(data: dict[str, Any], where: str, problems: list[Problem]) -> dict[str, Any]:
    """The removed McNemar settings (``test = "mcnemar"``, a ``mcnemar`` key) get their own fix, not the list
    of choices or of known keys."""
    gate = data.get("gate")
    if not isinstance(gate, dict) or not ("mcnemar" in gate or gate.get("test") == "mcnemar"):
        return data
    if gate.get("test") == "mcnemar":
        problems.append(Problem(where, "gate.test", "mcnemar", f"{_MCNEMAR_GONE}; write test = \"auto\""))
    if "mcnemar" in gate:
        problems.append(Problem(where, "gate.mcnemar", gate["mcnemar"], f"{_MCNEMAR_GONE}; delete this key"))
    kept = {k: v for k, v in gate.items() if k != "mcnemar" and not (k == "test" and v == "mcnemar")}
    return {**data, "gate": kept}


# ---- what the schema cannot say: known metric names, each listed once, a binary primary ---------------------
def _checked_values(parsed: Any, where: str, problems: list[Problem]) -> dict[str, Any]:
    """The Policy keyword arguments of a schema-valid file, after the checks of metric names."""
    gate, margins, deltas = parsed.gate, parsed.margins, parsed.deltas
    kw: dict[str, Any] = {key: getattr(gate, key) for key in (*GATE_NUMBERS, *GATE_CHOICES)}
    for key in ("metrics", "report"):
        names = getattr(gate, key)
        problems += [Problem(where, f"gate.{key}", m, f"unknown metric; use one of {', '.join(METRICS)} or "
                             "custom.<scorer>.<name>") for m in names if not is_known(m)]
        if len(set(names)) != len(names):
            problems.append(Problem(where, f"gate.{key}", names, "lists a metric twice; name each metric once"))
        kw[key] = tuple(names)
    if not kw["metrics"]:
        problems.append(Problem(where, "gate.metrics", [], "gate at least one metric, e.g. [\"rca_top1\"]"))
    problems += [Problem(where, "gate.report", m, "is also in gate.metrics; list each metric in one of them")
                 for m in set(kw["metrics"]) & set(kw["report"])]
    if gate.primary in BINARY:
        kw["primary"] = gate.primary
    else:
        problems.append(Problem(where, "gate.primary", gate.primary, GateTable.model_fields["primary"].metadata[0].text))
    kw.update(margin=margins.default, delta=deltas.default, category_margins=dict(margins.category),
              metric_margins=dict(margins.metric), metric_deltas=dict(deltas.metric))
    return kw


def _without_unknown_metrics(data: dict[str, Any], where: str, problems: list[Problem]) -> dict[str, Any]:
    """[margins.metric] and [deltas.metric] without the names no metric has, each a problem (the name is what
    is wrong there, whatever its value)."""
    out = dict(data)
    for section in ("margins", "deltas"):
        table = data.get(section)
        if not isinstance(table, dict) or not isinstance(table.get("metric"), dict):
            continue
        sub: dict[str, Any] = table["metric"]
        problems += [Problem(where, f"{section}.metric.{name}", name, f"unknown metric; use one of {', '.join(METRICS)}")
                     for name in sub if not is_known(name)]
        out[section] = {**table, "metric": {name: v for name, v in sub.items() if is_known(name)}}
    return out


# ---- rules across sections -----------------------------------------------------------------------------------
def _cross_check(probe: Policy, where: str, problems: list[Problem]) -> None:
    """Thresholds on the metric's scale, δ above the margin, a margin for every metric off the 0-1 scale."""
    gated, reported = probe.metrics, probe.report
    off_scale = _unit_scale_thresholds(probe, gated + reported)
    for f, v, metric in off_scale:
        means = (f"would tolerate a drop of {100 * v:.0f} points" if f.startswith("margins")
                 else f"would count only drops of {100 * v:.0f} points or more")
        problems.append(Problem(where, f, v, f"{metric} is a 0-1 score, so {v:g} {means}: give a fraction of its "
                                "scale, e.g. 0.02 = 2 points (margins) or 0.10 = 10 points (deltas)"))
    said = {f for f, _, _ in off_scale}
    for m in gated:
        d = probe.delta_for(m)
        margin = max([probe.margin_for("", m), *(probe.margin_for(c, m) for c in probe.category_margins)])
        where_d = f"deltas.metric.{m}" if m in probe.metric_deltas else "deltas.default"
        if d <= margin and not off_scale and where_d not in said:
            said.add(where_d)
            problems.append(Problem(where, where_d, d, f"must be larger than the margin of {m} ({margin:g}): δ is the "
                                    "smallest drop that matters, the margin the largest one tolerated"))
    for m in gated + reported:
        if is_known(m) and not on_unit_scale(m) and m not in probe.metric_margins:
            problems.append(Problem(where, "margins.metric", m,
                                    f"is not on a 0-1 scale; set [margins.metric] {m} = <tolerated change in its units>"))


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
