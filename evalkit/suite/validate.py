"""Suite checking: parse every file of a suite folder and report ALL problems, one line each.

``check_suite`` is shared by ``load_suite`` (shallow: no telemetry parsing, no generator work) and ``validate_suite``
(deep: materialized telemetry files are read too). Generated worlds are checked through their plan
(topology, fault and window derived from the seed) without replaying the telemetry.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable

from evalkit.errors import Problem, UserError
from evalkit.file_models import Found, find_problems, read_model
from evalkit.parallel import consume, ordered_map
from evalkit.suite.generator.catalog import CATEGORIES
from evalkit.suite import plan_facts
from evalkit.suite.generator.plan import GENERATOR_ID
from evalkit.suite.hashing import LOOP_FIX, relative_posix, skipped, suite_hash, walk_suite
from evalkit.suite.materialized import read_topology, read_world
from evalkit.suite.model import GroundTruth, Scenario, Suite
from evalkit.suite.suite_file import ScenarioFile, SuiteFile, TruthFile, unknown_field

REF_KINDS = ("metric", "logs", "traces", "events", "topology", "monitor")

MAX_WINDOW_S = 7 * 86400
_KINDS = ("missing", "unknown", "bad")
#: the order of the sections' problems after the id: as declared, but the window before the alert (fired_at lies in it)
_RANK = {name: float(i) for i, name in enumerate(ScenarioFile.model_fields)}
_RANK["window"] = _RANK["alert"] - 0.5


def _world_fields(wspec: dict, where: str, required: tuple, optional: tuple, problems: list[Problem]) -> None:
    """The problems of a scenario's ``world`` spec that lacks a ``required`` key or holds an unknown one."""
    problems += [Problem(where, f"world.{k}", "missing", f"add the required field 'world.{k}'")
                 for k in required if k not in wspec]
    allowed = ", ".join(sorted({*required, *optional}))
    problems += [Problem(where, f"world.{k}", "unknown field", f"remove it; allowed fields are {allowed}")
                 for k in wspec if k not in required and k not in optional]


def _load_json(path: Path, where: str, problems: list[Problem], read: dict[str, bytes] | None = None,
               rel: str = "") -> dict | None:
    """One JSON object from ``path``; with ``read``, its bytes are kept there under ``rel`` (for the suite hash)."""
    try:
        raw = path.read_bytes()
        if read is not None:
            read[rel] = raw
        text = raw.decode("utf-8")
        if "\r" in text:  # universal newlines, as open() in text mode reads them
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.append(Problem(where, f"line {exc.lineno} col {exc.colno}", f"malformed JSON: {exc.msg}",
                                "fix the JSON syntax"))
        return None
    except (UnicodeDecodeError, OSError) as exc:
        problems.append(Problem(where, "", f"unreadable ({exc.__class__.__name__})", "save the file as UTF-8 JSON"))
        return None
    except (ValueError, RecursionError) as exc:  # an integer of thousands of digits, nesting deeper than Python's stack
        problems.append(Problem(where, "", f"unreadable JSON ({exc.__class__.__name__})",
                                "keep numbers under 4300 digits and nesting shallow"))
        return None
    if not isinstance(doc, dict):
        problems.append(Problem(where, "", type(doc).__name__, "the file must hold one JSON object"))
        return None
    return doc


def _escaping_links(root: Path, shown: str, problems: list[Problem]) -> None:
    real_root = root.resolve()
    folders = [str(root)]
    while folders:
        with os.scandir(folders.pop()) as it:
            for entry in it:
                if skipped(entry.name):
                    continue  # no part of the suite (see walk_suite), e.g. a .venv linking outside
                if entry.is_symlink():
                    rel = Path(entry.path).relative_to(root).as_posix()
                    try:
                        target = Path(entry.path).resolve()
                    except (RuntimeError, OSError):  # a symlink loop
                        problems.append(Problem(f"{shown}/{rel}", "symlink", os.readlink(entry.path), LOOP_FIX))
                        continue
                    if not target.is_relative_to(real_root):
                        problems.append(Problem(f"{shown}/{rel}", "symlink", os.readlink(entry.path),
                                                "points outside the suite folder; copy the data into the suite"))
                elif entry.is_dir():
                    folders.append(entry.path)


def _check_suite_toml(root: Path, shown: str, problems: list[Problem]) -> dict | None:
    where = f"{shown}/suite.toml"
    path = root / "suite.toml"
    if not path.is_file():
        problems.append(Problem(where, "", "missing", "add suite.toml with name, version, description, "
                                                      "categories and default_trials"))
        return None
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        problems.append(Problem(where, "", f"malformed TOML: {exc}", "fix the TOML syntax"))
        return None
    except OSError as exc:
        problems.append(Problem(where, "", f"unreadable ({exc.strerror or exc.__class__.__name__})",
                                "make suite.toml readable by this user"))
        return None
    parsed, found = read_model(SuiteFile, doc, where, unknown_field(SuiteFile))
    problems += found
    return doc if parsed is not None and not found else None


def _listed(found: Found) -> tuple:
    """Where a problem is listed: first missing and unknown fields and a bad id (``head``), then section by section
    missing, unknown and bad fields, a bad fired_at last (it is checked with the window)."""
    path, kind, _ = found
    if path == ("id",) or len(path) == 1 and kind != "bad":
        return False, _KINDS.index(kind)
    return True, _RANK[path[0]], _KINDS.index(kind), kind == "bad" and path == ("alert", "fired_at")


def _window(w: dict, where: str, found: list[Found]) -> tuple[int, int, int] | None:
    """(start, end, step) of a window with valid fields, if its bounds are valid too (else a problem in found)."""
    start, end, step = w["start"], w["end"], w.get("step", 60)
    if end <= start:
        fix = f"must be after window.start ({start}); the window is inverted or empty, swap or fix the bounds"
    elif end - start > MAX_WINDOW_S:
        fix = "the window is longer than 7 days; shorten it"
    elif (end - start) % step:
        fix = f"end - start must be a multiple of step ({step} s)"
    else:
        return start, end, step
    found.append((("window", "end"), "bad", Problem(where, "window.end", end, fix)))
    return None


def _world_path(root: Path, shown: str, where: str, value: object, problems: list[Problem]) -> Path | None:
    if not isinstance(value, str) or not value:
        fix = "give the world folder relative to the suite, e.g. 'worlds/<id>'"
    elif value.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", value):  # POSIX, UNC or drive: absolute anywhere
        fix = "must be relative to the suite folder, not absolute"
    elif ".." in value.replace("\\", "/").split("/"):
        fix = "must stay inside the suite folder (no '..')"
    elif not (real := (root / value).resolve()).is_relative_to(real_root := root.resolve()):
        fix = "resolves outside the suite folder (symlink); copy the data into the suite"
    elif any(skipped(part) for part in real.relative_to(real_root).parts):
        fix = "is in a hidden folder (or __pycache__), which the suite hash leaves out; move it to e.g. 'worlds/<id>'"
    elif not (root / value).is_dir():
        fix = f"no such folder in {shown}; materialize the world there or fix the path"
    else:
        return root / value
    problems.append(Problem(where, "world.path", value, fix))
    return None


def _check_truth(root: Path, where: str, sid: str, names: set[str] | None, plan, problems: list[Problem],
                 read: dict[str, bytes] | None = None) -> dict | None:
    """The truth file of scenario ``sid`` under ``root``, checked (against the world where ``names`` and ``plan``
    are known); None when it is missing or no JSON object. With ``read``, its bytes are kept there."""
    path = root / "truth" / f"{sid}.json"
    if not path.is_file():
        problems.append(Problem(where, "", "missing", f"add the ground truth of scenario '{sid}'"))
        return None
    doc = _load_json(path, where, problems, read, f"truth/{sid}.json")
    if doc is None:
        return None
    _, found = read_model(TruthFile, doc, where, unknown_field(TruthFile))
    problems += found
    wrong = {p.field for p in found}
    if "scenario_id" in doc and doc["scenario_id"] != sid:
        problems.append(Problem(where, "scenario_id", doc["scenario_id"], f"must be '{sid}' (the file's scenario)"))
    comp, ft = doc.get("component"), doc.get("fault_type")
    if "component" not in wrong and isinstance(comp, str) and names is not None and comp not in names:
        problems.append(Problem(where, "component", comp, "is not a component of the scenario's world "
                                                          "topology; use a listed component name"))
    if "distractors" not in wrong and names is not None and plan is None:
        problems += [Problem(where, "distractors", x, "names a component missing from the world")
                     for x in doc.get("distractors", []) if x not in names]
    for ref in doc.get("evidence", []) if "evidence" not in wrong else []:
        parts = ref.split(":")
        if parts[0] not in REF_KINDS or len(parts) < 2 or (parts[0] == "metric") != (len(parts) == 3):
            problems.append(Problem(where, "evidence", ref, "use 'metric:<component>:<metric>' or "
                                                            "'<logs|traces|events|topology|monitor>:<component>'"))
        elif names is not None and parts[1] not in names:
            problems.append(Problem(where, "evidence", ref, "names a component missing from the world"))
    if plan is not None and isinstance(comp, str) and isinstance(ft, str):
        if comp != plan.cause or ft != plan.fault_type:
            problems.append(Problem(where, "component/fault_type", f"{comp}/{ft}",
                                    "disagrees with what the generator derives from the scenario's seed; "
                                    "regenerate the suite instead of editing truth files"))
    return doc


@dataclass
class _FileCheck:
    """What checking one scenario file found; the caller adds the cross-file duplicate-id check."""

    rel: str
    where: str
    sid: str | None = None                 # a well-formed id (maybe a duplicate of another file's)
    head: list[Problem] = field(default_factory=list)   # problems found before the id check
    rest: list[Problem] = field(default_factory=list)   # after it
    truth: list[Problem] = field(default_factory=list)  # of the truth file (dropped for a duplicate id)
    scenario: Scenario | None = None
    derived: tuple[str, plan_facts.PlanFacts] | None = None  # plan facts derived here (not remembered)
    read: dict[str, bytes] = field(default_factory=dict)  # the files' bytes by relative path, for the suite hash


def _check_file(ctx: tuple, f: Path) -> _FileCheck:
    """Check one scenario file (and its truth file) of a suite; runs in worker processes with --jobs."""
    root, shown, categories, deep, suite_name = ctx
    rel = relative_posix(f, root)
    where = f"{shown}/{rel}"
    res = _FileCheck(rel, where)
    doc = _load_json(f, where, res.head, res.read, rel)
    if doc is None:
        return res
    _, found = find_problems(ScenarioFile, doc, where, unknown_field(ScenarioFile))
    wrong = {path[:2] for path, _, _ in found}
    sid = res.sid = doc["id"] if ("id",) not in wrong else None
    cat = doc["category"] if ("category",) not in wrong else None
    if cat is not None and categories is not None and cat not in categories:
        found.append((("category",), "bad", Problem(where, "category", cat, "unknown category; use one declared in "
                                                    "suite.toml: " + ", ".join(sorted(categories)))))
        cat = None
    window = None if any(path[0] == "window" for path in wrong) else _window(doc["window"], where, found)
    fired = doc["alert"]["fired_at"] if window and not wrong & {("alert",), ("alert", "fired_at")} else None
    if window and fired is not None and not window[0] <= fired <= window[1]:
        found.append((("alert", "fired_at"), "bad", Problem(where, "alert.fired_at", fired, "must lie inside the "
                                                            f"window [{window[0]}, {window[1]}]")))
    for item in sorted(found, key=_listed):
        (res.rest if _listed(item)[0] else res.head).append(item[2])
    names, plan = _check_world(doc, cat, window, root, shown, deep, where, res, res.rest) \
        if "world" in doc else (None, None)
    alert = doc.get("alert")
    if names is not None and isinstance(alert, dict) and isinstance(alert.get("component"), str) \
            and alert["component"] not in names:
        res.rest.append(Problem(where, "alert.component", alert["component"],
                                "is not a component of the world's topology"))

    if isinstance(sid, str):
        _check_truth(root, f"{shown}/truth/{sid}.json", sid, names, plan, res.truth, res.read)
    if not (res.head or res.rest or res.truth) and isinstance(sid, str) and window:
        res.scenario = Scenario(
            id=sid, suite=suite_name, category=cat, alert=dict(alert), window=(window[0], window[1]),
            world=dict(doc["world"]), tags=tuple(doc.get("tags", [])), noise_level=float(doc.get("noise_level", 0.5)),
            max_tool_calls=int(doc.get("max_tool_calls", 60)), path=f, root=root, step=window[2])
    return res


def _check_world(doc: dict, cat: str | None, window: tuple[int, int, int] | None, root: Path, shown: str,
                 deep: bool, where: str, res: _FileCheck, problems: list[Problem]) -> tuple[set[str] | None, plan_facts.PlanFacts | None]:
    """Check a scenario's ``world`` spec (generated or materialized): (component names, plan facts) where known."""
    wspec = doc["world"]
    if not isinstance(wspec, dict):
        problems.append(Problem(where, "world", wspec, "give {\"generator\": ..., \"seed\": ...} or "
                                                       "{\"path\": \"worlds/<id>\"}"))
    elif ("generator" in wspec) == ("path" in wspec):
        problems.append(Problem(where, "world", sorted(wspec), "give exactly one of 'generator' (+ 'seed') "
                                                               "or 'path'"))
    elif "generator" in wspec:
        return _check_generated_world(doc, wspec, cat, window, root, deep, where, res, problems)
    else:
        return _check_materialized_world(doc, wspec, window, root, shown, deep, where, problems), None
    return None, None


def _check_generated_world(doc: dict, wspec: dict, cat: str | None, window: tuple[int, int, int] | None,
                           root: Path, deep: bool, where: str, res: _FileCheck,
                           problems: list[Problem]) -> tuple[set[str] | None, plan_facts.PlanFacts | None]:
    """``{"generator", "seed", "digest"}``: known generator and seed; deep, the window against its plan."""
    plan: plan_facts.PlanFacts | None = None
    _world_fields(wspec, where, ("generator", "seed"), ("digest",), problems)
    dig = wspec.get("digest")
    if dig is not None and not (isinstance(dig, str) and re.fullmatch(r"[0-9a-f]{16}", dig)):
        problems.append(Problem(where, "world.digest", dig, "must be the 16-hex-digit fingerprint "
                                                            "written by `evalkit suite generate`"))
    if wspec["generator"] != GENERATOR_ID:
        problems.append(Problem(where, "world.generator", wspec["generator"],
                                f"unknown generator; this evalkit replays '{GENERATOR_ID}'"))
    elif type(wspec.get("seed")) is not int or not 0 <= wspec["seed"] < 2**63:  # (a bool is not a seed)
        problems.append(Problem(where, "world.seed", wspec.get("seed", "missing"),
                                "must be a non-negative integer"))
    elif isinstance(cat, str) and cat not in CATEGORIES:
        problems.append(Problem(where, "category", cat, "the generator has no such category; it knows "
                                + ", ".join(CATEGORIES)))
    elif isinstance(cat, str) and deep:  # loading does no generator work; validate does
        key = plan_facts.key(cat, wspec["seed"])
        known = plan_facts.remembered(root).get(key)
        plan = known if known is not None else plan_facts.derive(cat, wspec["seed"])
        res.derived = None if known is not None else (key, plan)
        if window and window != (plan.start, plan.end, 60):
            problems.append(Problem(where, "window", doc["window"],
                                    f"does not match the generated world ({plan.start}..{plan.end}, "
                                    "step 60); regenerate instead of editing"))
    return (None if plan is None else set(plan.names)), plan


def _check_materialized_world(doc: dict, wspec: dict, window: tuple[int, int, int] | None, root: Path,
                              shown: str, deep: bool, where: str, problems: list[Problem]) -> set[str] | None:
    """``{"path": "worlds/<id>"}``: the folder's topology; deep, its telemetry against the window and alert."""
    names: set[str] | None = None
    _world_fields(wspec, where, ("path",), (), problems)
    folder = _world_path(root, shown, where, wspec.get("path"), problems)
    if folder is not None:
        wshown = f"{shown}/{wspec['path'].rstrip('/')}"
        comps, _, tprobs = read_topology(folder, wshown)
        problems.extend(tprobs)
        names = {c["name"] for c in comps} if not tprobs else None
        if deep and window and not tprobs:
            alert = doc.get("alert")  # a non-object alert is reported by the scenario model already
            _, wprobs = read_world(folder, wshown, window[0], window[1], window[2],
                                   alert if isinstance(alert, dict) else {}, deep=True)
            problems.extend(wprobs)
    return names


def check_suite(path: str | Path, deep: bool = True, replay: bool = False, *, jobs: int = 1,
                progress: Callable[[int, int], None] | None = None) -> tuple[Suite | None, list[Problem]]:
    """Parse a suite folder; return (suite or None, every problem found).

    ``deep`` also checks generated worlds' plans (topology, fault, window) and materialized telemetry;
    ``replay`` (with ``deep``) replays generated worlds and checks them against their stored alert and
    digest. The suite is None when the files themselves have problems; replay problems come with the
    parsed suite. ``jobs`` > 1 checks files (and replays) in that many processes, same result;
    ``progress(done, total)`` follows the files, then the replays.
    """
    suite, problems = _parse_suite(path, deep, jobs, progress)
    if replay and suite is not None:
        generated = [sc for sc in suite.scenarios if "generator" in sc.world]
        for found in consume(ordered_map(_replay_problems, generated, jobs), progress, len(generated)):
            problems.extend(found)
    return suite, problems


def _replay_problems(sc: Scenario) -> list[Problem]:
    """Problems of replaying one generated scenario for real (no replay cache)."""
    from evalkit.suite.loader import load_world

    try:
        load_world(sc, cache=False)
    except UserError as err:
        return [p if isinstance(p, Problem) else Problem(str(sc.path), "", str(p), "") for p in err.problems]
    return []


def _parse_suite(path: str | Path, deep: bool, jobs: int = 1,
                 progress: Callable[[int, int], None] | None = None) -> tuple[Suite | None, list[Problem]]:
    root = Path(path)
    shown = str(root)  # a Path keeps no trailing '/'
    problems: list[Problem] = []
    if not root.is_dir():
        return None, [Problem(shown, "", "not a folder", "give the path of a suite folder containing suite.toml")]
    _escaping_links(root, shown, problems)
    meta = _check_suite_toml(root, shown, problems)
    categories = dict(meta["categories"]) if meta else None

    scen_dir = root / "scenarios"
    files = [Path(e.path) for rel, e in walk_suite(scen_dir) if rel.endswith(".json")] if scen_dir.is_dir() else []
    if not files:
        problems.append(Problem(f"{shown}/scenarios", "", "no scenario files",
                                "add scenarios/<id>.json files (see docs/suite-format.md)"))
    seen: dict[str, str] = {}
    derived: dict[str, plan_facts.PlanFacts] = {}
    unread: set[str] = set()  # names of scenario files without a usable id: their truth files are not orphans
    scenarios: list[Scenario] = []
    read: dict[str, bytes] = {}  # files already read, so the suite hash need not open them again
    ctx = (root, shown, categories, deep, meta["name"] if meta else root.name)
    for res in consume(ordered_map(partial(_check_file, ctx), files, jobs), progress, len(files)):
        read.update(res.read)
        problems.extend(res.head)
        if res.derived is not None:
            derived[res.derived[0]] = res.derived[1]
        if res.sid is None:
            unread.add(Path(res.rel).stem)
        elif res.sid in seen:
            problems.append(Problem(res.where, "id", res.sid, f"duplicate id, also used by {seen[res.sid]}; "
                                                              "ids must be unique"))
            problems.extend(res.rest)
            continue
        else:
            seen[res.sid] = res.rel
        problems += res.rest + res.truth
        if res.scenario is not None:
            scenarios.append(res.scenario)

    if derived:
        plan_facts.save(root, {**plan_facts.load(root), **derived})
    truth_dir = root / "truth"
    if truth_dir.is_dir():
        for name in sorted(e.name for e in os.scandir(truth_dir) if e.name.endswith(".json")
                           and not skipped(e.name)):  # hidden: no part of the suite (nor an id)
            if name[:-5] not in seen and name[:-5] not in unread:
                problems.append(Problem(f"{shown}/truth/{name}", "", "orphan truth file",
                                        "no scenario has this id; delete it or add the scenario"))
    if problems or meta is None:
        return None, problems
    suite = Suite(name=meta["name"], version=meta["version"], description=meta["description"],
                  categories=categories, default_trials=int(meta["default_trials"]), path=root,
                  hash=suite_hash(root, read), scenarios=sorted(scenarios, key=lambda s: s.id),
                  pool=bool(meta.get("pool", False)))
    return suite, []


def validate_suite(path: str | Path, replay: bool = False, jobs: int = 1) -> list[Problem]:
    """Every problem of the suite at ``path`` (empty list: the suite is valid).

    With ``replay``, generated worlds are also replayed and checked against their stored alert and
    digest (catches a suite generated by another generator version; ~10 ms per scenario).
    """
    return check_suite(path, deep=True, replay=replay, jobs=jobs)[1]


def load_truth_file(root: Path, shown: str, sid: str) -> GroundTruth:
    """Parse the truth file of scenario ``sid`` of the suite at ``root`` (raises UserError listing its problems)."""
    problems: list[Problem] = []
    doc = _check_truth(root, shown, sid, None, None, problems)
    if doc is None or problems:
        raise UserError(*problems)
    return GroundTruth(scenario_id=sid, component=doc["component"], fault_type=doc["fault_type"],
                       evidence=tuple(doc.get("evidence", ())), aliases=tuple(doc.get("aliases", ())),
                       distractors=tuple(doc.get("distractors", ())))
