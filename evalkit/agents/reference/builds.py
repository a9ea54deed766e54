"""Feature flags of the reference investigator and its named builds (``reference:<version>``).

A build is a named set of flag values; every flag changes *how* the investigator works (what it
looks at first, how it weighs evidence), never what it knows: it only ever sees the alert and the
Toolbox.
"""

from __future__ import annotations

import contextlib
from dataclasses import asdict, dataclass, fields, replace

from evalkit.errors import Problem, UserError


@dataclass(frozen=True)
class Flags:
    """How one reference build investigates.

    Attributes:
        call_budget: tool calls the investigator plans to use (capped by ``Toolbox.max_calls``).
        metrics_per_component: most metric series it queries per inspected component.
        log_reads: how many anomalous services' own logs it reads while exploring.
        exploration_temperature: spread of the seeded Gumbel noise on exploration priorities and
            metric choice (0 = a fixed order; larger = trials vary more).
        victim_discount: how much of a component's evidence is explained away when something it
            depends on is itself anomalous (the "deepest anomaly is the cause" rule).
        explain_floor: anomaly strength at which a dependency fully explains its dependents; a weaker
            anomaly explains them only in proportion (low = any anomalous dependency, even a
            transient blip, takes the blame).
        monitor_focus: put the alerting monitor's service into the initial context: the walk starts
            there (instead of at the system's entry points), inspects it first and most thoroughly,
            stays near it, and prefers it as the answer.
        monitor_prior: with ``monitor_focus``, score added to the alerting service.
        anchor_discount: with ``monitor_focus``, the (weaker, proportional) victim discount of the
            alerting service: an anchored investigator half-believes that a dependency explains it.
        focus_hop_cost: with ``monitor_focus``, how much less promising each hop away from the
            alerting service makes a component.
        change_correlation: rank components with a recent change event (deploy, config change,
            feature flag) higher, both when choosing what to inspect and when ranking hypotheses.
        change_weight: with ``change_correlation``, score added for a change right at the onset
            (decaying linearly over ``change_window_s``).
        change_window_s: how long before the incident onset a change still counts as recent.
        follow_symptom: read the alert's own metric first on each component and move on as soon as
            it shows no symptom there (the trail of a symptom runs through the components that show it).
        read_traces: use trace span summaries (error origin, own-time growth).
        read_logs: use error logs (error bursts, who is blamed, fault wording).
    """

    call_budget: int = 34
    metrics_per_component: int = 3
    log_reads: int = 2
    exploration_temperature: float = 0.12
    victim_discount: float = 0.85
    explain_floor: float = 0.3
    monitor_focus: bool = False
    monitor_prior: float = 0.48
    anchor_discount: float = 0.5
    focus_hop_cost: float = 0.4
    change_correlation: bool = False
    change_weight: float = 0.4
    change_window_s: int = 3600
    follow_symptom: bool = False
    read_traces: bool = True
    read_logs: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


#: version -> flag values that differ from :class:`Flags` defaults (``reference:<version>``).
REFERENCE_BUILDS: dict[str, dict] = {
    # The baseline investigator: surveys from the system's entry points, follows anomalies down the
    # dependency graph, scores metrics against the pre-incident window, reads logs and traces, and
    # blames the deepest anomalous component.
    "v1": {},
    # v1 + monitor-service focus: the alerting monitor's service goes into the initial context and
    # is preferred as a hypothesis (helps when the alerting service is the cause, anchors on the
    # symptom when the cause lies downstream).
    "v2": {"monitor_focus": True},
    # v1 + change-event correlation weighting: recently deployed / reconfigured / flag-flipped
    # components are inspected first and ranked higher (helps deploy/flag incidents, misleads when
    # an unrelated deploy co-occurs).
    "v3": {"change_correlation": True},
    # v1 + symptom following: the alert's own metric is read first on every component, and a component
    # where it shows nothing is left at once (more components inspected under the same call budget;
    # helps on sparse real telemetry, misses faults that show in a different signal than the alert's).
    "v4": {"follow_symptom": True},
}

_FLAG_TYPES = {f.name: f.type for f in fields(Flags)}


def flags_for(version: str, **overrides: object) -> Flags:
    """The flags of build ``version`` with ``overrides`` applied; UserError on an unknown version/flag."""
    problems: list[Problem] = []
    if version not in REFERENCE_BUILDS:
        problems.append(Problem("agent spec", "reference version", version,
                                f"use one of {', '.join(sorted(REFERENCE_BUILDS))}"))
    for name, value in overrides.items():
        if name not in _FLAG_TYPES:
            problems.append(Problem(f"reference:{version}", "flag", name,
                                    f"known flags are {', '.join(sorted(_FLAG_TYPES))}"))
            continue
        kind = _FLAG_TYPES[name]
        value = overrides[name] = _coerce(value, str(kind))
        ok = {"bool": isinstance(value, bool),
              "int": isinstance(value, int) and not isinstance(value, bool),
              "float": isinstance(value, (int, float)) and not isinstance(value, bool)}.get(str(kind), True)
        if not ok:
            problems.append(Problem(f"reference:{version}", name, value, f"must be a {kind}"))
    if problems:
        raise UserError(*problems)
    merged = {**REFERENCE_BUILDS[version], **overrides}
    if "exploration_temperature" in merged:
        merged["exploration_temperature"] = float(merged["exploration_temperature"])
    return replace(Flags(), **merged)


def _coerce(value: object, kind: str) -> object:
    """Accept flag values given as text (``--agent-option monitor_prior=0.6``)."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    with contextlib.suppress(ValueError):  # not a number: kept as given, for flags_for to report
        if kind == "bool" and text in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
            return text in {"true", "1", "yes", "on"}
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    return value
