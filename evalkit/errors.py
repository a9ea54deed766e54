"""User-facing errors: one clear line (where, field, value, fix) and exit code 2.

Every failure a user can cause raises :class:`UserError`; the CLI prints ``str(err)`` and exits 2.
Code below the CLI never prints or exits on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

EXIT_OK = 0
EXIT_REGRESSION = 1
EXIT_USAGE = 2


@dataclass
class Problem:
    """One problem in a user input: where it is, which field, the bad value and how to fix it."""

    where: str
    field: str
    value: object
    fix: str

    def __str__(self) -> str:
        value = repr(self.value) if not isinstance(self.value, str) else f"'{self.value}'"
        if len(value) > 120:
            value = value[:117] + "..."
        field = f" {self.field}" if self.field else ""
        return f"{self.where}:{field} {value}: {self.fix}"


class UserError(Exception):
    """A failure the user caused and can fix. Carries one or more problems; exit code 2."""

    exit_code = EXIT_USAGE

    def __init__(self, *problems: Problem | str):
        self.problems = [p for p in problems]
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, where: str, field: str, value: object, fix: str) -> "UserError":
        return cls(Problem(where, field, value, fix))
