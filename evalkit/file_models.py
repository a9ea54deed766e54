"""User files as declarative pydantic models, their validation errors as one-line :class:`Problem` s.

A model declares each field's type and range once; :class:`Fix` beside it says how to correct a bad value.
:func:`read_model` validates a parsed file, turns every pydantic error into ``Problem(file, field, value,
fix)`` (the field path dotted, the value as the user wrote it) and still returns the model of the valid
rest (bad values fall back to their defaults), so the checks that span fields run too and every problem
is reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, ValidationError

from evalkit.errors import Problem

M = TypeVar("M", bound=BaseModel)

#: the settings of every model of a user file: unknown keys refused, no coercion ("0.1" is not a number),
#: no inf/nan
STRICT = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)
_TABLE_ERRORS = {"model_type", "dict_type", "model_attributes_type"}


@dataclass(frozen=True)
class Fix:
    """How to correct a field (``Annotated[type, Field(...), Fix("...")]``); ``by_error`` overrides it for one pydantic
    error type (e.g. ``greater_than_equal``). A dict field's speaks of its values, a model field's of the table."""

    text: str
    by_error: dict[str, str] = field(default_factory=dict)


Unknown = Callable[[tuple[str, ...], str], tuple[object, str]]
Found = tuple[tuple[str, ...], str, Problem]  #: (field path, kind: 'missing', 'unknown' or 'bad', the problem)


def read_model(model: type[M], data: dict[str, Any], where: str, unknown: Unknown) -> tuple[M | None, list[Problem]]:
    """``model`` of ``data`` with every bad value replaced by its default, and the problems (file ``where``).
    ``unknown(path, key)`` is the (value shown, fix) of a key ``model`` does not declare at ``path``. A
    required field that is missing has no default: the model is then None (the problems are all there)."""
    parsed, found = find_problems(model, data, where, unknown)
    return parsed, [problem for _, _, problem in found]


def find_problems(model: type[M], data: dict[str, Any], where: str, unknown: Unknown) -> tuple[M | None, list[Found]]:
    """:func:`read_model` with each problem's field path and kind, in pydantic's order (declared, then unknown keys)."""
    found: list[Found] = []
    data = dict(data)
    for _ in range(8):  # each pass drops what failed; a nested default can fail only at a shallower level
        try:
            return model.model_validate(data), found
        except ValidationError as err:
            new = False
            for e in err.errors():
                loc = tuple(str(p) for p in e["loc"])
                if e["type"] == "extra_forbidden":
                    path, kind, (value, fix) = loc, "unknown", unknown(loc[:-1], loc[-1])
                elif e["type"] == "missing":
                    path, kind, value, fix = loc, "missing", "missing", f"add the required field '{'.'.join(loc)}'"
                else:
                    (path, fix), kind = _locate(model, loc, e["type"]), "bad"
                    value = _at(data, path)
                if any(_related(path, seen) for seen, _, _ in found):
                    continue  # what a dropped value left behind (now missing, or an emptied table): said already
                new = True
                found.append((path, kind, Problem(where, ".".join(path), value, fix)))
                data = _without(data, path)
            if not new:
                return None, found  # a required field without a default is wrong: no model, every problem said
    raise RuntimeError(f"{model.__name__}: validation did not settle")  # pragma: no cover - defaults are valid


def _related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """One path lies within the other (or they are the same)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def _locate(model: type[BaseModel], loc: tuple[str, ...], error_type: str) -> tuple[tuple[str, ...], str]:
    """(the field path the error is about, its fix): a list index or a nested value reports on its field."""
    current: Any = model
    for i, key in enumerate(loc):
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields[key]
            fix = next((m for m in info.metadata if isinstance(m, Fix)), None)
            inner = _unwrap(info.annotation)
            table = isinstance(inner, type) and issubclass(inner, BaseModel)
            if table and i + 1 < len(loc):
                current = inner
                continue
            if fix is None or (error_type in _TABLE_ERRORS and not table and error_type not in fix.by_error):
                return loc[:i + 1], f"must be a table: [{'.'.join(loc[:i + 1])}]"
            keep = i + 2 if get_origin(inner) is dict and i + 1 < len(loc) else i + 1
            return loc[:keep], fix.by_error.get(error_type, fix.text)
    return loc, f"must be a table: [{'.'.join(loc)}]"


def _unwrap(annotation: Any) -> Any:
    """``X`` of ``X | None``."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    return args[0] if get_origin(annotation) is not dict and len(args) == 1 else annotation


def _at(data: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def _without(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """A copy of ``data`` without the value at ``path`` (so it takes its default on the next pass)."""
    out = dict(data)
    if len(path) == 1 or not isinstance(out.get(path[0]), dict):
        out.pop(path[0], None)
    else:
        out[path[0]] = _without(out[path[0]], path[1:])
    return out
