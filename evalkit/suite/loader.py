"""Loading suites, worlds and (for the scorer only) ground truth.

``load_world`` never opens the truth file: a generated world is replayed from (category, seed, noise
level); a materialized one is read from its folder. The World it returns holds no path and no truth.
"""

from __future__ import annotations

from pathlib import Path

from evalkit.errors import UserError
from evalkit.suite.model import GroundTruth, Scenario, Suite
from evalkit.world.model import World


def suite_search_dirs() -> list[Path]:
    """Where bare suite names are looked up: the project's suites/, then the evalkit checkout's suites/
    (:class:`evalkit.workspace.Workspace`)."""
    from evalkit.workspace import Workspace

    return list(Workspace.resolve().suite_dirs)


def resolve_suite(path_or_name: str | Path) -> Path:
    """A suite folder from a path, or from a bare name like ``core`` (``suites/<name>``)."""
    p = Path(path_or_name)
    if p.is_dir():
        return p
    name = str(path_or_name)
    if "/" not in name and "\\" not in name:
        for d in suite_search_dirs():
            if (d / name).is_dir():
                return d / name
    raise UserError.at(name, "suite", name, "no such suite folder; give a path or one of: " + _known_suites())


def _known_suites() -> str:
    known = sorted({s.name for d in suite_search_dirs() for s in d.iterdir()
                    if not s.name.startswith(".") and (s / "suite.toml").is_file()})
    return ", ".join(known) or "(no suites found under ./suites)"


def unknown_suite_note(name: str) -> str:
    """``""`` when ``name`` is a suite here; else a note naming the suites that are, for an error that found
    nothing stored for ``name`` (most often a misspelled name, which deserves to be called one)."""
    try:
        resolve_suite(name)
    except UserError:
        return f" (and no suite folder is named {name!r} here: did you mean one of {_known_suites()}?)"
    return ""


def load_suite(path_or_name: str | Path) -> Suite:
    """Load and check a suite (all problems reported at once as a UserError).

    A suite whose files are unchanged since its last load comes from its index (see
    :mod:`evalkit.suite.index`): the files are stat'ed, not read. Loading never replays or plans a
    generated world; ``evalkit suite validate`` (``--replay``) does the deep checks.
    """
    from evalkit.suite.index import read_index, stat_signature, write_index

    root = resolve_suite(path_or_name)
    signature, newest = stat_signature(root)
    suite = read_index(root, signature)
    if suite is not None:
        return suite
    from evalkit.suite.validate import check_suite

    suite, problems = check_suite(root, deep=False)
    if problems:
        raise UserError(*problems)
    write_index(root, signature, newest, suite)
    return suite


def load_world(scenario: Scenario, *, cache: bool = True, lazy: bool = False, deferred: bool = False) -> World:
    """The World of one scenario: replayed deterministically, or read from its materialized folder.

    A generated world comes from the on-disk replay cache when this exact generator already replayed
    and verified it (:mod:`evalkit.suite.replay_cache`); ``cache=False`` always replays. With ``lazy``, a
    world from the cache decodes its metrics, logs and traces only when first used (trial workers).
    With ``deferred``, nothing is replayed or read until a field beyond the alert is first used
    (:class:`~evalkit.world.deferred.DeferredWorld`): the same load, digest check included, happens then.
    """
    if deferred:
        from evalkit.world.deferred import DeferredWorld

        return DeferredWorld(scenario.alert, lambda: load_world(scenario, cache=cache, lazy=lazy))
    spec = scenario.world
    where = str(scenario.path or scenario.id)
    if "generator" in spec:
        from evalkit.suite import replay_cache
        from evalkit.suite.generator import replay

        key = None
        if cache and replay_cache.enabled():
            key = replay_cache.replay_key(scenario.category, int(spec["seed"]), scenario.noise_level,
                                          scenario.window, scenario.alert, spec.get("digest"))
            world = replay_cache.get(key)
            if world is not None:
                if not lazy:
                    world.logs  # noqa: B018 - decodes the telemetry now
                return world
        world = replay(scenario.category, int(spec["seed"]), scenario.noise_level, window=scenario.window,
                       alert=scenario.alert, digest=spec.get("digest"), where=where)
        if key is not None:
            replay_cache.put(key, world)
        return world
    from evalkit.suite.materialized import read_world

    if scenario.root is None:
        raise UserError.at(where, "world.path", spec.get("path"), "load the scenario through load_suite")
    folder = scenario.root / spec["path"]
    world, problems = read_world(folder, f"{scenario.root}/{spec['path']}", scenario.window[0], scenario.window[1],
                                 scenario.step, scenario.alert, deep=True)
    if problems:
        raise UserError(*problems)
    return world


def load_truth(suite: Suite, scenario_id: str) -> GroundTruth:
    """The hidden answer of one scenario (only the scorer calls this)."""
    from evalkit.suite.suite_file import ID_RE
    from evalkit.suite.validate import load_truth_file

    if not ID_RE.match(scenario_id or ""):
        raise UserError.at(str(suite.path), "scenario_id", scenario_id, "not a valid scenario id")
    return load_truth_file(Path(suite.path), f"{suite.path}/truth/{scenario_id}.json", scenario_id)
