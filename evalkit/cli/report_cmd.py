"""``evalkit report``: write the reports of a stored run against a baseline; exits like ``compare`` and ``gate``
(1 on a regression), so a CI step that only renders reports cannot turn a regressed comparison green."""

from __future__ import annotations

import click

from evalkit.cli.options import DEFAULT_ALIAS, tracking_option
from evalkit.vocab import ReportFormat, values
from evalkit.workspace import REPORTS_DIR


@click.command("report")
@click.argument("run")
@click.option("--baseline", default=None, help="Baseline run id / .parquet / run folder (default: the suite's alias).")
@click.option("--baseline-alias", default=DEFAULT_ALIAS, show_default=True)
@click.option("--suite", default=None, help="Suite name (default: the run's).")
@click.option("--policy", type=click.Path(dir_okay=False), default=None, help="Gate policy TOML.")
@click.option("--allow-suite-mismatch", is_flag=True, help="Compare only the scenarios both suite versions share.")
@tracking_option
@click.option("--output-dir", type=click.Path(file_okay=False), default=REPORTS_DIR, show_default=True)
@click.option("--format", "fmt", type=click.Choice(values(ReportFormat)), default=ReportFormat.MARKDOWN.value,
              show_default=True, help="Which report to print on stdout.")
def report(run, baseline, baseline_alias, suite, policy, allow_suite_mismatch, tracking_uri, output_dir, fmt) -> None:
    """Write report.md, junit.xml, report.txt and comparison.json for RUN, print one; exit 1 on regression.

    \b
    Examples:
      evalkit report 3f9c0e... --suite core
      evalkit report .evalkit/runs/core-ab12/ --baseline baselines/core/main.results.parquet --format junit
    """
    from evalkit.gate import compare_refs, exit_code_of
    from evalkit.report import write_reports

    comparison, ctx = compare_refs(run, baseline, suite=suite, baseline_alias=baseline_alias, policy=policy,
                                   allow_suite_mismatch=allow_suite_mismatch, tracking_uri=tracking_uri,
                                   missing_baseline=("report", "--baseline", "pass --baseline or --suite"))
    paths = write_reports(comparison, output_dir, ctx)
    click.echo(paths[fmt].read_text(encoding="utf-8"), nl=False)
    raise click.exceptions.Exit(exit_code_of(comparison.verdict))
