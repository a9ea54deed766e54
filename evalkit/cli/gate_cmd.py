"""``evalkit gate``: the pre-merge gate for CI (exit 0 no regression, 1 regression, 2 could not evaluate)."""

from __future__ import annotations

import json
import sys
from contextlib import closing

import click

from evalkit.cli.options import DEFAULT_ALIAS, progress_for, run_options, tracking_option
from evalkit.workspace import REPORTS_DIR


@click.command("gate")
@click.option("--suite", default=None, help="Suite directory or shipped suite name (e.g. core); default: evalkit.toml's.")
@click.option("--agent", default=None, help="Candidate build: reference:<v>, pkg.module:factory, 'cmd:...', openai:<model>; "
                                            "default: evalkit.toml's.")
@click.option("--baseline", "--baseline-alias", "baseline_alias", default=DEFAULT_ALIAS, show_default=True,
              help="Baseline alias; resolved from the store, else the committed export in baselines/<suite>/.")
@run_options("gate")
@tracking_option
@click.option("--output-dir", type=click.Path(file_okay=False), default=REPORTS_DIR, show_default=True,
              help="Where reports are written.")
@click.option("--policy", type=click.Path(dir_okay=False), default=None,
              help="Gate policy TOML (default <baselines-dir>/<suite>/policy.toml, else the repository's).")
@click.option("--baselines-dir", type=click.Path(file_okay=False), default=None,
              help="Where committed baseline exports live (default ./baselines).")
@click.option("--pr", default=None, envvar="EVALKIT_PR", help="Pull-request number, recorded as a run tag.")
@click.option("--no-outbox", is_flag=True, help="Fail (exit 2) instead of queueing the run when the store is unreachable.")
@click.option("--json", "as_json", is_flag=True, help="Print the full verdict as JSON on stdout.")
@click.option("--quiet", is_flag=True, help="No progress output.")
def gate(suite, agent, baseline_alias, config, tracking_uri, output_dir, policy, baselines_dir, pr, no_outbox,
         as_json, quiet) -> None:
    """Run AGENT on SUITE, compare with the baseline under the suite's policy, write reports, exit 0/1/2.

    \b
    Examples:
      evalkit gate --suite core --agent reference:v2
      evalkit gate      # in a project set up by evalkit init: suite and agent from its evalkit.toml
      evalkit gate --suite core --agent 'cmd:node my_agent.js' --trials 3 --jobs 2 --output-dir reports/
      MLFLOW_TRACKING_URI=http://mlflow:5000 evalkit gate --suite core --agent mypkg.agent:build --pr 123
    Reports: report.md (pull-request comment), junit.xml, report.txt, comparison.json in --output-dir.
    A pool suite (core) is gated sequentially: rounds of scenarios drawn from each category's pool, one trial
    each unless --trials says otherwise, until every category regressed, showed no drop of delta or more, or
    spent its pool; --fixed runs the whole suite once instead.
    """
    from evalkit.run.executors import prestart
    from evalkit.workspace import Workspace

    ws = Workspace.resolve()
    suite, agent = ws.default("suite", suite), ws.default("agent", agent)
    prestart(config.executor, agent)  # the workers' start-up overlaps the imports below

    from evalkit.gate import run_gate
    from evalkit.report import render_terminal

    log = (lambda m: None) if (quiet or as_json) else (lambda m: click.echo(m, err=True))
    with closing(progress_for(quiet or as_json)) as reporter:
        result = run_gate(suite, agent, config, baseline_alias=baseline_alias, tracking_uri=tracking_uri,
                          output_dir=output_dir, policy=policy, baselines_dir=baselines_dir, pr=pr,
                          use_outbox=not no_outbox, progress=reporter, log=log)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, default=str))
    else:
        click.echo(render_terminal(result.comparison, result.context, color=sys.stdout.isatty()))
        click.echo(f"reports: {', '.join(str(p) for p in result.reports.values())}")
    raise click.exceptions.Exit(result.exit_code)
