"""The suite index: what ``load_suite`` needs (meta, hash, every scenario's visible spec) in one file.

Parsing a suite reads every scenario and truth file and hashes them all; the index keeps the result,
keyed by a *stat signature* of the suite folder (every file's relative path, size, mtime, ctime and inode, the
same file set as the content hash; the ctime, which no tool can set, catches an in-place rewrite that puts the
mtime back, as ``cp -p`` does). A later load stats the files, and when the signature matches it
builds the Suite from the index without opening a scenario file and without any generator work.
Any edit, addition or removal of a file changes the signature and the suite is parsed again.

Like git's index, a file modified within :data:`RACY_S` seconds of the index being written could change
again without a visible stat change, so no index is written while any file is that fresh.
The signature also covers the source of the code that checks a suite (:func:`checker_fingerprint`), so a
checkout whose rules changed without a new version number parses again instead of trusting an old verdict.
The index lives in ``<suite>/.evalkit/index.json`` (hidden folders are not part of the suite hash) or, when
the suite folder is read-only, in the user cache (:func:`evalkit.cache.cache_dir`).
"""

from __future__ import annotations

import hashlib
import json
import time
from contextlib import suppress
from functools import lru_cache
from pathlib import Path

from evalkit import __version__
from evalkit.suite.hashing import relative_posix, walk_suite
from evalkit.suite.model import Scenario, Suite
from evalkit.workspace import EVALKIT_DIR

INDEX_FORMAT = 2
RACY_S = 2.0


@lru_cache(maxsize=1)
def checker_fingerprint() -> str:
    """SHA-256 of the source of the modules whose rules decide what a suite file may hold (evalkit/suite/*.py,
    the file models, the generator's category catalogue)."""
    import evalkit.file_models as models
    import evalkit.suite.generator.catalog as catalog
    from evalkit.cache import source_fingerprint

    files = sorted(Path(__file__).parent.glob("*.py")) + [Path(models.__file__), Path(catalog.__file__)]
    return source_fingerprint("", files)


def stat_signature(root: Path) -> tuple[str, int]:
    """(hex signature of the suite's files' paths and stats, newest mtime in ns)."""
    h = hashlib.sha256(f"evalkit-index/{INDEX_FORMAT}/{__version__}/{checker_fingerprint()}".encode())
    newest = 0
    for rel, entry in walk_suite(root):
        try:
            st = entry.stat()
        except FileNotFoundError:  # removed since the walk listed it
            continue
        h.update(f"{rel}\0{st.st_size}\0{st.st_mtime_ns}\0{st.st_ctime_ns}\0{st.st_ino}\n".encode())
        newest = max(newest, st.st_mtime_ns)
    return h.hexdigest(), newest


def index_paths(root: Path) -> list[Path]:
    """Where the index of ``root`` may live, in lookup order: inside the suite, then the user cache."""
    from evalkit.cache import cache_dir

    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:24]
    return [root / EVALKIT_DIR / "index.json", cache_dir() / "suite-index" / f"{key}.json"]


def read_index(root: Path, signature: str) -> Suite | None:
    """The Suite recorded for ``signature``, or None (no index, another signature, unreadable)."""
    for path in index_paths(root):
        with suppress(OSError, ValueError, KeyError, TypeError):  # none there, unreadable or malformed: look on
            doc = json.loads(path.read_bytes())
            if isinstance(doc, dict) and doc.get("format") == INDEX_FORMAT and doc.get("signature") == signature:
                return _suite_from(doc, root)
    return None


def write_index(root: Path, signature: str, newest_ns: int, suite: Suite) -> Path | None:
    """Record ``suite`` under ``signature`` (skipped while a file is racily fresh); returns the path written."""
    from evalkit.atomic import atomic_write

    if time.time_ns() - newest_ns < RACY_S * 1e9:
        return None
    data = json.dumps(_doc(signature, suite), separators=(",", ":")).encode()
    for path in index_paths(root):
        with suppress(OSError):  # e.g. a read-only suite folder: the user cache then
            atomic_write(path, data)
            return path
    return None


def _doc(signature: str, suite: Suite) -> dict:
    root = Path(suite.path)
    return {
        "format": INDEX_FORMAT, "signature": signature, "name": suite.name, "version": suite.version,
        "description": suite.description, "categories": suite.categories, "default_trials": suite.default_trials,
        "hash": suite.hash, "pool": suite.pool,
        "scenarios": [[s.id, s.suite, s.category, s.alert, list(s.window), s.world, list(s.tags), s.noise_level,
                       s.max_tool_calls, relative_posix(Path(s.path), root), s.step]
                      for s in suite.scenarios],
    }


def _suite_from(doc: dict, root: Path) -> Suite:
    scenarios = [Scenario(id=sid, suite=sname, category=cat, alert=alert, window=(int(w[0]), int(w[1])), world=world,
                          tags=tuple(tags), noise_level=float(noise), max_tool_calls=int(mtc), path=root / rel,
                          root=root, step=int(step))
                 for sid, sname, cat, alert, w, world, tags, noise, mtc, rel, step in doc["scenarios"]]
    return Suite(name=doc["name"], version=doc["version"], description=doc["description"],
                 categories=dict(doc["categories"]), default_trials=int(doc["default_trials"]), path=root,
                 hash=doc["hash"], scenarios=scenarios, pool=bool(doc["pool"]))
