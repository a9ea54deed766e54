"""Writing a suite folder atomically, for the generator and the importers alike.

The suite is built in a hidden sibling folder and moved into place in one rename, so a failure (bad input,
an invalid result, an exception half-way) leaves neither a half-written suite nor the staging folder, and
``force`` replaces what was at the destination (a folder or a file) only at that last step.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Iterable, Self

from evalkit.errors import UserError


def toml_str(s: str) -> str:
    """A TOML basic string."""
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_value(v: object) -> str:
    """A TOML boolean, number or (anything else) string."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    return toml_str(str(v))


def suite_toml(name: str, version: str, description: str, default_trials: int, provenance: dict,
               categories: Iterable[tuple[str, str]], pool: bool = False) -> str:
    """The text of suite.toml: header, ``[generated]`` provenance and ``[categories]`` in the given order."""
    lines = [f"name = {toml_str(name)}", f"version = {toml_str(version)}",
             f"description = {toml_str(description)}", f"default_trials = {default_trials}"]
    lines += ["pool = true"] if pool else []
    lines += ["", "[generated]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in provenance.items()]
    lines += ["", "[categories]"]
    lines += [f"{toml_str(c)} = {toml_str(d)}" for c, d in categories]
    return "\n".join(lines) + "\n"


class StagedSuite:
    """``with StagedSuite(out, force) as stage:`` write into ``stage.tmp`` (scenarios/ and truth/ exist),
    then ``stage.commit()``; leaving the block any other way removes the staging folder."""

    def __init__(self, out: str | Path, force: bool = False):
        self.out = Path(out)
        if self.out.exists() and (not self.out.is_dir() or any(self.out.iterdir())) and not force:
            raise UserError.at(str(self.out), "--output-dir", str(self.out), "exists and is not empty; choose "
                               "a new folder or pass --force to replace it")
        self.tmp = self.out.parent / f".{self.out.name}.staging-{os.getpid()}"

    def __enter__(self) -> Self:
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        (self.tmp / "scenarios").mkdir(parents=True)
        (self.tmp / "truth").mkdir()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tmp.exists():
            shutil.rmtree(self.tmp)

    def commit(self) -> Path:
        """Replace ``out`` with the staged suite in one rename; returns ``out``."""
        if self.out.is_dir():
            shutil.rmtree(self.out)
        elif self.out.exists():
            self.out.unlink()
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.tmp.rename(self.out)
        return self.out
