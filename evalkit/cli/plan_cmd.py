"""``evalkit plan``: what a suite's pool can resolve, from its baseline, before any candidate runs."""

from __future__ import annotations

import json

import click

from evalkit.cli.options import DEFAULT_ALIAS, tracking_option


@click.command("plan")
@click.option("--suite", required=True, help="Suite directory or shipped suite name (e.g. core).")
@click.option("--baseline", "--baseline-alias", "baseline_alias", default=DEFAULT_ALIAS, show_default=True,
              help="Baseline alias; resolved from the store, else the committed export in baselines/<suite>/.")
@click.option("--policy", type=click.Path(dir_okay=False), default=None,
              help="Gate policy TOML (default <baselines-dir>/<suite>/policy.toml).")
@click.option("--baselines-dir", type=click.Path(file_okay=False), default=None,
              help="Where committed baseline exports live (default ./baselines).")
@tracking_option
@click.option("--reps", default=400, show_default=True, type=click.IntRange(50, 100_000),
              help="Simulated gates per category and drop.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan(suite, baseline_alias, policy, baselines_dir, tracking_uri, reps, as_json) -> None:
    """Per category: the pool, the power against a drop of delta, the scenarios the gate spends, and the
    smallest drop the pool resolves at the policy's power.

    \b
    Examples:
      evalkit plan --suite core
      evalkit plan --suite core --policy my-policy.toml --json
    The sequential design is simulated on the baseline's own per-scenario results (one candidate trial per
    scenario, wrong answers planted in scenarios the baseline solves).
    """
    from evalkit.gate import plan_suite

    table, pol, source = plan_suite(suite, baseline_alias=baseline_alias, policy=policy,
                                    baselines_dir=baselines_dir, tracking_uri=tracking_uri, reps=reps)
    if as_json:
        click.echo(json.dumps({"policy": pol.source, "baseline": source, "metric": pol.metrics[0],
                               "categories": table.to_dict(orient="records")}, indent=2, default=str))
        return
    metric = pol.metrics[0]
    click.echo(f"plan for {suite}: {metric}, margin {100 * pol.margin:.0f} pts, delta {100 * pol.delta_for(metric):.0f} "
               f"pts, power target {pol.power:.0%}, family-wise alpha {pol.alpha}")
    click.echo(f"baseline: {source}")
    header = ["category", "pool", "baseline", f"power@-{100 * pol.delta_for(metric):.0f}", "scen@delta",
              "scen@same", "resolvable", "fixed needs"]
    rows = [[r.category, str(r.pool), f"{100 * r.baseline_mean:.1f}%", f"{100 * r.power_at_delta:.0f}%",
             f"{r.scenarios_at_delta:.0f}", f"{r.scenarios_unchanged:.0f}",
             "none" if r.resolvable_drop != r.resolvable_drop else f"-{100 * r.resolvable_drop:.1f} pts",
             str(r.fixed_needed)] for r in table.itertuples(index=False)]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = lambda cols: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cols, widths)))  # noqa: E731
    click.echo(line(header))
    click.echo("  ".join("-" * w for w in widths))
    for r in rows:
        click.echo(line(r))
    click.echo("power@: simulated share of gates that flag a drop of delta in that category; scen@: mean scenarios "
               "(one trial each) the category spends when it dropped by delta / did not change; resolvable: the "
               "smallest drop flagged with the target power; fixed needs: scenarios a one-shot test needs for "
               "that power at delta.")
