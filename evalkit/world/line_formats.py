"""Format strings for writing many log lines at once: placeholders numbered over one argument list, so that
one ``map(str.format, formats, *columns)`` writes every line. Shared by the generator's logs and noise's steady
lines, which must write exactly what ``fmt.format_map(values)`` would, one line at a time."""

from __future__ import annotations

from string import Formatter
from typing import Iterable


def has_fields(fmt: str) -> bool:
    """Whether ``fmt`` has replacement fields (else ``format`` returns the same text for any values)."""
    return any(name is not None for _, name, _, _ in Formatter().parse(fmt))


def numbered_formats(formats: Iterable[str], specs: dict[str, str] | None = None) -> tuple[list[str], list[str]]:
    """(the placeholder names of ``formats`` in first-use order, each format with its placeholders numbered over
    that one argument list): ``numbered.format(*columns)`` equals ``fmt.format_map(named values)``, so a map of
    ``str.format`` over per-line formats and value columns formats many lines at once. ``specs`` gives a
    placeholder a format spec (it must have none of its own)."""
    names: list[str] = []
    numbered: list[str] = []
    for fmt in formats:
        parts: list[str] = []
        for literal, name, spec, conv in Formatter().parse(fmt):
            parts.append(literal.replace("{", "{{").replace("}", "}}"))
            if name is not None:
                if specs and name in specs:
                    if spec or conv:
                        raise ValueError(f"{{{name}}} takes no conversion or format spec here: {fmt!r}")
                    spec = specs[name]
                if name not in names:
                    names.append(name)
                parts.append("{" + str(names.index(name)) + (f"!{conv}" if conv else "")
                             + (f":{spec}" if spec else "") + "}")
        numbered.append("".join(parts))
    return names, numbered
