"""`evalkit suite ...`: validate, generate, list and show investigation suites (thin over evalkit.suite)."""

from __future__ import annotations

import sys
from contextlib import closing

import click

from evalkit.cli.options import progress_for
from evalkit.errors import UserError


@click.group("suite")
def suite() -> None:
    """Validate, generate, list and show investigation suites.

    \b
    Examples:
      evalkit suite list
      evalkit suite validate suites/core
      evalkit suite show smoke kubernetes-oom-001
      evalkit suite generate --output-dir suites/mine --name mine --per-category 5 --seed 1
    """


@suite.command("validate")
@click.argument("path")
@click.option("--replay", is_flag=True, help="Also replay every generated world and check it matches its "
                                            "stored alert and digest (slower).")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(min=1),
              help="Worker processes checking files (and replaying) in parallel; same result as 1.")
def validate_cmd(path: str, replay: bool, jobs: int) -> None:
    """Check every file of the suite at PATH (or a suite name); list all problems, exit 2 on any.

    Each problem is one line: file, field, bad value and the fix. On success prints the scenario and
    category counts and the suite's content hash.

    \b
    Examples:
      evalkit suite validate suites/core
      evalkit suite validate core --replay --jobs 2
    """
    from evalkit.suite import resolve_suite
    from evalkit.suite.validate import check_suite

    root = resolve_suite(path)
    shown = str(root).rstrip("/")
    # stderr carries the problem lines: a bar on a terminal only
    with closing(progress_for(not getattr(sys.stderr, "isatty", lambda: False)(), "files")) as progress:
        s, problems = check_suite(root, deep=True, replay=replay, jobs=jobs, progress=progress)
    if problems:
        for p in problems:
            click.echo(str(p), err=True)
        noun = "problem" if len(problems) == 1 else "problems"
        raise UserError.at(shown, "", f"{len(problems)} {noun}", "fix the lines above and validate again")
    cats = len({sc.category for sc in s.scenarios})
    click.echo(f"{shown}: OK \u2014 {len(s.scenarios)} scenarios in {cats} categories (hash {s.hash[:12]})")


@suite.command("generate")
@click.option("--output-dir", "out", required=True, type=click.Path(file_okay=False),
              help="Folder to write the suite to.")
@click.option("--name", required=True, help="Suite name (written to suite.toml).")
@click.option("--per-category", "per_category", required=True, type=int, help="Scenarios per category.")
@click.option("--seed", default=0, show_default=True, type=int, help="Suite seed (every scenario seed derives "
                                                                        "from it).")
@click.option("--categories", default=None, help="Comma-separated categories (default: all 12).")
@click.option("--noise", default="0.3-0.9", show_default=True,
              help="Noise level 0..1, or a range like 0.3-0.9 drawn per scenario.")
@click.option("--description", default=None, help="One-line suite description.")
@click.option("--version", "version", default="1.0.0", show_default=True, help="Suite version string.")
@click.option("--trials", "default_trials", default=3, show_default=True, type=int, help="Default trials.")
@click.option("--materialize", is_flag=True, help="Write telemetry files (worlds/<id>/) instead of seeds.")
@click.option("--force", is_flag=True, help="Replace --output-dir if it exists.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(min=1),
              help="Worker processes building worlds in parallel; the suite is byte-identical to --jobs 1.")
@click.option("--pool", is_flag=True, help="Mark the suite as a pool: the gate samples it in rounds "
                                           "(sequential design) against a baseline of the whole pool.")
def generate_cmd(out: str, name: str, per_category: int, seed: int, categories: str | None, noise: str,
                 description: str | None, version: str, default_trials: int, materialize: bool,
                 force: bool, jobs: int, pool: bool) -> None:
    """Generate a synthetic suite: realistic microservice incidents, one injected fault each.

    Scenario k of a category depends only on (seed, category, k), so generating again with the same seed
    and a larger --per-category keeps every existing scenario file and appends new ones.

    \b
    Examples:
      evalkit suite generate --output-dir suites/mine --name mine --per-category 5 --seed 1
      evalkit suite generate --output-dir /tmp/big --name big --per-category 834 --jobs 2
      evalkit suite generate --output-dir /tmp/db --name db --per-category 10 \\
          --categories database/slow-query,database/connection-pool --noise 0.8
      evalkit suite generate --output-dir suites/pool --name pool --per-category 100 --pool
    """
    from evalkit.suite import generate_suite

    cats = [c.strip() for c in categories.split(",") if c.strip()] if categories else None
    with closing(progress_for(False, "scenarios")) as progress:
        done = generate_suite(out, name, per_category, seed=seed, categories=cats, noise=noise,
                              description=description, version=version, default_trials=default_trials,
                              materialize=materialize, force=force, progress=progress, jobs=jobs, pool=pool)
    click.echo(f"{done.path}: wrote {done.scenarios} scenarios (hash {done.hash[:12]})")


@suite.command("list")
def list_cmd() -> None:
    """Suites found under the project's suites/, an evalkit checkout's and the shipped ones, with scenario and
    category counts (a name is listed once: the folder `--suite NAME` resolves to).

    \b
    Example:
      evalkit suite list
    """
    from evalkit.suite.loader import suite_search_dirs
    from evalkit.suite.validate import check_suite

    found: set[str] = set()
    for d in suite_search_dirs():
        for sdir in sorted(p for p in d.iterdir() if not p.name.startswith(".") and (p / "suite.toml").is_file()):
            if sdir.name in found:
                continue  # shadowed by a folder of the same name looked up first
            found.add(sdir.name)
            s, problems = check_suite(sdir, deep=False)
            if s is None:
                click.echo(f"{sdir}: INVALID ({len(problems)} problems; run `evalkit suite validate {sdir}`)")
            else:
                cats = len({sc.category for sc in s.scenarios})
                click.echo(f"{s.name:12s} {len(s.scenarios):5d} scenarios  {cats:3d} categories  "
                           f"v{s.version}  hash {s.hash[:12]}  {sdir}")
    if not found:
        click.echo("no suites found under ./suites")


@suite.command("show")
@click.argument("suite_ref", metavar="SUITE")
@click.argument("scenario_id", metavar="ID")
def show_cmd(suite_ref: str, scenario_id: str) -> None:
    """Print what an agent would see for one scenario: the alert, components, telemetry counts (never the truth).

    \b
    Example:
      evalkit suite show smoke kubernetes-oom-001
    """
    import json

    from evalkit.suite import load_suite, load_world

    s = load_suite(suite_ref)
    sc = next((x for x in s.scenarios if x.id == scenario_id), None)
    if sc is None:
        near = [x.id for x in s.scenarios if scenario_id.split("-")[0] in x.id][:5]
        raise UserError.at(f"{s.path}", "id", scenario_id, "no such scenario in the suite"
                           + (f"; e.g. {', '.join(near)}" if near else ""))
    w = load_world(sc)
    click.echo(f"scenario {sc.id}  ({sc.category}; noise level {sc.noise_level})")
    click.echo(f"window   {w.start} .. {w.end} (step {w.step}s, {len(w.timestamps)} points)")
    click.echo("alert    " + json.dumps(w.alert, sort_keys=True))
    kinds: dict[str, list[str]] = {}
    for c in w.components:
        kinds.setdefault(c["kind"], []).append(c["name"])
    click.echo(f"components ({len(w.components)}):")
    for k in sorted(kinds):
        names = kinds[k]
        shown = ", ".join(names[:8]) + (f", ... (+{len(names) - 8})" if len(names) > 8 else "")
        click.echo(f"  {k:15s} {len(names):3d}  {shown}")
    n_series = sum(len(m) for m in w.metrics.values())
    click.echo(f"telemetry: {n_series} metric series, {len(w.logs)} log lines, {len(w.traces)} traces, "
               f"{len(w.events)} events, {len(w.monitors)} monitors "
               f"({sum(1 for m in w.monitors if m.get('state') == 'ALERT')} alerting)")


@suite.command("import")
@click.argument("kind", metavar="petshop|nezha")
@click.argument("source", metavar="[SOURCE_DIR]", required=False)
@click.option("--output-dir", "out", required=True, type=click.Path(file_okay=False),
              help="Folder to write the suite to.")
@click.option("--name", default=None, help="Suite name (default: real-<dataset>).")
@click.option("--force", is_flag=True, help="Replace --output-dir if it exists.")
def import_cmd(kind: str, source: str | None, out: str, name: str | None, force: bool) -> None:
    """Import a public RCA dataset from SOURCE_DIR (default: the shared copy) as a suite; see docs/real-suites.md.

    \b
    Examples:
      evalkit suite import petshop --output-dir suites/real-petshop
      evalkit suite import nezha /data/nezha --output-dir suites/nezha-mine --name nezha-mine --force
      evalkit suite validate suites/real-petshop
    """
    from evalkit.suite.importers import IMPORTERS, default_source, import_suite

    src = source or (default_source(kind) if kind in IMPORTERS else "")
    res = import_suite(kind, src, out, name=name, force=force)
    click.echo(f"{res.path}: imported {res.scenarios} scenarios in {len(res.per_category)} categories "
               f"(hash {res.hash[:12]})")
    for cat, n in res.per_category.items():
        click.echo(f"  {cat:28s} {n:4d}")
    for case, why in res.skipped:
        click.echo(f"  skipped {case}: {why}")
