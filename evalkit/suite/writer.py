"""Writing generated suites: suite.toml, one visible scenario file and one truth file per scenario.

The visible scenario carries the alert, the window and ``{"generator", "seed"}`` only. The suite is
staged and moved into place at the end (:class:`evalkit.suite.staging.StagedSuite`), so a failure never
leaves a half-written suite behind.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import UserError
from evalkit.parallel import check_jobs, consume, ordered_map
from evalkit.suite import plan_facts
from evalkit.suite.hashing import suite_hash
from evalkit.suite.materialized import pretty_json, write_world
from evalkit.suite.staging import StagedSuite, suite_toml
from evalkit.suite.suite_file import ID_RE
from evalkit.suite.generator import (CATEGORIES, GENERATOR_ID, category_slug, replay_with_notes,
                                     world_digest)


def parse_noise(spec: str | float) -> tuple[float, float]:
    """``0.5`` (fixed) or ``0.3-0.9`` (a range each scenario's level is drawn from)."""
    text = str(spec).strip()
    try:
        if "-" in text[1:]:
            i = text.index("-", 1)
            lo, hi = float(text[:i]), float(text[i + 1:])
        else:
            lo = hi = float(text)
    except ValueError:
        raise UserError.at("--noise", "", text, "give a level from 0 to 1 (e.g. 0.5) or a range like 0.3-0.9")
    if not (0 <= lo <= hi <= 1):
        raise UserError.at("--noise", "", text, "levels must satisfy 0 <= low <= high <= 1")
    return lo, hi


def scenario_seed(seed: int, category: str, k: int) -> int:
    """A stable 48-bit seed per (suite seed, category, index)."""
    digest = hashlib.sha256(f"{seed}/{category}/{k}".encode()).digest()
    return int.from_bytes(digest[:6], "big")


@dataclass(frozen=True)
class GeneratedSuite:
    """What :func:`generate_suite` wrote: the folder, its content hash and how many scenarios it holds."""

    path: Path
    hash: str
    scenarios: int


def generate_suite(out: str | Path, name: str, per_category: int, seed: int = 0,
                   categories: list[str] | None = None, noise: str | float = "0.3-0.9",
                   description: str | None = None, version: str = "1.0.0", default_trials: int = 3,
                   materialize: bool = False, force: bool = False, progress=None, jobs: int = 1,
                   pool: bool = False) -> GeneratedSuite:
    """Generate a suite folder of ``per_category`` scenarios for each category.

    ``jobs`` > 1 builds the worlds in that many processes; results are written in order as they stream
    back (bounded memory), so the folder is byte-identical to ``jobs=1``. Scenario k of a category depends
    only on (seed, category, k): generating again with a larger ``per_category`` and the same seed keeps
    every existing scenario and truth file byte for byte and appends new ones (how a pool grows).
    ``pool``: mark the suite as a pool the gate samples in rounds. The suite hash is computed from the bytes
    written (the files are not read back: ~0.5 s for 10,000 scenarios, more once the page cache dropped them).
    """
    out = Path(out)
    cats = list(categories or CATEGORIES)
    if unknown := [c for c in cats if c not in CATEGORIES]:
        raise UserError.at("--categories", "", unknown[0], "known categories: " + ", ".join(CATEGORIES))
    if not 1 <= per_category <= 1000:
        raise UserError.at("--per-category", "", per_category, "give a number from 1 to 1000")
    if not 1 <= default_trials <= 100:  # what suite.toml allows: generate writes no suite validate would refuse
        raise UserError.at("--trials", "", default_trials, "give a number from 1 to 100")
    if not ID_RE.fullmatch(name or ""):
        raise UserError.at("--name", "", name, "use letters, digits, '.', '_' or '-' (start with a letter or digit)")
    check_jobs("--jobs", jobs)
    lo, hi = parse_noise(noise)
    with StagedSuite(out, force) as stage:
        tmp = stage.tmp
        provenance = {"generator": GENERATOR_ID, "seed": seed, "per_category": per_category, "noise": str(noise)}
        written: dict[str, bytes] = {}  # relative path -> bytes, for the suite hash

        def write(rel: str, data: bytes) -> None:
            (tmp / rel).write_bytes(data)
            written[rel] = data

        write("suite.toml", suite_toml(
            name, version, description or f"Generated suite: {per_category} synthetic incidents per category.",
            default_trials, provenance, [(c, CATEGORIES[c][2]) for c in cats], pool=pool).encode())
        work = [(cat, k, seed, lo, hi, str(tmp) if materialize else None) for cat in cats for k in range(per_category)]
        facts: dict[str, plan_facts.PlanFacts] = {}
        for sid, scenario, truth, fact in consume(ordered_map(_scenario_docs, work, jobs), progress, len(work)):
            write(f"scenarios/{sid}.json", pretty_json(scenario))
            write(f"truth/{sid}.json", pretty_json(truth))
            if "seed" in scenario["world"]:
                facts[plan_facts.key(scenario["category"], scenario["world"]["seed"])] = fact
        stage.commit()
    if facts:
        plan_facts.save(out, facts)  # what `suite validate` would derive again
    return GeneratedSuite(out, suite_hash(out, written), len(work))


def _scenario_docs(item: tuple) -> tuple[str, dict, dict, plan_facts.PlanFacts]:
    """(id, visible scenario document, truth document, plan facts) of one generated scenario; writes its
    telemetry folder too when materializing (``item[5]`` is then the staging folder)."""
    cat, k, seed, lo, hi, materialize_into = item
    sseed = scenario_seed(seed, cat, k)
    u = int.from_bytes(hashlib.sha256(f"noise/{sseed}".encode()).digest()[:4], "big") / 2**32
    level = round(lo + (hi - lo) * u, 2)
    sid = f"{category_slug(cat)}-{k + 1:03d}"
    world, plan, noise_notes = replay_with_notes(cat, sseed, level)
    wspec: dict = {"generator": GENERATOR_ID, "seed": sseed, "digest": world_digest(world)}
    window = {"start": world.start, "end": world.end, "step": world.step}
    if materialize_into is not None:
        write_world(world, Path(materialize_into) / "worlds" / sid)
        wspec = {"path": f"worlds/{sid}"}
    scenario = {"id": sid, "category": cat, "tags": [CATEGORIES[cat][1], f"domain:{plan.topo.domain}"],
                "alert": world.alert, "window": window, "noise_level": level, "max_tool_calls": 60, "world": wspec}
    keep = {plan.cause, *plan.aliases}
    distractors = sorted({c for comps in noise_notes.values() for c in comps} - keep)
    truth = {"scenario_id": sid, "component": plan.cause, "fault_type": plan.fault_type,
             "evidence": plan.evidence, "aliases": plan.aliases, "distractors": distractors}
    return sid, scenario, truth, plan_facts.PlanFacts.of(plan)
