"""``evalkit baseline promote|history|current|export|import`` and ``evalkit sync``: thin commands over
:class:`evalkit.store.Store`. Heavy imports (pandas, mlflow) happen inside the commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from evalkit.cli.options import DEFAULT_ALIAS, store_for, tracking_option
from evalkit.errors import UserError
from evalkit.workspace import Workspace

suite_option = click.option("--suite", required=True, help="Suite name (e.g. core) or suite folder.")
alias_option = click.option("--alias", default=DEFAULT_ALIAS, show_default=True,
                            help="Baseline alias (e.g. main, release-2024.06, nightly).")
baselines_dir_option = click.option("--baselines-dir", type=click.Path(file_okay=False), default=None,
                                    help="Folder of committed baselines (<baselines-dir>/<suite>/<alias>.*; "
                                         "default: the project's baselines/).")


def _suite_identity(suite: str, suite_hash: str | None, need_hash: bool) -> tuple[str, str | None]:
    """(suite name, current suite hash). The hash comes from ``--suite-hash`` or the suite folder found for
    ``suite``; when it is needed and neither is available, a UserError says how to provide it."""
    looks_like_path = any(sep in suite for sep in ("/", "\\")) or Path(suite).is_dir()
    if suite_hash and not looks_like_path:
        return suite, suite_hash
    try:
        from evalkit.suite import load_suite, resolve_suite, suite_hash as compute_hash

        folder = resolve_suite(suite)
    except (ImportError, UserError) as err:
        if looks_like_path:
            raise
        if need_hash:
            raise UserError.at("--suite", "suite", suite,
                               f"cannot compute the suite's current hash ({str(err).splitlines()[0]}); run from the "
                               "repository that holds the suite or pass --suite-hash") from None
        return suite, suite_hash
    try:
        loaded = load_suite(folder)  # carries its hash: no second pass over the files
        return loaded.name, suite_hash or loaded.hash
    except Exception:  # noqa: BLE001 - the folder name is the suite name by convention
        return folder.name or suite, suite_hash or compute_hash(folder)


@click.group()
def baseline() -> None:
    """Promote, list, export and import baselines.

    \b
    A baseline is a promoted run: `promote` appends (suite, alias, run, who, when, reason) to an append-only
    history; the current baseline of an alias is its latest promotion; rollback = promote an older run.

    \b
    Examples:
      evalkit baseline promote RUN_ID --suite core --alias main --reason "merge of abc123"
      evalkit baseline history --suite core
      evalkit baseline current --suite core --alias main
      evalkit baseline export --suite core --alias main --baselines-dir baselines
      evalkit baseline import --suite core --alias main     # in a fresh checkout: load the committed export
    Tracking: --tracking-uri, EVALKIT_TRACKING_URI or MLFLOW_TRACKING_URI (default: embedded SQLite in
    ./.evalkit/mlflow).
    """


@baseline.command()
@click.argument("run_id")
@suite_option
@alias_option
@click.option("--reason", default="", help="Why this run becomes the baseline (kept in the history).")
@click.option("--suite-hash", default=None,
              help="Current suite hash (default: computed from the suite folder); runs of other versions are refused.")
@click.option("--who", default=None, help="Promoter (default: $EVALKIT_USER, CI actor or login name).")
@click.option("--max-infra-error-rate", type=float, default=0.05, show_default=True,
              help="Refuse runs whose share of infrastructure-failed trials exceeds this.")
@tracking_option
def promote(run_id: str, suite: str, alias: str, reason: str, suite_hash: str | None, who: str | None,
            max_infra_error_rate: float, tracking_uri: str | None) -> None:
    """Promote RUN_ID to be the baseline SUITE@ALIAS.

    The run must be of the suite's current version and not have lost too many trials to infrastructure
    errors. Rollback = promote an older run; the history keeps both.

    \b
    Examples:
      evalkit baseline promote RUN_ID --suite core --alias main --reason "merge of abc123"
      evalkit run --suite core --agent reference:v1 --role baseline --json > run.json
      evalkit baseline promote "$(jq -r .run_id run.json)" --suite core --alias release-2024.06
    """
    name, current_hash = _suite_identity(suite, suite_hash, need_hash=True)
    p = store_for(tracking_uri).promote(run_id, name, alias, reason=reason, who=who, suite_hash=current_hash,
                                     max_infra_error_rate=max_infra_error_rate)
    click.echo(f"promoted run {p.run_id} (build {p.build_id}) as {p.suite}@{p.alias} at {p.promoted_at} "
               f"by {p.who} [record {p.record_id}]")


@baseline.command()
@suite_option
@click.option("--alias", default=None, help="Only this alias (default: all).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines instead of a table.")
@tracking_option
def history(suite: str, alias: str | None, as_json: bool, tracking_uri: str | None) -> None:
    """List the promotions of SUITE, oldest first.

    A '*' marks the current baseline of each alias.

    \b
    Examples:
      evalkit baseline history --suite core
      evalkit baseline history --suite core --alias main --json | jq -r .run_id
    """
    name, _ = _suite_identity(suite, None, need_hash=False)
    records = store_for(tracking_uri).history(name, alias)
    if not records:
        from evalkit.suite.loader import unknown_suite_note

        note = unknown_suite_note(name)
        if note:  # nothing stored and no such suite: a misspelled name, not an empty history
            raise UserError.at("--suite", "", name, f"no promotions of it in the store{note}")
    if as_json:
        for p in records:
            click.echo(json.dumps(p.to_dict(), sort_keys=True))
        return
    if not records:
        click.echo(f"no promotions of {name}{'@' + alias if alias else ''}")
        return
    current = {p.alias: p.record_id for p in records}  # the last record of each alias wins
    header = ("", "promoted_at", "alias", "run_id", "build", "suite_hash", "who", "reason")
    rows = [("*" if current[p.alias] == p.record_id else "", p.promoted_at, p.alias, p.run_id, p.build_id,
             p.suite_hash[:12], p.who, p.reason) for p in records]
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    for r in [header, *rows]:
        click.echo("  ".join(str(v).ljust(w) for v, w in zip(r, widths)) + "  " + str(r[-1]))


@baseline.command()
@suite_option
@alias_option
@tracking_option
def current(suite: str, alias: str, tracking_uri: str | None) -> None:
    """Show the current baseline of SUITE@ALIAS as JSON (exit 2 if none).

    \b
    Examples:
      evalkit baseline current --suite core
      evalkit baseline current --suite core --alias nightly | jq -r .run_id
    """
    name, _ = _suite_identity(suite, None, need_hash=False)
    p = store_for(tracking_uri).current_baseline(name, alias)
    if p is None:
        raise UserError.at(f"baseline {name}@{alias}", "promotion", "none",
                           f"promote a run: evalkit baseline promote RUN --suite {name} --alias {alias}")
    click.echo(json.dumps(p.to_dict(), indent=2, sort_keys=True))


@baseline.command("export")
@suite_option
@alias_option
@click.option("--run", "run_id", default=None, help="Export this run instead of the current baseline.")
@baselines_dir_option
@tracking_option
def export_cmd(suite: str, alias: str, run_id: str | None, baselines_dir: str | None,
               tracking_uri: str | None) -> None:
    """Write SUITE@ALIAS to <baselines-dir>/<suite>/ for committing.

    Files: <alias>.results.parquet and <alias>.manifest.json (build, suite hash, run id, sha256...).

    \b
    Examples:
      evalkit baseline export --suite core
      evalkit baseline export --suite core --alias main --baselines-dir baselines
      evalkit baseline export --suite core --alias candidate --run RUN_ID
    """
    name, _ = _suite_identity(suite, None, need_hash=False)
    ws = Workspace.resolve(tracking_uri=tracking_uri, baselines_dir=baselines_dir)
    path = ws.store().export_baseline(name, alias, ws.baselines_dir(), run_id=run_id)
    manifest = json.loads(Path(path).read_text())
    click.echo(f"exported run {manifest['mlflow_run_id']} (build {manifest['build_id']}, {manifest['rows']} rows) "
               f"to {path}")


@baseline.command("import")
@suite_option
@alias_option
@baselines_dir_option
@click.option("--suite-hash", default=None, help="Refuse an export made for another suite hash.")
@click.option("--who", default=None, help="Promoter recorded in the history.")
@tracking_option
def import_cmd(suite: str, alias: str, baselines_dir: str | None, suite_hash: str | None, who: str | None,
               tracking_uri: str | None) -> None:
    """Load the committed export of SUITE@ALIAS into the store.

    Creates a run and promotes it; importing the same export again changes nothing.

    \b
    Examples:
      evalkit baseline import --suite core
      MLFLOW_TRACKING_URI=http://mlflow:5000 evalkit baseline import --suite core --alias main --who alice
    """
    name, current_hash = _suite_identity(suite, suite_hash, need_hash=False)
    ws = Workspace.resolve(tracking_uri=tracking_uri, baselines_dir=baselines_dir)
    folder = Path(suite) if Path(suite).is_dir() else ws.suite_path(name)
    p = ws.store().import_baseline(name, alias, ws.baselines_dir(folder), suite_hash=current_hash, who=who)
    click.echo(f"{p.suite}@{p.alias} is run {p.run_id} (build {p.build_id}), promoted {p.promoted_at}")


@click.command()
@tracking_option
@click.option("--outbox", "outbox_dir", type=click.Path(file_okay=False), default=None,
              help="Outbox folder (default: .evalkit/outbox).")
@click.option("--list", "list_only", is_flag=True, help="Only list the queued runs.")
def sync(tracking_uri: str | None, outbox_dir: str | None, list_only: bool) -> None:
    """Upload runs kept in the offline outbox, exactly once each.

    Each queued run goes to the tracking server it was meant for, or to --tracking-uri (or
    MLFLOW_TRACKING_URI) when given. Exit code 2 while some runs could not be uploaded. Runs an
    interrupted upload left RUNNING in that store are closed (FINISHED if complete, else FAILED) and named.

    \b
    Examples:
      evalkit sync --list
      evalkit sync
      evalkit sync --tracking-uri http://mlflow:5000 --outbox ci-artifacts/.evalkit/outbox
    """
    from evalkit.store.tracking import TrackingUnreachable

    store = store_for(tracking_uri, outbox_dir)
    if list_only:
        entries = store.pending()
        for e in entries:
            click.echo(f"{e.key}  {e.suite}  {e.build_id}  {e.created_at}  -> {e.tracking_uri}")
        click.echo(f"{len(entries)} run(s) queued in {store.outbox.directory}")
        return
    results = store.sync()
    try:  # after the uploads: runs a crashed sync left RUNNING (and any other interrupted upload's)
        settled = store.settle_interrupted()
    except TrackingUnreachable:
        settled = ""  # the server is down: the next sync, run or gate closes them
    if settled:
        click.echo(settled)
    for r in results:
        click.echo(f"{r.key}: {r.message}")
    left = [r for r in results if r.status in ("unreachable", "busy")]
    if not results:
        click.echo(f"outbox {store.outbox.directory} is empty")
    if left:
        raise UserError.at(str(store.outbox.directory), "queued", len(left),
                           "runs still waiting: start the tracking server (or pass --tracking-uri) and run "
                           "`evalkit sync` again")
