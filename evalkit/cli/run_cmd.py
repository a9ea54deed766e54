"""``evalkit run``: run a suite against an agent build, write the results and print the summary."""

from __future__ import annotations

import json
import time
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import click

from evalkit.cli.options import progress_for, run_options, store_for, tracking_option
from evalkit.vocab import Role, values


@click.command("run")
@click.option("--suite", "suite", default=None,
              help="Suite directory or shipped suite name (e.g. core, smoke); default: evalkit.toml's.")
@click.option("--agent", "agent", default=None,
              help="Agent build: reference:<version>, pkg.module:factory, 'cmd:<command line>' or openai:<model>; "
                   "default: evalkit.toml's.")
@run_options("run")
@click.option("--scenario", "scenarios", multiple=True,
              help="Run only this scenario id (repeatable): try an agent on a few scenarios first.")
@click.option("--limit", type=int, default=None,
              help="Run at most N scenarios, one per category in turn.")
@click.option("--output-dir", type=click.Path(file_okay=False), default=None,
              help="Where to write results.parquet, trajectories.jsonl.gz, meta.json "
                   "(default .evalkit/runs/<suite>-<hash of the build id>-<seed>-<time>).")
@tracking_option
@click.option("--no-log", is_flag=True, help="Do not log the run to MLflow (files in --output-dir only).")
@click.option("--no-outbox", is_flag=True,
              help="Fail (exit 2) before running instead of queueing the run when the store is unreachable.")
@click.option("--role", type=click.Choice(values(Role)), default=Role.CANDIDATE.value,
              show_default=True, help="Role tag of the logged run.")
@click.option("--pr", default=None, envvar="EVALKIT_PR", help="Pull-request number, recorded as a run tag.")
@click.option("--json", "as_json", is_flag=True, help="Print meta, output paths and aggregates as JSON.")
@click.option("--quiet", is_flag=True, help="No progress output.")
def run(suite, agent, config, scenarios, limit, output_dir, tracking_uri, no_log, no_outbox, role, pr, as_json, quiet) -> None:
    """Run SUITE against an agent build: k trials per scenario, scored, resumable after a crash.

    \b
    Examples:
      evalkit run --suite core --agent reference:v1 --trials 3 --jobs 2
      evalkit run --suite core --agent reference:v1 --trials 5 --role baseline --json > run.json
      evalkit baseline promote "$(jq -r .run_id run.json)" --suite core --alias main --reason "merge of abc123"
      evalkit run --suite smoke --agent mypkg.agent:build --trials 1 --no-log --output-dir out/
      evalkit run --suite smoke --agent 'cmd:python my_agent.py' --limit 3 --no-log
    The run is logged to MLflow (--tracking-uri / MLFLOW_TRACKING_URI) and its id printed; an unreachable
    server queues it in .evalkit/outbox (`evalkit sync` uploads it) unless --no-outbox.
    Rerunning the same command after an interruption skips the trials already journaled.
    """
    from evalkit.run.executors import prestart
    from evalkit.workspace import EVALKIT_DIR, Workspace

    ws = Workspace.resolve()
    suite, agent = ws.default("suite", suite), ws.default("agent", agent)
    prestart(config.executor, agent)  # the workers' start-up overlaps the imports below

    from evalkit.jsonable import jsonable
    from evalkit.run.journal import build_hash
    from evalkit.run.outputs import write_outputs
    from evalkit.run.runner import run_suite
    from evalkit.run.summary import format_summary

    # the store is resolved before the run, so that a bad tracking URI (or, with --no-outbox, a server that does
    # not answer) fails in one line before any investigation
    store = None if no_log else store_for(tracking_uri)
    if output_dir is not None:
        from evalkit.atomic import require_writable

        require_writable(output_dir, "--output-dir")  # before the run, not after it
    if store is not None:
        store.require_loggable(outbox=not no_outbox)
    if role != Role.CANDIDATE:  # a baseline's trials are never resumed as a gate's candidate
        config = config.replace(journal=replace(config.journal, name=role))
    with closing(progress_for(quiet)) as reporter:
        result = run_suite(suite, agent, config, progress=reporter, scenario_ids=scenarios or None, limit=limit)
    meta = result.meta
    if output_dir is None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        output_dir = Path(EVALKIT_DIR) / "runs" / f"{meta['suite']}-{build_hash(meta['build_id'])}-{config.seed}-{stamp}"
    paths = write_outputs(result, output_dir)
    if config.trace.enabled:  # the trials as MLflow traces (--trace), in the run's tracking store
        from evalkit.labels.trace_log import log_run_traces

        uri, experiment = store_for(tracking_uri).tracking_uri, config.trace.experiment
        ids = log_run_traces(result, suite, experiment=experiment, tracking_uri=uri)
        click.echo(f"logged {len(ids)} traces to experiment {experiment} at {uri}", err=True)
    agg = result.aggregate()
    logged = None
    if store is not None:
        logged = store.log_run(result, aggregates=agg, role=role, pr=pr, outbox=not no_outbox)
        if logged.settled:
            click.echo(f"note: {logged.settled}", err=True)
    if as_json:
        doc = {"meta": meta, "outputs": {k: str(v) for k, v in paths.items()},
               "run_id": getattr(logged, "run_id", None), "queued_in_outbox": bool(getattr(logged, "queued", False)),
               "aggregate": jsonable(agg.to_dict(orient="records"))}
        click.echo(json.dumps(doc, indent=2, default=str))
    else:
        click.echo(format_summary(result, agg))
        click.echo(f"\nresults: {paths['results']}")
        if logged is not None:
            click.echo(logged.message)
