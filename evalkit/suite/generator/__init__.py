"""The synthetic incident generator: realistic microservice worlds with one injected fault each.

Visible scenario files carry only ``{"generator": GENERATOR_ID, "seed": N}``; the fault type and faulty
component are derived inside the generator from (category, seed), so nothing in the visible spec gives
the answer away. ``replay`` rebuilds the World; ``generate_truth`` is for the suite writer only.
"""

from __future__ import annotations

import hashlib
import json

from evalkit.errors import Problem, UserError
from evalkit.json_text import orjson_text
from evalkit.suite.generator.catalog import CATEGORIES, FAULT_TYPES, SYMPTOM, category_slug
from evalkit.suite.generator.plan import GENERATOR_ID, Plan, make_plan
from evalkit.world.model import World

__all__ = ["CATEGORIES", "FAULT_TYPES", "SYMPTOM", "GENERATOR_ID", "Plan", "make_plan", "replay",
           "replay_with_notes", "world_digest", "category_slug"]


def replay_with_notes(category: str, seed: int, noise_level: float) -> tuple[World, Plan, dict[str, list[str]]]:
    """World plus the generator's private notes (plan and noise distractors); for the suite writer and tests."""
    from evalkit.suite.generator.build import build_world

    plan = make_plan(category, seed)
    world, noise = build_world(plan, noise_level)
    return world, plan, noise


def world_digest(world: World) -> str:
    """A short fingerprint of a world's discrete content (topology, alert, events, monitors, logs, traces).

    Stored in generated scenario files so the suite hash pins the exact telemetry and a replay by another
    generator version is caught. Raw float metrics are left out on purpose: they may differ in the last
    bit across CPUs (SIMD math), while everything fingerprinted here is integer, text or rounded.

    The fingerprint is the SHA-256 of ``json.dumps([start, end, step, components, edges, alert, events,
    monitors, logs, traces], separators=(",", ":"))``. The logs and traces, ~95 % of that text, are written
    by orjson where its text is the standard one byte for byte (:mod:`evalkit.json_text`; 4x faster, and the
    standard encoder was a fifth of a replay); a root span's ``"parent":null`` is the one null accepted there.
    """
    head = json.dumps([world.start, world.end, world.step, world.components, [list(e) for e in world.edges],
                       world.alert, world.events, world.monitors], separators=(",", ":"), check_circular=False)
    text = b",".join((head[:-1].encode(), _records_json(world.logs), _records_json(world.traces))) + b"]"
    return hashlib.sha256(text).hexdigest()[:16]


def _records_json(records: list[dict]) -> bytes:
    """``json.dumps(records, separators=(",", ":")).encode()``, by orjson where its text is the same."""
    text = orjson_text(records, allowed_null=b'"parent":')
    # check_circular=False: the same text without a marker per container (~10 % faster; worlds are plain trees)
    return text if text is not None else json.dumps(records, separators=(",", ":"), check_circular=False).encode()


def replay(category: str, seed: int, noise_level: float, window: tuple[int, int] | None = None,
           alert: dict | None = None, digest: str | None = None, where: str = "scenario") -> World:
    """Replay a generated world (deterministic). With ``window``/``alert``/``digest`` from the scenario file,
    checks the file still matches what this generator produces (a stale suite is a user error, not a
    silent change of the benchmark)."""
    if category not in CATEGORIES:
        raise UserError(Problem(where, "category", category, "the generator knows only: " + ", ".join(CATEGORIES)))
    world, plan, _ = replay_with_notes(category, seed, noise_level)
    if window is not None and tuple(window) != (plan.start, plan.end):
        raise UserError(Problem(where, "window", list(window), f"does not match the generated world "
                                f"({plan.start}..{plan.end}); regenerate the scenario"))
    if alert is not None and alert != world.alert:
        raise UserError(Problem(where, "alert", alert.get("title", alert), "differs from what generator "
                                f"{GENERATOR_ID} replays for this seed (stale suite); regenerate the suite with "
                                "`evalkit suite generate`"))
    if digest is not None and digest != world_digest(world):
        raise UserError(Problem(where, "world.digest", digest, f"the telemetry generator {GENERATOR_ID} replays "
                                "for this seed differs (stale suite); regenerate the suite with "
                                "`evalkit suite generate`"))
    return world
