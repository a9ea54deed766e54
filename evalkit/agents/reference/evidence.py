"""Evidence from logs, traces and change events, summarised per component.

Each summary is a share in [0, 1] so the investigator can weigh different kinds of evidence on one
scale: which components started logging errors at the incident onset, which are named in other
components' error messages, which spans are the deepest failing ones in error traces, and whose own
span time (excluding children) grew the most.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache

from evalkit.agents.reference.anomaly import median

#: change-event kinds that are changes someone made (as opposed to symptoms such as restarts).
CHANGE_KINDS = ("deploy", "config-change", "feature-flag", "config", "flag", "rollout", "release")


@dataclass
class LogEvidence:
    """Error-log summary: burst share per component, components named in others' errors, messages."""

    burst: dict[str, float] = field(default_factory=dict)
    mentioned: dict[str, float] = field(default_factory=dict)
    messages: dict[str, list[str]] = field(default_factory=dict)
    #: messages of other components that name this one
    about: dict[str, list[str]] = field(default_factory=dict)


def summarise_logs(records: list[dict], onset: int, window: tuple[int, int], names: list[str]) -> LogEvidence:
    """Which components' error rate jumped after ``onset`` (share of the jump) and who is blamed in messages."""
    start, end = window
    before_s = max(onset - start, 1)
    after_s = max(end - onset, 1)
    n_before: Counter = Counter()
    n_after: Counter = Counter()
    messages: dict[str, list[str]] = defaultdict(list)
    mentions: Counter = Counter()
    about: dict[str, list[str]] = defaultdict(list)
    known = frozenset(n for n in names if len(n) >= 3)
    for r in records:
        c = r.get("component")
        if r["ts"] >= onset:
            n_after[c] += 1
            msg = str(r.get("message", ""))
            if len(messages[c]) < 60:
                messages[c].append(msg)
            for m in _named(msg, known):
                    if m != c:
                        mentions[m] += 1
                        if len(about[m]) < 30:
                            about[m].append(msg)
        else:
            n_before[c] += 1
    excess = {}
    for c, n in n_after.items():
        rate_after = n / after_s
        rate_before = n_before[c] / before_s
        if rate_after > 2.0 * rate_before + 1e-9:
            excess[c] = (rate_after - rate_before) * after_s
    total = sum(excess.values())
    burst = {c: v / total for c, v in excess.items()} if total > 0 else {}
    m_total = sum(mentions.values())
    mentioned = {c: v / m_total for c, v in mentions.items()} if m_total else {}
    return LogEvidence(burst, mentioned, dict(messages), dict(about))


_TOKEN = re.compile(r"[\w-]+")


@lru_cache(maxsize=1 << 16)
def _tokens(msg: str) -> tuple[str, ...]:
    """The words of a message (cached: a worker reads the same lines trial after trial)."""
    return tuple(_TOKEN.findall(msg))


def _named(msg: str, names: frozenset[str]) -> set[str]:
    """Component names that appear as whole tokens (words joined by ``-``/``_``) in ``msg``."""
    return {t for t in _tokens(msg) if t in names}


@dataclass
class TraceEvidence:
    """Trace summary: where errors originate and whose own span time grew (shares per component)."""

    error_origin: dict[str, float] = field(default_factory=dict)
    latency_origin: dict[str, float] = field(default_factory=dict)


def _children(spans: list[dict]) -> list[list[int]]:
    """Child indices per span; ``parent`` may be an index, a span id, an operation or a component."""
    kids: list[list[int]] = [[] for _ in spans]
    by_id = {sp.get("span_id", sp.get("id")): i for i, sp in enumerate(spans) if sp.get("span_id", sp.get("id"))}
    by_op = {sp.get("operation"): i for i, sp in enumerate(spans) if sp.get("operation")}
    by_comp: dict[str, int] = {}
    for i, sp in enumerate(spans):
        by_comp.setdefault(sp.get("component"), i)
    for i, sp in enumerate(spans):
        p = sp.get("parent")
        if p is None or p == "":
            continue
        if isinstance(p, int) and not isinstance(p, bool):
            j = p if 0 <= p < len(spans) else None
        else:
            j = by_id.get(p, by_op.get(p, by_comp.get(p)))
        if j is not None and j != i:
            kids[j].append(i)
    return kids


def _self_times(spans: list[dict], kids: list[list[int]]) -> list[float]:
    ms = [float(sp.get("duration_ms") or 0.0) for sp in spans]
    return [max(d - sum(ms[j] for j in kids[i]), 0.0) for i, d in enumerate(ms)]


def error_origins(traces: list[dict]) -> dict[str, float]:
    """Share of failed traces whose deepest failing span belongs to each component."""
    votes: Counter = Counter()
    n = 0
    for t in traces:
        spans = t.get("spans") or []
        kids = _children(spans)
        leaves = [i for i, sp in enumerate(spans)
                  if sp.get("error") and not any(spans[j].get("error") for j in kids[i])]
        if not leaves:
            continue
        n += 1
        for i in leaves:
            votes[spans[i]["component"]] += 1.0 / len(leaves)
    return {c: v / n for c, v in votes.items()} if n else {}


def self_times_by_component(traces: list[dict]) -> dict[str, list[float]]:
    """Own (exclusive) span times per component, in ms."""
    out: dict[str, list[float]] = defaultdict(list)
    for t in traces:
        spans = t.get("spans") or []
        for sp, st in zip(spans, _self_times(spans, _children(spans))):
            out[sp.get("component")].append(st)
    return out


def latency_origins(before: list[dict], after: list[dict], min_spans: int = 3, min_ratio: float = 1.5) -> dict[str, float]:
    """Share of the growth in per-trace time that each component's own span time accounts for.

    Compares the median own span time per component before and after the onset (robust to the odd
    slow span); a component counts only if its median grew by ``min_ratio`` over at least
    ``min_spans`` spans on both sides. Its growth is weighted by how often it appears per trace.
    """
    if not before or not after:
        return {}
    b, a = self_times_by_component(before), self_times_by_component(after)
    growth = {}
    for c in set(a) & set(b):
        if len(a[c]) < min_spans or len(b[c]) < min_spans:
            continue
        mb, ma = median(b[c]), median(a[c])
        if ma > min_ratio * mb and ma > mb + 1.0:
            growth[c] = (ma - mb) * len(a[c]) / len(after)
    total = sum(growth.values())
    return {c: g / total for c, g in growth.items()} if total > 0 else {}


@dataclass(frozen=True)
class Change:
    """A change event some time before the incident onset."""

    component: str
    kind: str
    ts: int
    summary: str

    def recency(self, onset: int, window_s: int) -> float:
        """1 for a change right at the onset, decaying linearly to 0 at ``window_s`` before it."""
        lag = onset - self.ts
        if lag < -120:               # after the onset (allow two minutes of clock skew)
            return 0.0
        return max(0.0, 1.0 - max(lag, 0) / window_s)


def recent_changes(events: list[dict], onset: int, window_s: int) -> dict[str, list[Change]]:
    """Deploys / config changes / flag flips within ``window_s`` before the onset, per component."""
    out: dict[str, list[Change]] = defaultdict(list)
    for ev in events:
        kind = str(ev.get("kind", "")).lower()
        if not any(k in kind for k in CHANGE_KINDS):
            continue
        ch = Change(ev.get("component", ""), kind, int(ev["ts"]), str(ev.get("summary", "")))
        if ch.recency(onset, window_s) > 0:
            out[ch.component].append(ch)
    return dict(out)


def names_in(messages: list[str], names: list[str], exclude: str = "") -> dict[str, float]:
    """Share of ``messages`` that name each component (other than ``exclude``)."""
    known = frozenset(n for n in names if len(n) >= 3)
    if not known or not messages:
        return {}
    counts: Counter = Counter()
    for msg in messages:
        for m in _named(msg, known):
            if m != exclude:
                counts[m] += 1
    return {m: n / len(messages) for m, n in counts.items()}
