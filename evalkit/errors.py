"""User-facing errors: one clear line (where, field, value, fix) and exit code 2.

Every failure a user can cause raises :class:`UserError`; the CLI prints ``str(err)`` and exits 2.
Code below the CLI never prints or exits on its own. Every part of a one-line message goes through
:func:`printable`, so a value read from a damaged file (NUL bytes, escape sequences, a newline) can neither
split the line nor drive the terminal.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_USAGE = 2


#: Unicode categories that must not reach a terminal raw: controls (C0, C1, DEL), line and paragraph
#: separators, format characters (bidi overrides, zero-width), surrogates and unassigned code points.
_UNPRINTABLE = {"Cc", "Zl", "Zp", "Cf", "Cs", "Co", "Cn"}


def printable(text: object) -> str:
    """``text`` as one line of harmless characters: control and invisible characters become escapes
    (``\\x00``, ``\\n``, ``\\u202e``); a backslash stays itself. For every message shown to a user."""
    s = text if isinstance(text, str) else str(text)
    if s.isprintable():
        return s
    # repr escapes every character of these categories, as \n, \x00, \u202e or \U000e0001
    return "".join(c if c == " " or unicodedata.category(c) not in _UNPRINTABLE else repr(c)[1:-1] for c in s)


def whole_number(value: object, minimum: int) -> bool:
    """``value`` is an int of at least ``minimum`` (a bool is not a number here): what a count must be."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def clip(text: str, limit: int = 120) -> str:
    """``text`` cut to ``limit`` characters (``...`` marks the cut)."""
    return text if len(text) <= limit else text[:limit - 3] + "..."


@dataclass
class Problem:
    """One problem in a user input: where it is, which field, the bad value and how to fix it."""

    where: str
    field: str
    value: object
    fix: str

    def __str__(self) -> str:
        value = clip(printable(repr(self.value)) if not isinstance(self.value, str) else f"'{printable(self.value)}'")
        field = f" {printable(self.field)}" if self.field else ""
        return f"{printable(self.where)}:{field} {value}: {printable(self.fix)}"


class UserError(Exception):
    """A failure the user caused and can fix. Carries one or more problems; exit code 2."""

    exit_code = EXIT_USAGE

    def __init__(self, *problems: Problem | str):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) if isinstance(p, Problem) else printable(p) for p in self.problems))

    @classmethod
    def at(cls, where: str, field: str, value: object, fix: str) -> "UserError":
        return cls(Problem(where, field, value, fix))
