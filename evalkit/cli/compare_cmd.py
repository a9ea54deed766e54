"""``evalkit compare``: compare two existing runs (no agent is run)."""

from __future__ import annotations

import json
import sys

import click

from evalkit.cli.options import DEFAULT_ALIAS, tracking_option
from evalkit.vocab import Correction, values


@click.command("compare")
@click.argument("candidate")
@click.argument("baseline", required=False)
@click.option("--suite", default=None, help="Suite name, to find the policy and (without BASELINE) the baseline.")
@click.option("--baseline-alias", default=DEFAULT_ALIAS, show_default=True, help="Alias used when BASELINE is omitted.")
@click.option("--policy", type=click.Path(dir_okay=False), default=None, help="Gate policy TOML.")
@click.option("--method", type=click.Choice(values(Correction)), default=None,
              help="Multiple-comparison correction (default: the policy's; bh for dashboards).")
@click.option("--allow-suite-mismatch", is_flag=True, help="Compare only the scenarios both suite versions share.")
@tracking_option
@click.option("--output-dir", type=click.Path(file_okay=False), default=None, help="Also write the reports here.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def compare(candidate, baseline, suite, baseline_alias, policy, method, allow_suite_mismatch, tracking_uri,
            output_dir, as_json) -> None:
    """Compare CANDIDATE with BASELINE (run ids, results .parquet files or run folders); exit 1 on regression.

    \b
    Examples:
      evalkit compare .evalkit/runs/core-ab12/ baselines/core/main.results.parquet --suite core
      evalkit compare 3f9c0e... --suite core          # against the current core@main baseline
      evalkit compare new.parquet old.parquet --method bh --json
    """
    from evalkit.gate import compare_refs, exit_code_of
    from evalkit.report import render_terminal, write_reports
    from evalkit.report.files import report_json

    comparison, ctx = compare_refs(candidate, baseline, suite=suite, baseline_alias=baseline_alias, policy=policy,
                                   method=method, allow_suite_mismatch=allow_suite_mismatch,
                                   tracking_uri=tracking_uri)
    if output_dir:
        write_reports(comparison, output_dir, ctx)
    if as_json:
        click.echo(json.dumps(report_json(comparison, ctx), indent=2, default=str))
    else:
        click.echo(render_terminal(comparison, ctx, color=sys.stdout.isatty()))
    raise click.exceptions.Exit(exit_code_of(comparison.verdict))
