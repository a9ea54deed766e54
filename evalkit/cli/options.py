"""Options shared by the commands, so every command speaks the same vocabulary with the same defaults."""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Callable, Iterator

import click

from evalkit.run.config import RunConfig
from evalkit.vocab import ProgressMode
from evalkit.workspace import DEFAULT_ALIAS as DEFAULT_ALIAS  # the commands import it from here


#: No click ``envvar=``: the workspace reads EVALKIT_TRACKING_URI / MLFLOW_TRACKING_URI itself (evalkit.workspace),
#: so errors name where the URI came from (``--tracking-uri`` or the variable).
tracking_option = click.option(
    "--tracking-uri", default=None,
    help="MLflow tracking URI (env EVALKIT_TRACKING_URI, then MLFLOW_TRACKING_URI, then evalkit.toml's tracking_uri; "
         "default: embedded SQLite in .evalkit/mlflow of the project).")


def _cli_fields(cls: type, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dataclasses.Field]]:
    """(path, field) of every RunConfig setting, nested configs (journal, retry) flattened in field order."""
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(f.default_factory):
            yield from _cli_fields(f.default_factory, path + (f.name,))  # type: ignore[arg-type]
        elif "cli" in f.metadata:
            yield path + (f.name,), f


def _click_option(f: dataclasses.Field) -> tuple[str, Callable]:
    """The click parameter name and option decorator of a RunConfig field's ``cli(...)`` metadata."""
    spec = dict(f.metadata["cli"])
    decls, choices, path = spec.pop("decls"), spec.pop("choices", None), spec.pop("path", None)
    spec.pop("commands")
    if choices:
        spec["type"] = click.Choice(list(choices))
    if path:
        spec["type"] = click.Path(file_okay=path != "dir", dir_okay=path == "dir")
    spec.setdefault("default", f.default)
    name = next((d for d in decls if not d.startswith("-")), decls[0].lstrip("-").replace("-", "_"))
    return name, click.option(*decls, **spec)


def _build(cls: type, values: dict[tuple[str, ...], Any], path: tuple[str, ...] = ()) -> Any:
    """An instance of the (nested) config dataclass ``cls`` from option values keyed by field path."""
    kwargs = {}
    for f in dataclasses.fields(cls):
        key = path + (f.name,)
        if key in values:
            kwargs[f.name] = values[key]
        elif f.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(f.default_factory):
            kwargs[f.name] = _build(f.default_factory, values, key)  # type: ignore[arg-type]
    return cls(**kwargs)


def run_options(command: str) -> Callable[[Callable], Callable]:
    """The run settings of ``command`` (``run``, ``gate``) as options, handed to it as one ``config: RunConfig``.

    Every RunConfig field with ``cli(...)`` metadata naming ``command`` becomes an option; a bad value is a
    one-line error before anything runs."""
    chosen = [(path, *_click_option(f)) for path, f in _cli_fields(RunConfig)
              if command in f.metadata["cli"]["commands"]]

    def decorate(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def with_config(*args: Any, **kwargs: Any) -> Any:
            values = {path: kwargs.pop(name) for path, name, _ in chosen}
            return fn(*args, config=_build(RunConfig, values), **kwargs)

        for _, _, option in reversed(chosen):
            with_config = option(with_config)
        return with_config

    return decorate


def store_for(tracking_uri: str | None, outbox_dir: str | None = None):
    """The project's store, at ``tracking_uri`` when given (else where the workspace finds it)."""
    from evalkit.workspace import Workspace

    return Workspace.resolve(tracking_uri=tracking_uri).store(outbox_dir=outbox_dir)


def progress_for(quiet: bool, label: str = "trials"):
    """A progress callback on stderr: bar on a terminal, plain lines when piped, nothing when quiet."""
    from evalkit.run.progress import ProgressReporter

    return ProgressReporter(mode=ProgressMode.QUIET if quiet else ProgressMode.AUTO, label=label)
