"""Options shared by the commands, so every command speaks the same vocabulary with the same defaults."""

from __future__ import annotations

import click

EXECUTORS = ["local", "threads", "processes", "ray"]
DEFAULT_JOBS = 2  # CI machines have 2 cores; `--jobs 0` uses them all

#: No click ``envvar=``: the Store reads MLFLOW_TRACKING_URI itself, so its errors name the variable the URI
#: came from (``--tracking-uri`` or ``MLFLOW_TRACKING_URI``).
tracking_option = click.option(
    "--tracking-uri", default=None,
    help="MLflow tracking URI (env MLFLOW_TRACKING_URI; default: embedded SQLite in .evalkit/mlflow).")
trials_option = click.option("--trials", type=int, default=None, help="Trials per scenario (default: the suite's).")
seed_option = click.option("--seed", type=int, default=0, show_default=True,
                           help="Run seed; trial seeds derive from it.")
jobs_option = click.option("--jobs", type=int, default=DEFAULT_JOBS, show_default=True,
                           help="Parallel investigations (0 = all CPUs).")
executor_option = click.option("--executor", type=click.Choice(EXECUTORS), default="local", show_default=True,
                               help="local: processes for Python agents, threads for cmd:/openai:; ray for a cluster.")
ray_address_option = click.option("--ray-address", default=None,
                                  help="Ray cluster address for --executor ray (default: local Ray).")
timeout_option = click.option("--timeout", "timeout_s", type=float, default=60.0, show_default=True,
                              help="Per-investigation timeout in seconds.")


def execution_options(fn):
    """--trials --seed --jobs --executor --ray-address --timeout: how a suite is run (``run`` and ``gate``)."""
    for opt in reversed([trials_option, seed_option, jobs_option, executor_option, ray_address_option,
                         timeout_option]):
        fn = opt(fn)
    return fn


def common_run_options(fn):
    """The execution options, --tracking-uri and --output-dir (reports folder) of ``gate``."""
    fn = click.option("--output-dir", type=click.Path(file_okay=False), default="evalkit-reports",
                      show_default=True, help="Where reports are written.")(fn)
    fn = tracking_option(fn)
    return execution_options(fn)


def progress_for(quiet: bool):
    """A progress callback: bar on a terminal, plain lines when piped, nothing when quiet."""
    from evalkit.run.progress import ProgressReporter

    return ProgressReporter(mode="quiet" if quiet else "auto")
