"""The evalkit command line: thin click commands over the Python API.

Subcommands live in their own modules and are imported only when invoked, so ``evalkit --help`` stays
instant (no pandas/mlflow/matplotlib/ray import). A :class:`~evalkit.errors.UserError` becomes one line
on stderr and exit code 2; nothing else is caught.
"""

from __future__ import annotations

import importlib
import sys

import click

from evalkit import __version__

#: command name -> (module, attribute, one-line help shown by `evalkit --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "suite": ("evalkit.cli.suite_cmd", "suite", "Validate, generate, list and show investigation suites."),
    "run": ("evalkit.cli.run_cmd", "run", "Run a suite against an agent build and log the results."),
    "compare": ("evalkit.cli.compare_cmd", "compare", "Compare a candidate run against a baseline."),
    "gate": ("evalkit.cli.gate_cmd", "gate", "Pre-merge gate: run, compare to the baseline, report, exit 0/1/2."),
    "report": ("evalkit.cli.report_cmd", "report", "Write the reports of a stored run."),
    "baseline": ("evalkit.cli.baseline_cmd", "baseline", "Promote, list, export and import baselines."),
    "sync": ("evalkit.cli.baseline_cmd", "sync", "Upload runs kept in the offline outbox."),
    "drift": ("evalkit.cli.drift_cmd", "drift", "Build the quality-drift dashboard across builds."),
    "agents": ("evalkit.cli.agents_cmd", "agents", "List the built-in agent builds and spec forms."),
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in COMMANDS if _available(name)]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS or not _available(name):
            return None
        if ctx.resilient_parsing or "--help" in sys.argv[1:2]:
            # `evalkit --help`: a stub that carries the short help without importing the module.
            return click.Command(name, help=COMMANDS[name][2], short_help=COMMANDS[name][2])
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)


def _available(name: str) -> bool:
    module = COMMANDS[name][0]
    return importlib.util.find_spec(module) is not None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="evalkit")
def cli() -> None:
    """evalkit: catch cross-category quality regressions of incident-investigation agents.

    \b
    Typical pre-merge use:
      evalkit gate --suite core --agent reference:v2
    Exit codes: 0 no regression, 1 regression, 2 could not evaluate (bad input, missing baseline...).
    """


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs the CLI, turning UserError into one line + exit 2."""
    from evalkit.errors import UserError

    try:
        cli.main(args=argv, prog_name="evalkit", standalone_mode=False)
    except UserError as err:
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(2)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except SystemExit:
        raise
    sys.exit(0)
