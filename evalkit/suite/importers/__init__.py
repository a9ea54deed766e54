"""Importers that turn public root-cause-analysis datasets into normal evalkit suites.

``import_suite(kind, source, out)`` dispatches to ``petshop`` (Amazon PetShop, CC-BY-4.0) or ``nezha``
(Nezha / FSE'23, MIT). Each writes visible scenarios with materialized worlds and separate truth files,
validates the result with the suite validator and moves it into place atomically; bad input is a
one-line :class:`~evalkit.errors.UserError`. ``datasets_root()`` is where the shared copies live.
"""

from __future__ import annotations

from pathlib import Path

from evalkit.errors import UserError
from evalkit.suite.importers.common import DATASETS_ENV, ImportResult, datasets_root

#: dataset kind -> (module, function, dataset folder name under datasets_root(), default suite name)
IMPORTERS: dict[str, tuple[str, str, str, str]] = {
    "petshop": ("evalkit.suite.importers.petshop", "import_petshop", "petshop", "real-petshop"),
    "nezha": ("evalkit.suite.importers.nezha", "import_nezha", "nezha", "real-nezha"),
}


def import_suite(kind: str, source: str | Path, out: str | Path, *, name: str | None = None, force: bool = False,
                 progress=None) -> ImportResult:
    """Import dataset ``kind`` from folder ``source`` into the suite folder ``out``."""
    import importlib

    if kind not in IMPORTERS:
        raise UserError.at("import", "KIND", kind, f"known datasets: {', '.join(IMPORTERS)}")
    module, func, _, default_name = IMPORTERS[kind]
    fn = getattr(importlib.import_module(module), func)
    return fn(source, out, name=name or default_name, force=force, progress=progress)


def default_source(kind: str) -> Path:
    """The shared copy of dataset ``kind``: ``<datasets_root()>/<kind>``."""
    return datasets_root() / IMPORTERS[kind][2]


__all__ = ["import_suite", "default_source", "datasets_root", "ImportResult", "IMPORTERS", "DATASETS_ENV"]
