"""Candidate builds for the gate tests (importable as ``fakes.gate_agents``).

``monitor_focus`` is the broken build the gate exists to catch: it names the alerting monitor's service as
the root cause every time. That is right when the alert fires on the cause itself (bad deploy, feature flag,
traffic surge, timeout chain) and wrong whenever the cause lies downstream (OOM, throttling, databases,
Kafka, network, disk, external dependencies). ``flaky_endpoint`` loses a share of its investigations to an
unreachable model endpoint, an infrastructure failure that must make a run invalid, not a regression.
"""

from __future__ import annotations

import zlib

from evalkit.agents.base import EndpointUnreachable, Finding, Hypothesis

#: the fault a monitor-focused investigator assumes when the alerting service has a recent change of a kind.
_FAULT_BY_EVENT = {"deploy": "bad_deploy", "feature_flag": "bad_feature_flag", "config_change": "timeout_chain"}
#: ... and when it has none, from the alerting metric.
_FAULT_BY_METRIC = {"error_rate_pct": "bad_deploy", "latency_p99_ms": "timeout_chain",
                    "requests_per_s": "traffic_surge"}


def monitor_focus(alert, toolbox, seed):
    """Blame the alerting service; pick the fault from its recent change events, else from the alert metric."""
    component = alert["component"]
    events = toolbox.list_events(component=component)
    kinds = [e.get("kind", "") for e in events] if isinstance(events, list) else []
    fault = next((_FAULT_BY_EVENT[k] for k in reversed(kinds) if k in _FAULT_BY_EVENT),
                 _FAULT_BY_METRIC.get(alert.get("metric", ""), "bad_deploy"))
    evidence = [f"monitor:{component}", f"metric:{component}:{alert.get('metric', 'error_rate_pct')}"]
    if kinds:
        evidence.append(f"events:{component}")
    return Finding([Hypothesis(component, fault, 0.9, evidence)],
                   f"{alert.get('monitor', 'the monitor')} fired on {component}: blaming {component} ({fault})")


monitor_focus.deterministic = True


def flaky_endpoint(alert, toolbox, seed):
    """Like ``monitor_focus``, but about one alert in five cannot reach its (pretend) model endpoint."""
    if zlib.crc32(str(alert.get("monitor", "")).encode()) % 5 == 0:
        raise EndpointUnreachable("model endpoint http://127.0.0.1:9/v1 refused the connection")
    return monitor_focus(alert, toolbox, seed)


flaky_endpoint.deterministic = True


#: every investigation ``counted_monitor_focus`` ran in this process, as (scenario alert monitor, seed)
INVESTIGATIONS: list[tuple[str, int]] = []


def counted_monitor_focus(alert, toolbox, seed):
    """``monitor_focus`` that also records each investigation (run it with the threads executor)."""
    INVESTIGATIONS.append((str(alert.get("monitor", "")), int(seed)))
    return monitor_focus(alert, toolbox, seed)


counted_monitor_focus.deterministic = True
