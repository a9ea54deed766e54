"""The evalkit command line: thin click commands over the Python API.

Subcommands live in their own modules and are imported only when invoked, so ``evalkit --help`` stays
instant (no pandas/mlflow/matplotlib/ray import). A :class:`~evalkit.errors.UserError` or a bad option
becomes one ``error:`` line on stderr and exit code 2, and so does a path evalkit cannot read or write; a bug
prints its traceback, then one ``error: internal error`` line, and exits 2 too (never 1, the regression code).
"""

from __future__ import annotations

import importlib
import os
import signal
import sys
import threading
import traceback

import click

from evalkit import __version__
from evalkit.errors import UserError, printable

#: command name -> (module, attribute, one-line help shown by `evalkit --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "init": ("evalkit.cli.init_cmd", "init", "Set up evalkit in your agent's repository: config, suite, agent, CI."),
    "suite": ("evalkit.cli.suite_cmd", "suite", "Validate, generate, list and show investigation suites."),
    "run": ("evalkit.cli.run_cmd", "run", "Run a suite against an agent build and log the results."),
    "compare": ("evalkit.cli.compare_cmd", "compare", "Compare a candidate run against a baseline."),
    "gate": ("evalkit.cli.gate_cmd", "gate", "Pre-merge gate: run, compare to the baseline, report, exit 0/1/2."),
    "plan": ("evalkit.cli.plan_cmd", "plan", "Plan a gate: the power and cost of a suite's pool, per category."),
    "report": ("evalkit.cli.report_cmd", "report", "Write the reports of a stored run."),
    "baseline": ("evalkit.cli.baseline_cmd", "baseline", "Promote, list, export and import baselines."),
    "sync": ("evalkit.cli.baseline_cmd", "sync", "Upload runs kept in the offline outbox."),
    "drift": ("evalkit.cli.drift_cmd", "drift", "Build the quality-drift dashboard across builds."),
    "agents": ("evalkit.cli.agents_cmd", "agents", "List the built-in agent builds and spec forms."),
    "world": ("evalkit.cli.world_cmd", "world", "Serve a scenario's world over MCP for interactive exploration."),
    "label": ("evalkit.cli.label_cmd", "label", "Harvest traced investigations + feedback into reviewed labels."),
}


class OneLineError(click.ClickException):
    """A failure shown as ``error: <line>`` on stderr with its exit code (2): a UserError or a usage error."""

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"error: {self.message}", file=file, err=file is None)


def one_line(err: Exception) -> click.ClickException:
    """``err`` as a one-line error: UserError keeps its text; a usage error gets its command's --help hint.
    (A bare group's help on no arguments and non-usage click errors are returned unchanged.)"""
    if isinstance(err, UserError):
        return OneLineError(str(err), err.exit_code)  # each problem's line is escaped already
    if isinstance(err, click.UsageError) and not isinstance(err, click.exceptions.NoArgsIsHelpError):
        path = err.ctx.command_path if err.ctx is not None else "evalkit"
        return OneLineError(f"{printable(err.format_message())} (see '{printable(path)} --help')", err.exit_code)
    return err  # type: ignore[return-value]


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand runs, and reports every
    user error (UserError, bad option value) as one ``error:`` line with exit code 2, however it is invoked
    (console script, ``python -m evalkit``, click's CliRunner)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        if ctx.resilient_parsing:
            # shell completion: a stub that carries the short help without importing the module.
            return click.Command(name, help=COMMANDS[name][2], short_help=COMMANDS[name][2])
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """``evalkit --help`` lists the commands from COMMANDS without importing their modules."""
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_text) for name, (_, _, help_text) in COMMANDS.items()])

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (UserError, click.UsageError) as err:
            converted = one_line(err)
            if converted is err:
                raise
            raise converted from None
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except OSError as err:  # a path evalkit cannot read or write: one line, and never exit 1 ("regression")
            raise OneLineError(os_error_line(err)) from None
        except Exception as err:  # noqa: BLE001 - a bug: its traceback for the report, then "could not evaluate"
            traceback.print_exc()
            raise OneLineError(f"internal error ({type(err).__name__}: {printable(str(err))[:300]}): a bug in "
                               "evalkit, please report it with the traceback above; no verdict") from None


def os_error_line(err: OSError) -> str:
    """An OSError as ``<path>: <reason> (<fix>)``."""
    paths = [str(p) for p in (err.filename, err.filename2) if p is not None]
    reason = printable(err.strerror or str(err))[:300]
    if not paths:  # no file named: a socket, a pipe or a network client (requests' errors are OSErrors too)
        return f"{type(err).__name__}: {reason} (check the tracking server and the paths evalkit was given)"
    return f"{' -> '.join(printable(p) for p in paths)}: {reason} (check that the path exists and evalkit may read " \
           "and write there)"


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="evalkit")
def cli() -> None:
    """evalkit: catch cross-category quality regressions of incident-investigation agents.

    \b
    Examples:
      evalkit gate --suite core --agent reference:v2              # the pre-merge gate
      evalkit run --suite smoke --agent mypkg.agent:build --trials 1
      evalkit compare new.parquet baselines/core/main.results.parquet --suite core --json
      evalkit COMMAND --help                                      # options and examples of a command
    Exit codes: 0 no regression, 1 regression, 2 could not evaluate (bad input, missing baseline...).
    Tracking: --tracking-uri, EVALKIT_TRACKING_URI or MLFLOW_TRACKING_URI (default: embedded SQLite in
    ./.evalkit/mlflow).
    """


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: runs the CLI and exits with the command's code (0 ok, 1 regression,
    2 could not evaluate); a UserError or usage error becomes one ``error:`` line on stderr."""
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminated) if in_main_thread else None
    interrupted = True
    try:
        _main(argv)
    except SystemExit as done:
        interrupted = done.code in (130, 128 + signal.SIGTERM)  # Ctrl-C or SIGTERM: nothing may start after
        raise
    finally:
        agents = sys.modules.get("evalkit.agents.subprocess_agent")  # loaded only if an agent process was started
        if agents is not None:
            agents.end_all_agents(close=interrupted)  # kill the process groups of agents still running
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)


def _terminated(signum: int, frame) -> None:
    """SIGTERM ends evalkit like Ctrl-C does: cleanup runs (agent processes end) and the exit code is 143."""
    raise SystemExit(128 + signum)


class _ReaderGone:
    """stdout that drops what is written once its reader has gone (``evalkit gate | head``): click would exit 1 on
    the broken pipe, which reads as a regression; the command now finishes and exits with its own code."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        """What is buffered and all later output goes to /dev/null (so the exit-time flush cannot fail)."""
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _main(argv: list[str] | None) -> None:
    stdout = sys.stdout
    try:
        if hasattr(stdout, "fileno"):
            sys.stdout = _ReaderGone(stdout)
        code = cli.main(args=argv, prog_name="evalkit", standalone_mode=False)
    except (UserError, click.ClickException) as err:  # other click errors come back from one_line unchanged
        shown = one_line(err)
        shown.show()
        sys.exit(shown.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    finally:
        sys.stdout = stdout
    # Without standalone mode click *returns* the code of a command that raised click's Exit (``evalkit
    # gate`` exits 1 on a regression); commands that just finish return None.
    sys.exit(code if isinstance(code, int) else 0)
