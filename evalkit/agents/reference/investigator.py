"""The reference investigator: a heuristic SRE that reads the alert and follows the evidence.

One investigation: read the alert, the components and the topology; date the incident onset from
the alerting metric; pull change events, alerting monitors, error logs and trace summaries; then
inspect components most promising first (following anomalies down the dependency graph), scoring
their metrics against the pre-incident window with robust statistics. The component with the
strongest anomaly that nothing it depends on explains ranks first. Exploration order and metric
choice use seeded Gumbel noise, so trials differ plausibly while a seed reproduces its finding.

Where the walk starts is a build choice: by default the investigator knows *what* alerted and *when*
and surveys the system from its entry points down; with ``monitor_focus`` the alerting monitor's
service is its initial context, explored first and preferred as the answer.
It never sees the scenario, only the Toolbox.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evalkit.agents.base import BuildId, Finding, Hypothesis
from evalkit.agents.reference.anomaly import SeriesAnomaly, level_shift, metric_tier
from evalkit.agents.reference.builds import Flags, flags_for
from evalkit.agents.reference.evidence import (
    Change, LogEvidence, TraceEvidence, error_origins, latency_origins, names_in, recent_changes,
    summarise_logs,
)
from evalkit.agents.reference.faults import ComponentEvidence, classify, infra_hints
from evalkit.agents.reference.graph import DependencyGraph
from evalkit.world.toolbox import Toolbox, ToolError, metric_arrays

#: calls kept back for the final deep dive into the leading hypotheses.
_DEEP_DIVE_CALLS = 2
#: a shift in a traffic-volume metric is weaker evidence of a fault *at* that component.
_LOAD_WEIGHT = 0.5
#: a fall in a fault signal or latency (errors clearing, a backlog draining) is weak evidence of a fault there.
_RECOVERY_WEIGHT = 0.25
#: with ``follow_symptom``: how far the alert's own metric jumps ahead when choosing what to read, and
#: the strength below which that metric counts as showing no symptom.
_SYMPTOM_BONUS = 1.5
_NO_SYMPTOM = 0.05
#: weight of a component's own metric anomaly against indirect evidence (traces, logs) when ranking.
_METRIC_WEIGHT = 2.1


class _OutOfBudget(Exception):
    """The investigator's own call plan is used up."""


@dataclass
class Inspection:
    """Metrics of one component scored against its pre-incident window."""

    component: str
    anomalies: dict[str, SeriesAnomaly] = field(default_factory=dict)
    weighted: dict[str, float] = field(default_factory=dict)

    @property
    def strength(self) -> float:
        return max(self.weighted.values(), default=0.0)

    def explains(self) -> float:
        """How well this component's anomalies explain trouble in what depends on it: only fault signals and
        latency do (its traffic or resource use going up is as likely a consequence as a cause)."""
        return max((w for m, w in self.weighted.items() if metric_tier(m) >= 2), default=0.0)


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of the investigator's source: a code change yields a new build id, so journals and baselines
    of the old code are never mixed with the new one."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()[:12]


class ReferenceAgent:
    """The built-in reference investigator; ``version`` names a build in ``REFERENCE_BUILDS``."""

    def __init__(self, version: str = "v1", **flag_overrides: object):
        self.version = version
        self.flags: Flags = flags_for(version, **flag_overrides)
        self.build = BuildId("reference", version, config={**self.flags.to_dict(), "code": code_fingerprint()})

    def investigate(self, alert: dict, toolbox: Toolbox, seed: int) -> Finding:
        """Investigate ``alert`` through ``toolbox``; the seed drives exploration order and metric choice."""
        return Investigation(self.flags, toolbox, alert, seed).run()

    def __repr__(self) -> str:
        return f"ReferenceAgent({self.version!r})"


class Investigation:
    """State of one investigation (one alert, one toolbox, one seed)."""

    def __init__(self, flags: Flags, toolbox: Toolbox, alert: dict, seed: int):
        self.flags = flags
        self.tb = toolbox
        self.alert = dict(alert or {})
        self.rng = np.random.default_rng(int(seed) % 2**63)
        self.budget = max(0, min(flags.call_budget, toolbox.calls_left))
        self.used = 0
        self.ac = ""
        self.kinds: dict[str, str] = {}
        self.graph = DependencyGraph()
        self.metric_names: dict[str, list[str]] = {}
        self.names_by_kind: dict[str, list[str]] = {}
        self.inspected: dict[str, Inspection] = {}
        self.visited: set[str] = set()
        self.logs = LogEvidence()
        self.traces = TraceEvidence()
        self.changes: dict[str, list[Change]] = {}
        self.symptoms: dict[str, list[str]] = {}      # component -> k8s events (OOMKilled, probes...)
        self.alerting: set[str] = set()
        self.hints: dict[str, float] = {}
        self.messages: dict[str, list[str]] = {}
        self.looked_at: dict[str, set[str]] = {}
        self.dist: dict[str, int] = {}
        self.event_refs: set[str] = set()
        self.logs_read: set[str] = set()
        self.local_hints: dict[str, dict[str, float]] = {}   # component -> kind hints from its own logs
        self.pointed: dict[str, float] = {}                  # named in a suspect's own logs

    # --- tool access under the investigator's own budget ---------------------------------------
    def _call(self, tool: str, **args: object):
        if self.used >= self.budget:
            raise _OutOfBudget
        self.used += 1
        try:
            return self.tb.call(tool, {k: v for k, v in args.items() if v is not None})
        except ToolError:
            return None

    @property
    def left(self) -> int:
        return self.budget - self.used

    # --- the investigation ----------------------------------------------------------------------
    def run(self) -> Finding:
        with contextlib.suppress(_OutOfBudget):  # a spent call plan ends the step: rank what was seen
            self._orient()
            self._gather()
            self._explore()
        ranked = self._rank()
        with contextlib.suppress(_OutOfBudget):
            self._deep_dive([c for c, _ in ranked[:2]])
        return self._finding(ranked)

    def _orient(self) -> None:
        """Alert, components, topology and the incident onset (from the alerting metric)."""
        got = self._call("get_alert")
        if isinstance(got, dict) and got:
            self.alert = got
        self.ac = str(self.alert.get("component") or "")
        self.fired = int(self.alert.get("fired_at") or 0)
        comps = self._call("list_components") or []
        self.kinds = {c["name"]: str(c.get("kind") or "") for c in comps}
        topo = self._call("get_topology") or {"edges": []}
        self.graph = DependencyGraph.from_topology(topo.get("edges", []), self.kinds)
        self.onset = self.fired
        self.window = (self.fired - 3600, self.fired + 1800)
        self.step = 60
        metric = self.alert.get("metric")
        if self.ac in self.kinds and metric:
            res = self._call("query_metric", component=self.ac, metric=metric)
            if res and res["timestamps"]:
                ts, vals = metric_arrays(res)
                self.step = int(ts[1] - ts[0]) if len(ts) > 1 else 60
                self.window = (int(ts[0]), int(ts[-1]) + self.step)
                a = level_shift(ts, vals, latest_onset=self.fired or None)
                self.onset = a.onset if abs(a.z) >= 3 and a.onset is not None else self.fired - 5 * self.step
                self._record(self.ac, metric, a)
        if not self.fired:
            self.fired = self.onset

    def _gather(self) -> None:
        """Change events, alerting monitors, error logs and trace summaries (one or a few calls each)."""
        events = self._call("list_events") or []
        svc = self.graph.service_of
        self.event_refs = {str(ev.get("component")) for ev in events}
        self.changes = {}
        for c, chs in recent_changes(events, self.onset, self.flags.change_window_s).items():
            self.changes.setdefault(svc(c), []).extend(chs)
        for ev in events:
            if ev.get("kind") == "k8s-event" and self.onset - 600 <= ev["ts"]:
                self.symptoms.setdefault(svc(ev.get("component", "")), []).append(str(ev.get("summary", "")))
        monitors = self._call("list_monitors", state="ALERT") or []
        self.alerting = {svc(m["component"]) for m in monitors if m.get("component")}
        if self.flags.read_logs:
            res = self._call("search_logs", level="ERROR", limit=500)
            if res:
                self.logs = _fold_pods(summarise_logs(res["records"], self.onset, self.window, list(self.kinds)), svc)
                for c, msgs in self.logs.messages.items():
                    self.messages.setdefault(c, []).extend(msgs)
                for r in res["records"]:
                    if self.logs.burst.get(svc(r["component"])):
                        self.looked_at.setdefault(svc(r["component"]), set()).add(f"logs:{r['component']}")
                # only the wording of components whose errors jumped at the onset (not steady noise)
                self.hints = infra_hints([m for c, msgs in self.logs.messages.items() if self.logs.burst.get(c)
                                          for m in msgs])
        if self.flags.read_traces:
            failed = self._call("get_traces", errors_only=True, start=self.onset, limit=200)
            after = self._call("get_traces", start=self.onset, limit=100)
            before = self._call("get_traces", end=self.onset, limit=100) if after and after["traces"] else None
            self.traces = TraceEvidence(
                error_origins(failed["traces"]) if failed else {},
                latency_origins(before["traces"] if before else [], after["traces"] if after else []),
            )

    # --- exploration ----------------------------------------------------------------------------
    def _roots(self) -> list[str]:
        if self.flags.monitor_focus and self.ac:
            return [self.graph.service_of(self.ac)]
        return self.graph.entry_points() or ([self.ac] if self.ac else [])

    def _change_score(self, c: str) -> float:
        return max((ch.recency(self.onset, self.flags.change_window_s) for ch in self.changes.get(c, ())),
                   default=0.0)

    def _pointers(self, c: str) -> float:
        """Indirect evidence about ``c`` (trace attribution, error logs), discounted once its metrics
        were read and showed nothing: looking beats hearsay."""
        e = (1.0 * self.traces.error_origin.get(c, 0.0) + 1.0 * self.traces.latency_origin.get(c, 0.0)
             + 0.6 * self.logs.burst.get(c, 0.0) + 0.8 * self.logs.mentioned.get(c, 0.0)
             + 0.8 * self.pointed.get(c, 0.0))
        insp = self.inspected.get(c)
        if insp is not None and c in self.visited and insp.strength < 0.1:
            e *= 0.3
        return e

    def _evidence_prior(self, c: str) -> float:
        """What the global evidence (traces, logs, monitors, log wording) says about ``c``."""
        kind = self.kinds.get(c, "")
        hint = max([self.hints.get(kind, 0.0)] + [self.local_hints.get(u, {}).get(kind, 0.0)
                                                   for u in self.graph.users.get(c, ())])
        return self._pointers(c) + 0.4 * (c in self.alerting) + 0.8 * hint

    def _prior(self, c: str) -> float:
        """How promising a component looks before its metrics are read."""
        f = self.flags
        # a focused investigation stays near its starting point; a survey only mildly prefers the surface
        hop = f.focus_hop_cost if f.monitor_focus else 0.15
        p = -hop * self.dist.get(c, 9) + self._evidence_prior(c)
        if f.change_correlation:
            p += 2.0 * f.change_weight * self._change_score(c)
        if f.monitor_focus and c == self.ac:
            p += 5.0
        return p

    def _explore(self) -> None:
        """Inspect candidates best-first; an anomalous component makes what it depends on more promising."""
        self.dist = self.graph.distances(self._roots())
        names = sorted(c for c in self.dist if c in self.kinds and c not in self.graph.pod_of)
        noise = dict(zip(names, self.rng.gumbel(size=len(names)) * self.flags.exploration_temperature))
        follow = {c: 0.0 for c in names}
        while self.left > _DEEP_DIVE_CALLS:
            pending = [c for c in names if c not in self.visited]
            if not pending:
                break
            c = max(pending, key=lambda x: self._prior(x) + follow[x] + noise[x])
            self._inspect(c)
            insp = self.inspected.get(c)
            s = insp.explains() if insp else 0.0
            if (s >= 0.5 and self.kinds.get(c) in ("service", "gateway") and len(self.logs_read) < self.flags.log_reads
                    and self.left > _DEEP_DIVE_CALLS + 1):
                self._read_logs(c)
            for d in self.graph.deps.get(c, ()):
                if d in follow:
                    follow[d] += 1.2 * s - 0.3

    def _inspect(self, c: str) -> None:
        """Query the most telling metrics of ``c`` and score each against the pre-incident window."""
        self.visited.add(c)
        names = self._metrics_of(c)
        done = set(self.inspected[c].anomalies) if c in self.inspected else set()
        todo = [m for m in names if m not in done]
        if not todo:
            return
        tiers = np.array([metric_tier(m) for m in todo], dtype=float)
        # every telling metric (fault signals, latency) up to the per-component cap, at least two
        k = min(max(2, int(np.sum(tiers >= 2))), self.flags.metrics_per_component)
        if self.flags.monitor_focus and c == self.ac:
            k = self.flags.metrics_per_component + 2     # the service in the initial context: read it all
        keys = tiers + self.rng.gumbel(size=len(todo)) * self.flags.exploration_temperature
        metric = str(self.alert.get("metric") or "")
        if self.flags.follow_symptom:   # the alert's own metric first: the symptom's trail runs through it
            keys += _SYMPTOM_BONUS * np.array([m == metric for m in todo], dtype=float)
        for i in np.argsort(-keys, kind="stable")[:k]:
            if self.left <= _DEEP_DIVE_CALLS:
                break
            m = todo[int(i)]
            res = self._call("query_metric", component=c, metric=m)
            if not res:
                # names guessed from a component of the same kind did not fit: ask for this one's
                if c not in self.metric_names:
                    self.metric_names[c] = [x["metric"] for x in (self._call("list_metrics", component=c) or [])]
                continue
            self._record(c, m, level_shift(*metric_arrays(res), latest_onset=self.fired))
            if (self.flags.follow_symptom and m == metric and c != self.ac
                    and self.inspected[c].weighted[m] < _NO_SYMPTOM):
                break   # the alert's own symptom is absent here: the trail does not run through c

    def _metrics_of(self, c: str) -> list[str]:
        if c in self.metric_names:
            return self.metric_names[c]
        kind = self.kinds.get(c, "")
        if kind in self.names_by_kind:             # same kind, same metrics (checked when queried)
            return self.names_by_kind[kind]
        got = self._call("list_metrics", component=c) or []
        self.metric_names[c] = [x["metric"] for x in got]
        self.names_by_kind.setdefault(kind, self.metric_names[c])
        return self.metric_names[c]

    def _record(self, c: str, metric: str, a: SeriesAnomaly) -> None:
        insp = self.inspected.setdefault(c, Inspection(c))
        insp.anomalies[metric] = a
        w = a.strength * self._timing(a.onset)
        tier = metric_tier(metric)
        if tier >= 2 and a.z < 0:
            w *= _RECOVERY_WEIGHT       # errors or latency going *down* is a recovery, not a fault
        insp.weighted[metric] = w * (_LOAD_WEIGHT if tier == 0 else 1.0)
        self.looked_at.setdefault(c, set()).add(f"metric:{c}:{metric}")

    def _timing(self, onset: int | None) -> float:
        """A shift that began long before the incident, or after the alert fired, is weaker evidence."""
        if onset is None:
            return 1.0
        if onset > self.fired + 2 * self.step:
            return 0.35
        if onset < self.onset - 30 * self.step:
            return 0.5
        return 1.0

    # --- ranking --------------------------------------------------------------------------------
    def _rank(self) -> list[tuple[str, float]]:
        """Score every candidate: unexplained anomaly + trace/log evidence (+ the build's preferences)."""
        f = self.flags
        cands = set(self.inspected) | {c for c in self.dist if self._evidence_prior(c) > 0}
        cands = {self.graph.service_of(c) for c in cands if c in self.kinds} or ({self.ac} if self.ac else set())
        scores = {}
        for c in cands:
            insp = self.inspected.get(c)
            # evidence adds up but saturates: two strong signals are not twice as convincing as one
            raw = _METRIC_WEIGHT * (insp.strength if insp else 0.0) + 0.7 * self._pointers(c) + 0.1 * (c in self.alerting)
            own = 1.0 - float(np.exp(-raw))
            # trouble in something c depends on explains c's own symptoms away
            below = max((self._explains(x) for x in self.graph.descendants(c)), default=0.0)
            # anchoring: the build that starts from the monitor's service needs a strong reason to leave it
            if f.monitor_focus and c == self.ac:
                s = own * (1.0 - f.anchor_discount * below)
            else:
                s = own * (1.0 - f.victim_discount * min(1.0, below / f.explain_floor))
            s += (f.change_weight if f.change_correlation else 0.1) * self._change_score(c)
            if f.monitor_focus and c == self.ac:
                s += f.monitor_prior
            scores[c] = s
        return sorted(scores.items(), key=lambda kv: (-kv[1], self.dist.get(kv[0], 99), kv[0]))

    def _explains(self, c: str) -> float:
        insp = self.inspected.get(c)
        return max(insp.explains() if insp else 0.0, self.traces.error_origin.get(c, 0.0),
                   self.traces.latency_origin.get(c, 0.0))

    def _read_logs(self, c: str) -> None:
        """Read a suspect's own logs (all levels, since the onset): fault wording and who it blames."""
        self.logs_read.add(c)
        res = self._call("search_logs", component=c, start=self.onset, limit=100)
        if not res:
            return
        msgs = [r["message"] for r in res["records"]]
        self.messages.setdefault(c, []).extend(msgs)
        self.looked_at.setdefault(c, set()).add(f"logs:{c}")
        self.local_hints[c] = infra_hints(msgs, saturation=5.0)
        for name, share in names_in(msgs, list(self.kinds), exclude=c).items():
            name = self.graph.service_of(name)
            self.pointed[name] = max(self.pointed.get(name, 0.0), min(1.0, 2.0 * share))

    def _deep_dive(self, leaders: list[str]) -> None:
        """Read the leading suspects' own logs, if not read yet, to name the fault type."""
        for c in leaders:
            if c not in self.logs_read:
                self._read_logs(c)

    # --- the finding ----------------------------------------------------------------------------
    def _evidence(self, c: str) -> ComponentEvidence:
        insp = self.inspected.get(c)
        metrics = {m: (insp.weighted[m], insp.anomalies[m].direction) for m in insp.weighted} if insp else {}
        chg = self.changes.get(c, [])
        msgs = self.messages.get(c, []) + self.logs.about.get(c, []) + self.symptoms.get(c, [])
        return ComponentEvidence(self.kinds.get(c, ""), metrics, msgs,
                                 [ch.kind for ch in chg], [ch.summary for ch in chg])

    def _refs(self, c: str) -> list[str]:
        insp = self.inspected.get(c)
        refs = [r for r in sorted(self.looked_at.get(c, ())) if not r.startswith("metric:")]
        if insp:
            refs = [f"metric:{c}:{m}" for m, w in sorted(insp.weighted.items(), key=lambda kv: -kv[1]) if w > 0] + refs
        if c in self.changes and c in self.event_refs:
            refs.append(f"events:{c}")
        return refs

    def _finding(self, ranked: list[tuple[str, float]]) -> Finding:
        top = ranked[:5]
        if not top:
            return Finding([], summary="no candidate component found")
        z = np.array([s for _, s in top]) * 4.0
        p = np.exp(z - z.max())
        p /= p.sum()
        hyps = [Hypothesis(c, classify(self._evidence(c)), round(float(pi), 4), self._refs(c))
                for (c, _), pi in zip(top, p)]
        h = hyps[0]
        why = ", ".join(h.evidence[:3]) or "no direct evidence"
        return Finding(hyps, summary=f"{h.component} looks like the root cause ({h.fault_type}); evidence: {why}; "
                                     f"{self.used} tool calls")


def _fold_pods(ev: LogEvidence, service_of) -> LogEvidence:
    """Log evidence about pods counts for their service (the pod is the service, running)."""
    def fold(d: dict) -> dict:
        out: dict = {}
        for k, v in d.items():
            k = service_of(k)
            out[k] = out.get(k, 0.0) + v if isinstance(v, float) else out.get(k, []) + v
        return out
    return LogEvidence(fold(ev.burst), fold(ev.mentioned), fold(ev.messages), fold(ev.about))
