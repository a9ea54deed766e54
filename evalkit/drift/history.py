"""A realistic build history for demos and tests: real runs of the reference investigator, logged backdated.

The history has four phases (their sizes scale with the number of builds; 20 builds: 10/3/1/6):

1. ``reference`` — ``reference:v1`` with seeded variants (exploration temperature, then call budget); the
   first build is promoted as the first baseline (and one halfway as a routine refresh). These builds are
   the drift reference window (``evalkit drift --ref-builds``, default 10 = this phase of 20 builds).
2. ``regression`` — ``reference:v2`` variants: monitor-service focus, a cross-category regression.
   Investigations whose cause lies downstream of the alerting service (Kafka lag, CPU throttling, network
   faults) anchor on the symptom, while incidents that fire on the cause itself improve.
3. ``fix`` — monitor focus reverted (``reference:v1`` again); promoted as the new baseline.
4. ``steady`` — more ``reference:v1`` variants; one promoted halfway when the phase is long.

Only the regression changes the agent: every other build is the reference agent with a different seed
and exploration setting, so an alarm outside the regression is a false alarm (what the tests check).
By default the builds run on a subset of ``core``: the first 5 scenarios of each category, written as a
suite of its own (``core-sub5``, see :func:`subset_suite`). Two scenarios per category (``smoke``) cannot
tell a one-scenario loss from noise; five show a lost category within a build or two.

Every build is a real ``run_suite`` evaluation with a distinct build id (distinct flags) and its own run
seed, logged with ``Store.log_run(start_time=...)`` at timestamps spread over days (``spacing_hours`` apart,
with a little seeded jitter), and promoted through ``Store.promote``. Re-running the same call is idempotent:
builds already in the store (same idempotency key) are neither re-run nor re-promoted.
"""

from __future__ import annotations

import datetime as dt
import random
import re
import shutil
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Any, Callable

from evalkit.errors import UserError
from evalkit.run.config import NO_JOURNAL, RunConfig
from evalkit.store import names
from evalkit.workspace import DEFAULT_ALIAS, EVALKIT_DIR, SUITES

MIN_BUILDS = 6
PHASES = ("reference", "regression", "fix", "steady")
#: the build of the regression phase (monitor-service focus).
REGRESSION_VERSION = "v2"

ProgressFn = Callable[[int, int, str], None]
#: how the builds of a history run by default: 3 trials per scenario, one investigation at a time on a thread.
HISTORY_RUN = RunConfig(trials=3, jobs=1, executor="threads", journal=NO_JOURNAL)


@dataclass(frozen=True)
class PlannedBuild:
    """One build of the plan: position, phase, a human label, the agent spec, and a promotion reason
    (empty: not promoted)."""

    index: int
    phase: str
    label: str
    spec: str
    promote: str = ""


@dataclass(frozen=True)
class HistoryBuild:
    """A build of the generated history as stored: its plan, MLflow run id, build id and start time."""

    planned: PlannedBuild
    run_id: str
    build_id: str
    start_time: dt.datetime
    promoted: bool
    reused: bool = False
    suite: str = ""


def _variant(j: int) -> dict[str, Any]:
    """The j-th seeded variant: a distinct exploration temperature (0.10–0.14), then call budgets."""
    temp = round(0.10 + 0.004 * ((j * 7) % 11), 4)
    out: dict[str, Any] = {"exploration_temperature": temp}
    if j >= 11:
        out["call_budget"] = 34 + j // 11
    return out


def phase_sizes(builds: int) -> dict[str, int]:
    """How many builds each phase gets (see the module docstring)."""
    if not isinstance(builds, int) or builds < MIN_BUILDS:
        raise UserError.at("--builds", "builds", builds, f"give at least {MIN_BUILDS} builds (20 makes a good demo)")
    ref = min(10, max(3, builds // 2))
    reg = 3 if builds >= 8 else 2
    return {"reference": ref, "regression": reg, "fix": 1, "steady": builds - ref - reg - 1}


def history_plan(builds: int = 20) -> list[PlannedBuild]:
    """The builds of a history of ``builds`` builds, oldest first."""
    sizes = phase_sizes(builds)
    plan: list[PlannedBuild] = []
    for phase in PHASES:
        size = sizes[phase]
        for j in range(size):
            version = REGRESSION_VERSION if phase == "regression" else "v1"
            spec = f"reference:{version}?" + "&".join(f"{k}={v}" for k, v in _variant(len(plan)).items())
            promote = ""
            if phase == "reference":
                label = f"v1 variant {j + 1}"
                promote = "first baseline" if j == 0 else "routine refresh" if size >= 6 and j == size // 2 else ""
            elif phase == "regression":
                label = f"v2 monitor focus {j + 1} (regression)"
            elif phase == "fix":
                label, promote = "fix: monitor focus reverted", "fix of the monitor-focus regression"
            else:
                label = f"v1 variant {sizes['reference'] + j + 1}"
                promote = "routine refresh" if size >= 4 and j == size // 2 else ""
            plan.append(PlannedBuild(len(plan), phase, label, spec, promote))
    return plan


def timestamps(n: int, end: dt.datetime | None = None, spacing_hours: float = 12.0,
               seed: int = 0) -> list[dt.datetime]:
    """``n`` increasing UTC times ending at ``end`` (default: the current hour), ``spacing_hours`` apart with
    up to ±20% seeded jitter."""
    if not spacing_hours > 0:
        raise UserError.at("--spacing-hours", "spacing_hours", spacing_hours, "must be a positive number of hours")
    end = end or dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.timezone.utc)
    rng = random.Random(seed)
    gaps = [spacing_hours * (1 + rng.uniform(-0.2, 0.2)) for _ in range(n - 1)]
    times = accumulate(reversed(gaps), lambda t, g: t - dt.timedelta(hours=g), initial=end)  # newest first
    return [t.replace(microsecond=0) for t in reversed(list(times))]


def subset_suite(source: str | Path, per_category: int, dest_dir: str | Path) -> Path:
    """A real suite made of the first ``per_category`` scenarios (by id) of every category of ``source``,
    with their ground truth: ``dest_dir/<name>-sub<N>/``, named ``<name>-sub<N>`` (its own name and content
    hash, so its runs never mix with the full suite's). Returns ``source``'s folder when no category has
    more scenarios than that. Rewritten only when its content would change."""
    from evalkit.suite import load_suite, resolve_suite

    if not isinstance(per_category, int) or per_category < 2:
        raise UserError.at("--per-category", "per_category", per_category,
                           "give at least 2 scenarios per category (or 0 for the whole suite)")
    full = load_suite(source)
    root = resolve_suite(source)
    chosen: dict[str, list[str]] = {}
    for sc in sorted(full.scenarios, key=lambda s: s.id):
        chosen.setdefault(sc.category, [])
        if len(chosen[sc.category]) < per_category:
            chosen[sc.category].append(sc.id)
    if all(len(ids) == sum(s.category == c for s in full.scenarios) for c, ids in chosen.items()):
        return root
    name = f"{full.name}-sub{per_category}"
    dest = Path(dest_dir) / name
    text = (root / "suite.toml").read_text(encoding="utf-8")
    text = re.sub(r'(?m)^name\s*=.*$', f'name = "{name}"', text, count=1)
    text = re.sub(r'(?m)^description\s*=.*$',
                  f'description = "The first {per_category} scenarios per category of suite {full.name} '
                  f'(version {full.version}, hash {full.hash[:12]})."', text, count=1)
    text = re.sub(r'(?m)^per_category\s*=.*$', f"per_category = {per_category}", text, count=1)
    files = {"suite.toml": text.encode("utf-8")}
    for ids in chosen.values():
        for sid in ids:
            for sub in ("scenarios", "truth"):
                files[f"{sub}/{sid}.json"] = (root / sub / f"{sid}.json").read_bytes()
    current = {str(f.relative_to(dest)): f.read_bytes() for f in dest.rglob("*") if f.is_file()} \
        if dest.is_dir() else {}
    if current != files:
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for rel, data in files.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(data)
        shutil.rmtree(dest, ignore_errors=True)
        tmp.replace(dest)
    return dest


def generate_history(store: Any, suite: str | Path = "core", builds: int = 20, config: RunConfig | None = None, *,
                     per_category: int | None = 5, suites_dir: str | Path | None = None, alias: str = DEFAULT_ALIAS,
                     end: dt.datetime | None = None, spacing_hours: float = 12.0,
                     progress: ProgressFn | None = None) -> list[HistoryBuild]:
    """Run the :func:`history_plan` builds on ``suite`` and log them into ``store`` (a Store), oldest first,
    with backdated start times and promotions to ``<suite>@alias``. Returns the stored builds.

    Every build runs with ``config`` (default :data:`HISTORY_RUN`: 3 trials, one thread), build ``i`` with
    run seed ``config.seed + i`` and no journal (a build already in the store is not run again).
    With ``per_category`` (default 5), the builds run on :func:`subset_suite` of ``suite`` written under
    ``suites_dir`` (default ``./.evalkit/suites``): enough scenarios per category for a lost category to
    show, at a fraction of the full suite's cost. ``None`` or 0 runs the whole suite."""
    from evalkit.agents.spec import load_agent
    from evalkit.run.runner import run_suite
    from evalkit.suite import load_suite

    plan = history_plan(builds)
    if per_category:
        suite = subset_suite(suite, per_category, suites_dir or Path.cwd() / EVALKIT_DIR / SUITES)
    suite_obj = load_suite(suite)
    config = config or HISTORY_RUN
    trials, seed = config.trials or suite_obj.default_trials, config.seed
    times = timestamps(len(plan), end, spacing_hours, seed)
    promoted_runs = {p.run_id for p in store.history(suite_obj.name, alias)}
    out: list[HistoryBuild] = []
    for b, when in zip(plan, times):
        if progress:
            progress(b.index, len(plan), b.label)
        key = f"demo-history-{suite_obj.name}-{suite_obj.hash[:12]}-s{seed}-k{trials}-n{len(plan)}-{b.index:03d}"
        build_id = str(load_agent(b.spec).build)
        existing = [r for r in store.find_runs(suite_obj.name, build_id=build_id, max_results=1000)
                    if r.tags.get(names.TAG_KEY) == key and r.uploaded]
        if existing:
            run_id, reused = existing[0].run_id, True
        else:
            result = run_suite(suite_obj, b.spec, config.replace(trials=trials, seed=seed + b.index,
                                                                 journal=NO_JOURNAL))
            logged = store.log_run(result, aggregates=result.aggregate(), role="history", outbox=False,
                                   idempotency_key=key, start_time=when,
                                   tags={names.TAG_HISTORY_PHASE: b.phase, names.TAG_HISTORY_LABEL: b.label,
                                         names.TAG_HISTORY_INDEX: str(b.index),
                                         names.TAG_HISTORY_SUITE_PATH: str(Path(suite_obj.path).resolve())})
            run_id, reused = logged.run_id, False
            build_id = result.meta["build_id"]
        if b.promote and run_id not in promoted_runs:  # a rerun does not promote the same run again
            store.promote(run_id, suite_obj.name, alias, reason=b.promote, who="evalkit demo-history",
                          suite_hash=suite_obj.hash)
            promoted_runs.add(run_id)
        out.append(HistoryBuild(b, run_id, build_id, when, bool(b.promote), reused, suite_obj.name))
    if progress:
        progress(len(plan), len(plan), "done")
    return out
