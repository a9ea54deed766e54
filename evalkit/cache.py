"""evalkit's per-user cache folder (suite indexes of read-only suites, replayed worlds).

``EVALKIT_CACHE_DIR`` wins; otherwise ``$XDG_CACHE_HOME/evalkit`` or ``~/.cache/evalkit``. Everything in it
is derived data: deleting the folder only costs time.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#;(]+)", re.M)


def cache_dir() -> Path:
    """The user cache folder of evalkit (not created here)."""
    explicit = os.environ.get("EVALKIT_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "evalkit"


def source_fingerprint(head: str, files: Iterable[Path]) -> str:
    """SHA-256 of ``head`` and each file's name and bytes: what keys derived data to the code that derived it
    (the replay cache to the generator, the suite index to the suite checks)."""
    h = hashlib.sha256(head.encode())
    for f in files:
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def imported_sources(modules: Iterable[str], root: str = "evalkit") -> list[Path]:
    """The source files of ``modules`` and of every ``root`` module they import, to any depth, in name order.

    Found by reading import statements (lazy ones inside functions too), not by running the modules: the code
    a cache key must cover, kept without a hand-written list that a new helper module could be missing from.
    Locating a submodule imports the packages above it (``importlib.util.find_spec``), as importing it would.
    A name imported from a package counts as its submodule when one exists; an unused import only widens the key.
    """
    found: dict[str, Path] = {}
    todo = list(modules)
    while todo:
        name = todo.pop()
        if name in found or not (name == root or name.startswith(root + ".")):
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # a name imported from a module, not a module
            spec = None
        if spec is None or not (spec.origin or "").endswith(".py"):
            continue
        found[name] = Path(spec.origin)
        package = name if spec.submodule_search_locations is not None else name.rpartition(".")[0]
        todo.extend(_imports(found[name].read_text(encoding="utf-8"), package))
    return [found[n] for n in sorted(found)]


def _imports(source: str, package: str) -> Iterator[str]:
    """Every module name an import statement of ``source`` (a module of ``package``) could name."""
    for base, names in _FROM.findall(source):
        if dots := len(base) - len(base.lstrip(".")):  # relative: from the package, one level up per extra dot
            parent = package.split(".")[:len(package.split(".")) - dots + 1]
            base = ".".join(parent + ([base[dots:]] if base[dots:] else []))
        yield base
        for item in names.strip("()").replace("\n", " ").split(","):
            item = item.split(" as ")[0].strip()
            if item and item != "*":
                yield f"{base}.{item}"
    for names in _IMPORT.findall(source):
        for item in names.split(","):
            yield item.split(" as ")[0].strip()
