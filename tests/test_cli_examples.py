"""Every `evalkit ...` example in the commands' --help texts, docs/*.md and README.md is a command line the CLI
accepts: each is parsed exactly as `evalkit` would parse it (its dry form: options, arguments, choices and
types checked, nothing run), and each command it names answers --help. None may fail with a usage error."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from cli_examples import dry_parse, evalkit_lines
from suite_helpers import REPO, run_cli

from evalkit.cli import cli

DOCS = sorted((REPO / "docs").glob("*.md"))
#: a fenced block and its language; blocks of another language than these (```text: output) hold no commands
FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```", re.S | re.M)
SHELL_FENCES = {"", "bash", "sh", "shell", "console"}


def commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], click.Command]]:
    """Every command below ``group`` with its path (each module is imported: this is not the lazy --help)."""
    ctx = click.Context(group, info_name="evalkit")
    found = []
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        assert cmd is not None, name
        found.append(((*path, name), cmd))
        if isinstance(cmd, click.Group):
            found += commands(cmd, (*path, name))
    return found


def help_examples() -> list[tuple[str, list[str]]]:
    return [(f"evalkit {' '.join(path)} --help", args) for path, cmd in commands()
            for args in evalkit_lines(cmd.help or "", {})]


def doc_examples(paths: list[Path]) -> list[tuple[str, list[str]]]:
    return [(path.name, args) for path in paths
            for lang, block in FENCE.findall(path.read_text(encoding="utf-8")) if lang in SHELL_FENCES
            for args in evalkit_lines(block, {})]


EXAMPLES = help_examples() + doc_examples([*DOCS, REPO / "README.md"])


def test_the_examples_are_found_in_every_command_and_in_the_docs():
    sources = {where for where, _ in EXAMPLES}
    groups = {path for path, cmd in commands() if isinstance(cmd, click.Group)}
    for path, cmd in commands():
        if path not in groups:
            assert f"evalkit {' '.join(path)} --help" in sources, f"no example in evalkit {' '.join(path)} --help"
    assert {"ci.md", "drift.md", "storage.md"} <= sources
    assert len(EXAMPLES) > 60


@pytest.mark.parametrize("where, args", EXAMPLES, ids=[f"{w}: {' '.join(a)[:60]}" for w, a in EXAMPLES])
def test_every_example_parses_as_the_cli_would(where, args):
    if args[0].startswith("-"):  # evalkit --version / --help
        code, _, err = run_cli(args)
        assert code == 0, err
        return
    try:
        path, _ = dry_parse(args)
    except click.UsageError as err:
        pytest.fail(f"{where}: `evalkit {' '.join(args)}`: {err.format_message()}")
    code, out, err = run_cli([*path.split(), "--help"])
    assert code == 0 and "Usage:" in out, err
