# ---- bytecode: the test command installs with `pip --no-compile`, so the tests' own processes cache it --------
import os as _os
import shutil as _shutil
import sys as _sys
import tempfile as _tempfile

# Many tests start Python processes (the CLI, forkserver workers). Where PYTHONDONTWRITEBYTECODE is set (CI
# images often set it), each of them would compile pandas, numpy, scipy and evalkit from source again: ~1.3 s
# a process here. The test venv is ours, so its processes write their bytecode once and reuse it.
_os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
_sys.dont_write_bytecode = False

# ---- evalkit's user cache (suite indexes of read-only suites, replayed worlds): one fresh folder per session

_SESSION_CACHE: str | None = None


def pytest_configure(config):
    """Point EVALKIT_CACHE_DIR at a fresh folder for the session (xdist workers inherit it from the controller)."""
    global _SESSION_CACHE
    if not _os.environ.get("EVALKIT_CACHE_DIR"):
        _SESSION_CACHE = _tempfile.mkdtemp(prefix="evalkit-test-cache-")
        _os.environ["EVALKIT_CACHE_DIR"] = _SESSION_CACHE
    config.pluginmanager.register(_GroupsReachTheScheduler(), "evalkit-xdist-groups")


def pytest_unconfigure(config):
    if _SESSION_CACHE is not None:
        _shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


# ---- store fixtures (evalkit.store, issue 6): MLflow server on PostgreSQL, Store per backend --------------
import pytest as _pytest


@_pytest.fixture(scope="session")
def mlflow_pg_server(tmp_path_factory):
    """One MLflow tracking server per test session, backed by a fresh PostgreSQL database (dropped after).
    Skips when nothing listens on 127.0.0.1:5432."""
    from store_support import PG_HOST, PG_PORT, drop_database, port_open, start_pg_mlflow_server

    if not port_open(PG_HOST, PG_PORT):
        _pytest.skip(f"no PostgreSQL listening on {PG_HOST}:{PG_PORT}; the server-backed store tests need it")
    server = start_pg_mlflow_server(tmp_path_factory.mktemp("mlflow-pg-server"))
    try:
        yield server
    finally:
        server.stop()
        drop_database(server.database)


@_pytest.fixture(scope="session")
def embedded_store_template(tmp_path_factory):
    """An empty embedded MLflow database, schema created once per session (MLflow's schema set-up takes
    ~1.5 s; every fresh SQLite store in the tests starts from a copy of this file)."""
    import sqlite3

    from evalkit.store import Store

    root = tmp_path_factory.mktemp("embedded-template")
    db = root / ".evalkit" / "mlflow" / "mlflow.db"
    db.parent.mkdir(parents=True)
    # named, not Store(None): a tracking URI left in the env by an earlier test would win
    Store(f"sqlite:///{db}", root=root).client()
    con = sqlite3.connect(db)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return db


@_pytest.fixture
def make_embedded_store(embedded_store_template, monkeypatch):
    """``make(root) -> Store``: an empty embedded store under ``root/.evalkit/`` (as on a fresh clone)."""
    import shutil

    from evalkit.store import Store

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)

    def make(root):
        target = root / ".evalkit" / "mlflow" / "mlflow.db"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(embedded_store_template, target)
        return Store(None, root=root)

    return make


@_pytest.fixture(scope="session")
def shared_sqlite_uri(embedded_store_template, tmp_path_factory):
    """One SQLite tracking database for the whole session (tests isolate themselves by unique suite names,
    exactly as on the shared PostgreSQL server); saves MLflow's per-database start-up in every test."""
    import shutil

    db = tmp_path_factory.mktemp("shared-sqlite") / "mlflow.db"
    shutil.copyfile(embedded_store_template, db)
    return f"sqlite:///{db}"


@_pytest.fixture(params=["sqlite", _pytest.param("postgres", marks=_pytest.mark.postgres)])
def store_on_backend(request, tmp_path, monkeypatch):
    """A :class:`evalkit.store.Store` on each backend of the conformance tests: a SQLite file store and the
    session's PostgreSQL-backed MLflow server (outbox under ``tmp_path``)."""
    from evalkit.store import Store

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    if request.param == "sqlite":
        return Store(request.getfixturevalue("shared_sqlite_uri"), root=tmp_path)
    return Store(request.getfixturevalue("mlflow_pg_server").uri, root=tmp_path)


# ---- the gate's worked example: the core policy and the monitor-focus trade-off compared under it ----------
@_pytest.fixture(scope="session")
def core_policy():
    """The bundled core suite's gate policy (baselines/core/policy.toml)."""
    from gate_support import CORE_POLICY

    from evalkit.compare import load_policy

    return load_policy(CORE_POLICY)


@_pytest.fixture(scope="session")
def trade_off(core_policy):
    """The monitor-focus trade-off (gate_support.trade_off_tables) under the core policy: a cross-category
    regression in every downstream category."""
    from gate_support import trade_off_tables

    from evalkit.compare import compare

    cand, base = trade_off_tables()
    return compare(cand, base, core_policy)


# ---- pytest-xdist: tests that share an expensive per-process resource run in one worker ---------------------
# (``--dist loadgroup`` in pyproject's addopts). The PostgreSQL-backed MLflow server is one per session and
# process, the local Ray instance must not be started twice at once, and tests/drift_support.py builds its demo
# history once per process (~40 s): each family is one group, so each is paid for once.
_DRIFT_MODULES = {"test_dashboard_browser", "test_drift_dashboard", "test_drift_history", "test_notebooks"}


@_pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        if "mlflow_pg_server" in names or item.get_closest_marker("postgres"):
            group = "postgres"
        elif "local_ray" in names or item.get_closest_marker("ray"):
            group = "ray"
        elif item.module is not None and item.module.__name__.rsplit(".", 1)[-1] in _DRIFT_MODULES:
            group = "drift"
        else:
            continue
        item.add_marker(_pytest.mark.xdist_group(group))


# ---- every Comparison built by any test: its printed bounds agree with its verdicts (issue 17) ------------
@_pytest.fixture(autouse=True, scope="session")
def _every_comparison_prints_the_bounds_that_decided():
    from verdict_support import disagreements

    from evalkit.compare.comparison import Comparison

    original = Comparison.__init__

    def checked(self, *args, **kwargs):
        original(self, *args, **kwargs)
        wrong = disagreements(self.cells)
        assert not wrong, "verdict and bounds disagree: " + "; ".join(wrong[:5])

    Comparison.__init__ = checked
    yield
    Comparison.__init__ = original


class _GroupsReachTheScheduler:
    """Fails the run at collection when --dist loadgroup would silently ignore the groups above (pytest-xdist
    tags a grouped test by suffixing its node id; a pytest that ignores the suffix loses every group)."""

    @_pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config, items):
        import os

        if not os.environ.get("PYTEST_XDIST_WORKER") or not config.getoption("loadgroup", False):
            return
        lost = [i.nodeid for i in items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
        if lost:
            raise _pytest.UsageError(f"pytest {_pytest.__version__} drops pytest-xdist's loadgroup tags (e.g. {lost[0]});"
                                     " install the test extra's pinned pytest: pip install -e '.[test]'")


# ---- no test leaves a tracking URI behind for the next one -------------------------------------------------
@_pytest.fixture(autouse=True)
def _tracking_uri_left_as_found():
    """A test that points MLflow somewhere (``mlflow.set_tracking_uri`` also sets MLFLOW_TRACKING_URI) must put
    it back: left set, every later test that resolves the default store would silently use that one."""
    before = _os.environ.get("MLFLOW_TRACKING_URI")
    yield
    after = _os.environ.get("MLFLOW_TRACKING_URI")
    assert after == before, f"the test left MLFLOW_TRACKING_URI={after!r} (was {before!r}); restore it"
