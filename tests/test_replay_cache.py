"""The on-disk replay cache: cached worlds are byte-identical to fresh replays, a stale scenario is still
refused, and the cache survives torn entries, concurrent writers and its size bound."""

from __future__ import annotations

import ast
import multiprocessing as mp
from pathlib import Path

import pytest

from suite_helpers import CORE, SMOKE, private_replay_cache, replay_sample

@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    return private_replay_cache(tmp_path, monkeypatch)



def test_cached_replays_are_byte_identical_to_fresh_ones(cache_dir):
    """Every smoke scenario and a sample of core: fresh replay, cache write, cache hit, same bytes."""
    from evalkit.suite import load_world, replay_cache

    for sc in replay_sample():
        fresh = load_world(sc, cache=False).to_bytes()
        assert load_world(sc).to_bytes() == fresh, sc.id           # miss: replays and stores
        key = replay_cache.replay_key(sc.category, sc.world["seed"], sc.noise_level, sc.window, sc.alert,
                                      sc.world.get("digest"))
        hit = replay_cache.get(key)
        assert hit is not None, sc.id
        assert hit.to_bytes() == fresh, sc.id                        # hit: read back from disk
        assert load_world(sc).to_bytes() == fresh, sc.id


def test_a_stale_digest_is_refused_even_when_the_real_world_is_cached(cache_dir):
    from dataclasses import replace

    from evalkit.errors import UserError
    from evalkit.suite import load_suite, load_world

    sc = load_suite(SMOKE).scenarios[0]
    load_world(sc)                                                   # the genuine replay is now cached
    stale = replace(sc, world={**sc.world, "digest": "0" * 16})
    with pytest.raises(UserError, match="digest"):
        load_world(stale)


def test_a_changed_generator_changes_every_key(cache_dir, monkeypatch):
    from evalkit.suite import load_suite, replay_cache

    sc = load_suite(SMOKE).scenarios[0]
    args = (sc.category, sc.world["seed"], sc.noise_level, sc.window, sc.alert, sc.world["digest"])
    before = replay_cache.replay_key(*args)
    monkeypatch.setattr(replay_cache, "generator_fingerprint", lambda: "another generator")
    assert replay_cache.replay_key(*args) != before


def test_another_numpy_release_changes_every_key(cache_dir, monkeypatch):
    """numpy may change its random streams between releases: a world replayed under another one is not a hit."""
    from evalkit.suite import load_suite, replay_cache

    sc = load_suite(SMOKE).scenarios[0]
    args = (sc.category, sc.world["seed"], sc.noise_level, sc.window, sc.alert, sc.world["digest"])
    before = replay_cache.replay_key(*args)
    monkeypatch.setattr(replay_cache.np, "__version__", "0.0.1")
    replay_cache.generator_fingerprint.cache_clear()
    try:
        assert replay_cache.replay_key(*args) != before
    finally:
        monkeypatch.undo()
        replay_cache.generator_fingerprint.cache_clear()
    assert replay_cache.replay_key(*args) == before


def _ast_imports(path: Path, module: str) -> set[str]:
    """Every module name an import statement of ``path`` names (an independent reading, by the ast)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            names |= {base} | {f"{base}.{a.name}" for a in node.names}
    return names


def test_the_key_covers_every_evalkit_module_a_replay_imports():
    """A helper module the generator starts to use changes the key without anyone listing it."""
    import evalkit
    import evalkit.suite.generator as gen
    from evalkit.suite import replay_cache

    root = Path(evalkit.__file__).parent
    module_of = {p: "evalkit." + ".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
                 for p in root.rglob("*.py")}
    path_of = {m: p for p, m in module_of.items()}
    want, todo = set(), sorted(Path(gen.__file__).parent.glob("*.py"))
    while todo:
        path = todo.pop()
        if path not in want:
            want.add(path)
            todo += [path_of[m] for m in _ast_imports(path, module_of[path]) if m in path_of]
    assert {p.resolve() for p in replay_cache.generator_sources()} == {p.resolve() for p in want}
    assert {"noise.py", "model.py", "line_formats.py", "json_text.py"} <= {p.name for p in want}


def test_imported_sources_follow_relative_lazy_and_parenthesised_imports_and_nothing_else(tmp_path, monkeypatch):
    from evalkit.cache import imported_sources

    pkg = tmp_path / "toypkg"
    (pkg / "sub").mkdir(parents=True)
    files = {
        "__init__.py": "",
        "a.py": "from .b import f\nfrom toypkg import (\n    sub,\n    c as see,\n)\n",
        "b.py": "def f():\n    from toypkg.sub.deep import g  # lazy\n    return g\n",
        "c.py": "import json, toypkg.d\n",
        "d.py": "",
        "unused.py": "import toypkg.a\n",
        "sub/__init__.py": "from . import deep\n",
        "sub/deep.py": "from ..d import *\ng = 1\n",
    }
    for rel, text in files.items():
        (pkg / rel).write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    found = imported_sources(["toypkg.a"], root="toypkg")
    assert [str(p.relative_to(pkg)) for p in found] == ["__init__.py", "a.py", "b.py", "c.py", "d.py",
                                                         "sub/__init__.py", "sub/deep.py"]  # not unused.py


def test_torn_or_tampered_entries_are_misses_and_get_replaced(cache_dir):
    from evalkit.suite import load_suite, load_world, replay_cache

    sc = load_suite(SMOKE).scenarios[0]
    fresh = load_world(sc).to_bytes()
    key = replay_cache.replay_key(sc.category, sc.world["seed"], sc.noise_level, sc.window, sc.alert,
                                  sc.world["digest"])
    path = replay_cache._path(key)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert replay_cache.get(key) is None
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert replay_cache.get(key) is None
    assert load_world(sc).to_bytes() == fresh
    assert replay_cache.get(key) is not None


def test_foreign_pickles_are_not_loaded(cache_dir):
    import hashlib
    import os
    import pickle

    from evalkit.suite import replay_cache

    payload = pickle.dumps(os.getcwd)  # a callable: never allowed
    key = "ab" * 32
    path = replay_cache._path(key)
    path.parent.mkdir(parents=True)
    path.write_bytes(replay_cache.MAGIC + hashlib.sha256(payload).hexdigest().encode() + payload)
    assert replay_cache.get(key) is None


def _load_many(job):
    """In a pool worker: forkserver children keep the environment of the forkserver, so set the cache here."""
    import os

    from evalkit.suite import load_suite, load_world

    cache, ids = job
    os.environ["EVALKIT_CACHE_DIR"] = cache
    by_id = {s.id: s for s in load_suite(CORE).scenarios}
    return [load_world(by_id[i]).to_bytes() for i in ids]


def test_concurrent_writers_of_the_same_keys_leave_valid_entries(cache_dir):
    from evalkit.suite import load_suite, load_world, replay_cache

    scen = load_suite(CORE).scenarios[:6]
    ids = [s.id for s in scen]
    with mp.get_context("forkserver").Pool(2) as pool:
        results = pool.map(_load_many, [(str(cache_dir), ids), (str(cache_dir), list(reversed(ids))),
                                         (str(cache_dir), ids)])
    fresh = [load_world(s, cache=False).to_bytes() for s in scen]
    assert results[0] == fresh and results[2] == fresh and results[1] == list(reversed(fresh))
    entries = list((cache_dir / "replay").rglob("*.world"))
    assert len(entries) == len(scen)
    assert not list((cache_dir / "replay").rglob(".*"))  # no temp file left behind
    for s in scen:
        key = replay_cache.replay_key(s.category, s.world["seed"], s.noise_level, s.window, s.alert,
                                      s.world["digest"])
        assert replay_cache.get(key) is not None


def test_the_cache_is_bounded_in_size_oldest_first(cache_dir, monkeypatch):
    import os

    from evalkit.suite import load_suite, load_world, replay_cache

    scen = load_suite(CORE).scenarios[:4]
    for i, s in enumerate(scen):
        load_world(s)
    entries = sorted((cache_dir / "replay").rglob("*.world"))
    for i, p in enumerate(sorted(entries)):
        os.utime(p, ns=(i * 10**9, i * 10**9))
    size = max(p.stat().st_size for p in entries)
    freed = replay_cache.prune(limit=2 * size)
    left = sorted((cache_dir / "replay").rglob("*.world"))
    assert freed > 0 and len(left) <= 2 and left == sorted(entries)[-len(left):]


def test_temp_files_of_killed_writers_are_pruned_once_old(cache_dir):
    """A worker killed on a timeout (SIGKILL) mid-write leaves its temp file; the bound must not leak them."""
    import os
    import time

    from evalkit.suite import load_suite, load_world, replay_cache

    load_world(load_suite(SMOKE).scenarios[0])
    entry = next((cache_dir / "replay").rglob("*.world"))
    old, fresh = entry.parent / f".{entry.name}.k1ll3d", entry.parent / f".{entry.name}.wr1t1n"
    old.write_bytes(b"x" * 1000)
    fresh.write_bytes(b"x" * 1000)
    day_ago = time.time_ns() - 86400 * 10**9
    os.utime(old, ns=(day_ago, day_ago))
    assert replay_cache.prune() == 1000
    assert not old.exists() and fresh.exists() and entry.exists()  # a live writer's file is left alone


@pytest.mark.parametrize("value", ["inf", "1e400", "-inf", "nan", "lots"])
def test_an_unusable_size_bound_falls_back_to_the_default(monkeypatch, value):
    from evalkit.suite import replay_cache

    monkeypatch.setenv("EVALKIT_REPLAY_CACHE_MB", value)
    assert replay_cache.max_bytes() == replay_cache.DEFAULT_MAX_MB * 2**20


def test_the_cache_can_be_turned_off(cache_dir, monkeypatch):
    from evalkit.suite import load_suite, load_world

    monkeypatch.setenv("EVALKIT_REPLAY_CACHE", "0")
    load_world(load_suite(SMOKE).scenarios[0])
    assert not (cache_dir / "replay").exists()


def test_a_cached_world_decodes_its_telemetry_lazily_and_pickles_as_a_plain_world(cache_dir):
    import pickle

    from evalkit.suite import load_suite, load_world
    from evalkit.world.model import World

    sc = load_suite(SMOKE).scenarios[1]
    fresh = load_world(sc).to_bytes()
    assert "_pending" not in load_world(sc).__dict__                         # decoded unless asked to be lazy
    cached = load_world(sc, lazy=True)
    assert isinstance(cached, World) and "_pending" in cached.__dict__     # nothing heavy decoded yet
    assert cached.alert == sc.alert and cached.components
    assert "logs" not in cached.__dict__
    plain = pickle.loads(pickle.dumps(cached))
    assert type(plain) is World and plain.to_bytes() == fresh
    assert cached.to_bytes() == fresh and "_pending" not in cached.__dict__
