"""``evalkit drift --suite S [--alias A] [--since DATE] --output-dir DIR`` (the dashboard) and
``evalkit drift demo-history --suite smoke --builds 20`` (a real build history for demos). Thin commands over
:mod:`evalkit.drift`; pandas, mlflow and matplotlib are imported inside the commands."""

from __future__ import annotations

import click

from evalkit.cli.options import DEFAULT_ALIAS, store_for, tracking_option
from evalkit.errors import Problem, UserError


@click.group(invoke_without_command=True)
@click.option("--suite", default=None, help="Suite name (e.g. core); required to build the dashboard.")
@click.option("--alias", default=DEFAULT_ALIAS, show_default=True, help="Baseline alias whose promotions are marked.")
@click.option("--since", default=None, help="Only builds from this date on (ISO, e.g. 2024-06-01; UTC).")
@click.option("--output-dir", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Folder for index.html and drift.csv; required to build the dashboard.")
@click.option("--metrics", default=None,
              help="Comma-separated metrics (default: the gated metrics of the suite's policy).")
@click.option("--ref-builds", type=int, default=10, show_default=True,
              help="Builds in the reference window; mu_ref is their mean.")
@click.option("--recent", type=int, default=20, show_default=True, help="Builds shown in the overview grid.")
@click.option("--lam", type=float, default=0.2, show_default=True, help="EWMA weight lambda.")
@click.option("--limit-width", "L", type=float, default=3.0, show_default=True, help="EWMA limit width L.")
@click.option("--k", type=float, default=0.5, show_default=True, help="CUSUM allowance k (SE units).")
@click.option("--h", type=float, default=4.0, show_default=True, help="CUSUM alarm threshold h.")
@tracking_option
@click.pass_context
def drift(ctx: click.Context, suite: str | None, alias: str, since: str | None, out_dir: str | None,
          metrics: str | None, ref_builds: int, recent: int, lam: float, L: float, k: float, h: float,
          tracking_uri: str | None) -> None:
    """Build the quality-drift dashboard of a suite across builds (static HTML, no server).

    \b
    Per category and gated metric: the series across builds with each build's CI band, an EWMA line
    and lower-CUSUM alarms on z_t = (m_t - mu_ref) / SE_t (each build's own SE), promotions marked,
    alarms listed with links to their MLflow runs, and an overview grid (category x recent builds).

    \b
    Examples:
      evalkit drift --suite core --output-dir drift-report
      evalkit drift --suite core --alias main --since 2024-06-01 --metrics rca_top1,rca_score --output-dir drift-report
      evalkit drift demo-history --builds 20   # a real history to try it on (suite core-sub5)
    """
    if ctx.invoked_subcommand is not None:
        return
    problems = []
    if not suite:
        problems.append(Problem("evalkit drift", "--suite", "", "name the suite, e.g. --suite core"))
    if not out_dir:
        problems.append(Problem("evalkit drift", "--output-dir", "",
                                "give the output folder, e.g. --output-dir drift-report"))
    if recent < 1:
        problems.append(Problem("evalkit drift", "--recent", recent, "must be at least 1"))
    from evalkit.score.catalogue import METRICS, is_known

    problems += [Problem("evalkit drift", "--metrics", m, f"unknown metric; use one of {', '.join(METRICS)} or "
                         "custom.<scorer>.<name>")
                 for m in (metrics or "").split(",") if m.strip() and not is_known(m.strip())]
    if problems:
        raise UserError(*problems)

    from evalkit.drift import DriftParams, drift_dashboard

    params = DriftParams(lam=lam, L=L, k=k, h=h, ref_builds=ref_builds).check()
    chosen = tuple(m.strip() for m in metrics.split(",") if m.strip()) if metrics else None
    store = store_for(tracking_uri)
    path, result = drift_dashboard(store, suite, out_dir, alias=alias, since=since, metrics=chosen,
                                   params=params, recent=recent)
    builds = len(result.series.builds)
    alarms = result.alarms
    click.echo(f"drift dashboard of {suite}: {builds} builds, {len(alarms)} alarm(s) -> {path}")
    for r in alarms.itertuples():
        click.echo(f"  alarm: build #{r.order + 1} {r.build_id} ({r.start_time:%Y-%m-%d}) {r.category} {r.metric} "
                   f"m={r.mean:.3f} mu_ref={r.mu_ref:.3f} z={r.z:.2f} S={r.cusum:.2f} run {r.run_id}")
    hint = result.series.ui_hint()
    if hint and len(alarms):
        click.echo(f"  open the runs: {hint}")


@drift.command("demo-history")
@click.option("--suite", default="core", show_default=True, help="Suite to evaluate (name or folder).")
@click.option("--per-category", type=int, default=5, show_default=True,
              help="Run on a subset suite of this many scenarios per category (<suite>-sub<N>); 0: the whole suite.")
@click.option("--suites-dir", type=click.Path(file_okay=False), default=None,
              help="Where the subset suite is written (default: ./.evalkit/suites).")
@click.option("--builds", type=int, default=20, show_default=True, help="Number of builds in the history.")
@click.option("--trials", type=int, default=3, show_default=True, help="Trials per scenario and build.")
@click.option("--seed", type=int, default=0, show_default=True, help="Base run seed (build i uses seed + i).")
@click.option("--alias", default=DEFAULT_ALIAS, show_default=True, help="Baseline alias to promote to.")
@click.option("--spacing-hours", type=float, default=12.0, show_default=True,
              help="Hours between builds (backdated so the last build is now).")
@click.option("--jobs", type=int, default=1, show_default=True, help="Parallel investigations per build.")
@tracking_option
def demo_history(suite: str, per_category: int, suites_dir: str | None, builds: int, trials: int, seed: int,
                 alias: str, spacing_hours: float, jobs: int, tracking_uri: str | None) -> None:
    """Log a realistic build history (real reference-agent runs) into the store, for the dashboard.

    \b
    Seeded variants of reference:v1, then three builds of reference:v2 (monitor focus: a cross-category
    regression; downstream incidents are blamed on the alerting service), the fix, and more v1 builds,
    with promotions, spread over days. Runs on the first --per-category scenarios of each category.
    Use a separate store for demos, e.g. --tracking-uri sqlite:///demo/mlflow.db. Rerunning is idempotent.

    \b
    Examples:
      evalkit drift demo-history --builds 20 --tracking-uri sqlite:///demo/mlflow.db
      evalkit drift --suite core-sub5 --output-dir drift-report --tracking-uri sqlite:///demo/mlflow.db
      evalkit drift demo-history --suite smoke --per-category 0 --builds 12 --trials 1 --jobs 2
    """
    from evalkit.drift.history import HISTORY_RUN, generate_history

    store = store_for(tracking_uri)

    def progress(i: int, n: int, label: str) -> None:
        if i < n:
            click.echo(f"  build {i + 1}/{n}: {label}", err=True)

    config = HISTORY_RUN.replace(trials=trials, seed=seed, jobs=jobs)
    made = generate_history(store, suite, builds, config, per_category=per_category or None, suites_dir=suites_dir,
                            alias=alias, spacing_hours=spacing_hours, progress=progress)
    name = made[0].suite
    reused = sum(b.reused for b in made)
    promoted = sum(b.promoted for b in made)
    click.echo(f"history of {len(made)} builds of suite {name} in {store.tracking_uri} ({reused} already there), "
               f"{promoted} promoted to {name}@{alias}; "
               f"{made[0].start_time:%Y-%m-%d} -> {made[-1].start_time:%Y-%m-%d}")
    click.echo(f"next: evalkit drift --suite {name} --alias {alias} --output-dir drift-report"
               + (f" --tracking-uri '{tracking_uri}'" if tracking_uri else ""))
