"""What ``evalkit suite validate`` checks a generated scenario against, remembered per generator version.

Deriving a scenario's plan (topology, fault, window) is ~85 % of a deep validation. The facts validation
needs from it (window, cause, fault type, component names) are a pure function of (generator source,
category, seed), so they are kept in one file per suite folder in the user cache, keyed by the generator's
source fingerprint (:func:`evalkit.suite.replay_cache.generator_fingerprint`): ``suite generate`` writes
the facts of the plans it built, ``suite validate`` reuses them and adds the ones it derived. A changed
generator changes the fingerprint and every plan is derived again; deleting the file only costs time. The
:data:`KEEP` most recently written files are kept.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FORMAT = 1
KEEP = 32  # suites whose plan facts are kept (~6 MB per 10,000 scenarios)


@dataclass(frozen=True)
class PlanFacts:
    """The parts of a generated scenario's plan that validation compares the files with."""

    start: int
    end: int
    cause: str
    fault_type: str
    names: tuple[str, ...]

    @classmethod
    def of(cls, plan) -> PlanFacts:
        """The facts of a :class:`~evalkit.suite.generator.plan.Plan`."""
        return cls(plan.start, plan.end, plan.cause, plan.fault_type,
                   tuple(c["name"] for c in plan.topo.components))


def derive(category: str, seed: int) -> PlanFacts:
    """The facts of a freshly derived plan."""
    from evalkit.suite.generator.plan import make_plan

    return PlanFacts.of(make_plan(category, seed))


def key(category: str, seed: int) -> str:
    return f"{category}/{seed}"


def _path(root: Path) -> Path:
    from evalkit.cache import cache_dir
    from evalkit.suite.replay_cache import generator_fingerprint

    return _where(str(cache_dir()), generator_fingerprint(), str(root))


@lru_cache(maxsize=8)
def _where(cache: str, fingerprint: str, root: str) -> Path:
    digest = hashlib.sha256(f"{fingerprint}\0{Path(root).resolve()}".encode()).hexdigest()[:32]
    return Path(cache) / "plans" / f"{digest}.json"


def load(root: Path) -> dict[str, PlanFacts]:
    """The remembered facts for the suite at ``root`` under this generator ({} when none or unreadable)."""
    try:
        doc = json.loads(_path(root).read_bytes())
        if doc.get("format") != FORMAT:
            return {}
        return {k: PlanFacts(int(s), int(e), c, f, tuple(n)) for k, (s, e, c, f, n) in doc["plans"].items()}
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}


def save(root: Path, facts: dict[str, PlanFacts]) -> None:
    """Remember ``facts`` for the suite at ``root`` (best effort: a read-only cache only costs time)."""
    from evalkit.atomic import atomic_write

    doc = {"format": FORMAT, "plans": {k: [f.start, f.end, f.cause, f.fault_type, list(f.names)]
                                       for k, f in facts.items()}}
    path = _path(root)
    with suppress(OSError):
        atomic_write(path, json.dumps(doc, separators=(",", ":")).encode())
        kept = sorted(path.parent.glob("*.json"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for stale in kept[KEEP:]:  # bounded: the most recently written suites' facts only
            stale.unlink()


def remembered(root: Path) -> dict[str, PlanFacts]:
    """:func:`load`, read once per process while the file is unchanged (validation workers call it per file)."""
    path = _path(root)
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    return _loaded(str(root), stamp)


@lru_cache(maxsize=2)
def _loaded(root: str, stamp: int) -> dict[str, PlanFacts]:
    return load(Path(root))
