"""``evalkit init``: scaffold evalkit in your agent's git repository (a thin wrapper of evalkit.scaffold)."""

from __future__ import annotations

from contextlib import closing

import click

from evalkit.scaffold import DEFAULT_CATEGORIES, InitOptions


@click.command("init")
@click.option("--categories", default=",".join(DEFAULT_CATEGORIES), show_default=True,
              help="Comma-separated incident categories of the starter suite (`evalkit suite generate --help`).")
@click.option("--per-category", type=click.IntRange(1, 1000), default=InitOptions.per_category, show_default=True,
              help="Starter scenarios per category (10 or more lets the gate test each category).")
@click.option("--trials", type=click.IntRange(1, 20), default=InitOptions.trials, show_default=True,
              help="The suite's default trials per scenario.")
@click.option("--suite", "suite", default=InitOptions.suite, show_default=True, help="Name of the starter suite.")
@click.option("--agent-command", default="", help="Your agent's command line, speaking evalkit's JSON-lines protocol "
                                                 "(default: the example agent written to evalkit_agent.py).")
@click.option("--tracking-uri", default="",
              help="Store written to evalkit.toml as tracking_uri, also where the first baseline goes (env "
                   "EVALKIT_TRACKING_URI, then MLFLOW_TRACKING_URI win over it; default: the embedded store).")
@click.option("--pip-spec", default=InitOptions.pip_spec, show_default=True,
              help="What the CI workflow installs evalkit from (a version, a wheel URL, a git URL).")
@click.option("--no-baseline", is_flag=True, help="Do not run the agent to record the first baseline.")
def init(categories: str, per_category: int, trials: int, suite: str, agent_command: str, tracking_uri: str,
         pip_spec: str, no_baseline: bool) -> None:
    """Set up evalkit in the git repository in the working directory; refuses to overwrite any file.

    Writes evalkit.toml, suites/<suite>/ (generated for --categories), baselines/<suite>/policy.toml, the
    example agent evalkit_agent.py (unless --agent-command), .github/workflows/evalkit.yml, then runs the agent
    once and exports its results as the baseline baselines/<suite>/main.* (commit them).

    \b
    Examples:
      evalkit init
      evalkit init --categories database/slow-query,kubernetes/oom --per-category 20
      evalkit init --agent-command 'python -m my_agent.evalkit_adapter' --no-baseline
    Then: evalkit gate (suite and agent from evalkit.toml).
    """
    from pathlib import Path

    from evalkit.run.progress import ProgressReporter
    from evalkit.scaffold import init_project

    cats = tuple(c.strip() for c in categories.split(",") if c.strip())
    opts = InitOptions(suite=suite, categories=cats, per_category=per_category, trials=trials,
                       agent_command=agent_command, tracking_uri=tracking_uri, pip_spec=pip_spec)
    with closing(ProgressReporter(label="baseline trials")) as reporter:
        done = init_project(Path.cwd(), opts, baseline=not no_baseline, progress=reporter)
    for path in done.written:
        click.echo(f"wrote {path}")
    click.echo(f"next: commit these files, then gate a change with: {done.gate_command}")
