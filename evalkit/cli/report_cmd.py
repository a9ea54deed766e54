"""``evalkit report``: write the reports of a stored run against a baseline (never gates: exit 0)."""

from __future__ import annotations

import click


@click.command("report")
@click.argument("run")
@click.option("--baseline", default=None, help="Baseline run id / .parquet / run folder (default: the suite's alias).")
@click.option("--baseline-alias", default="main", show_default=True)
@click.option("--suite", default=None, help="Suite name (default: the run's).")
@click.option("--policy", type=click.Path(dir_okay=False), default=None, help="Gate policy TOML.")
@click.option("--tracking-uri", default=None,
              help="MLflow tracking URI (env MLFLOW_TRACKING_URI; default: embedded SQLite in .evalkit/mlflow).")
@click.option("--output-dir", type=click.Path(file_okay=False), default="evalkit-reports", show_default=True)
@click.option("--format", "fmt", type=click.Choice(["markdown", "junit", "text", "json"]), default="markdown",
              show_default=True, help="Which report to print on stdout.")
def report(run, baseline, baseline_alias, suite, policy, tracking_uri, output_dir, fmt) -> None:
    """Write report.md, junit.xml, report.txt and comparison.json for RUN and print one of them.

    \b
    Examples:
      evalkit report 3f9c0e... --suite core
      evalkit report .evalkit/runs/core-ab12/ --baseline baselines/core/main.parquet --format junit
    """
    from evalkit.compare import compare, load_policy, policy_for_suite
    from evalkit.errors import UserError
    from evalkit.report import ReportContext, write_reports
    from evalkit.store import Store, resolve_baseline
    from evalkit.tables import load_run_table

    store = Store(tracking_uri)
    cand, cand_src = load_run_table(run, store)
    suite_name = suite or (str(cand["suite"].iloc[0]) if len(cand) else "")
    if baseline:
        base, base_src = load_run_table(baseline, store)
    elif suite_name:
        base, base_src = resolve_baseline(store, suite_name, baseline_alias)
    else:
        raise UserError.at("report", "--baseline", "missing", "pass --baseline or --suite")
    pol = load_policy(policy) if policy else policy_for_suite(suite_name)
    comparison = compare(cand, base, pol)
    ctx = ReportContext(suite=suite_name, candidate_build=str(cand["build_id"].iloc[0]) if len(cand) else "",
                        baseline_build=str(base["build_id"].iloc[0]) if len(base) else "", baseline_source=base_src,
                        candidate_run=run)
    paths = write_reports(comparison, output_dir, ctx)
    key = {"markdown": "markdown", "junit": "junit", "text": "text", "json": "json"}[fmt]
    click.echo(paths[key].read_text(encoding="utf-8"), nl=False)
