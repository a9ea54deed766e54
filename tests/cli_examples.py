"""Reading `evalkit ...` command lines out of shell scripts, help texts and Markdown, and parsing them exactly as
the CLI would without running them (the examples tests and the CI workflow test share this)."""

from __future__ import annotations

import re
import shlex

import click

from evalkit.cli import cli

SHELL_OPERATORS = {">", ">>", "|", "||", "&&", ";", "2>&1", "2>/dev/null", "&"}
GITHUB_EXPRESSION = r"\$\{\{[^}]*\}\}"
#: leading ``NAME=value`` assignments of a shell command line
ENV_PREFIX = re.compile(r"^(?:[A-Z_][A-Z0-9_]*=\S+\s+)+")


def evalkit_lines(script: str, env: dict[str, str]) -> list[list[str]]:
    """The argument lists of the `evalkit ...` commands in a shell script: continuations joined, GitHub
    expressions replaced by a sample value, ``$VAR`` taken from ``env``, leading variable assignments, trailing
    comments and redirections cut off."""
    script = re.sub(GITHUB_EXPRESSION, "123", script.replace("\\\n", " "))
    script = re.sub(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", lambda m: env.get(m.group(1), m.group(0)), script)
    commands = []
    for line in script.splitlines():
        line = ENV_PREFIX.sub("", line.strip().removeprefix("$ "))
        if not line.startswith("evalkit "):
            continue
        tokens = shlex.split(line, comments=True)[1:]
        cut = next((i for i, t in enumerate(tokens) if t in SHELL_OPERATORS), len(tokens))
        commands.append(tokens[:cut])
    return commands


def dry_parse(args: list[str]) -> tuple[str, dict]:
    """Resolve the subcommand and parse its options exactly as `evalkit` would, without invoking it."""
    cmd: click.Command = cli
    ctx = click.Context(cli, info_name="evalkit")
    path = []
    while isinstance(cmd, click.Group) and args and not args[0].startswith("-"):
        name, args = args[0], args[1:]
        sub = cmd.get_command(ctx, name)
        assert sub is not None, f"no command {' '.join([*path, name])}"
        path.append(name)
        cmd, ctx = sub, click.Context(sub, info_name=name, parent=ctx)
    parsed = cmd.make_context(path[-1] if path else "evalkit", list(args), parent=ctx.parent)
    return " ".join(path), parsed.params
