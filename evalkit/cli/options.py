"""Options shared by the commands that run a suite, so every command speaks the same vocabulary."""

from __future__ import annotations

import click

EXECUTORS = ["local", "threads", "processes", "ray"]


def common_run_options(fn):
    """--trials --seed --jobs --executor --ray-address --timeout --tracking-uri --output-dir."""
    opts = [
        click.option("--trials", type=int, default=None, help="Trials per scenario (default: the suite's)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Run seed; trial seeds derive from it."),
        click.option("--jobs", type=int, default=2, show_default=True, help="Parallel investigations."),
        click.option("--executor", type=click.Choice(EXECUTORS), default="local", show_default=True,
                     help="local: processes for Python agents, threads for cmd:/openai:; ray for a cluster."),
        click.option("--ray-address", default=None, help="Ray cluster address for --executor ray."),
        click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True,
                     help="Per-investigation timeout in seconds."),
        click.option("--tracking-uri", default=None,
                     help="MLflow tracking URI (env MLFLOW_TRACKING_URI; default: embedded SQLite in .evalkit/mlflow)."),
        click.option("--output-dir", type=click.Path(file_okay=False), default="evalkit-reports", show_default=True,
                     help="Where reports are written."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def progress_for(quiet: bool):
    """A progress callback: bar on a terminal, plain lines when piped, nothing when quiet."""
    from evalkit.run.progress import ProgressReporter

    return ProgressReporter(mode="quiet" if quiet else "auto")
