"""The notebooks' store: a relative sqlite:/// URI means the folder the user started Jupyter from ($PWD), not the
notebook's folder the kernel runs in; a store file that does not exist is named as such."""

from __future__ import annotations

import pytest

import evalkit.notebook as nb
from evalkit.errors import UserError


@pytest.fixture
def user(tmp_path, monkeypatch):
    """The user in ``tmp_path`` (their shell's $PWD) with a kernel running in ``tmp_path/notebooks``."""
    for name in ("EVALKIT_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "suites").mkdir()
    monkeypatch.setenv("PWD", str(tmp_path))
    monkeypatch.chdir(tmp_path / "notebooks")
    nb._cached_store.cache_clear()
    return tmp_path


def test_a_relative_store_path_is_relative_to_where_the_user_started(user, monkeypatch, embedded_store_template):
    import shutil

    (user / "demo").mkdir()
    shutil.copyfile(embedded_store_template, user / "demo" / "mlflow.db")
    monkeypatch.setenv("EVALKIT_TRACKING_URI", "sqlite:///demo/mlflow.db")
    store = nb.open_store()
    assert store.target.uri == f"sqlite:///{user.resolve()}/demo/mlflow.db"
    assert store.target.origin == "EVALKIT_TRACKING_URI"
    assert nb.list_runs("core").empty


def test_a_missing_store_file_is_named_not_reported_as_no_runs(user, monkeypatch):
    monkeypatch.setenv("EVALKIT_TRACKING_URI", "sqlite:///demo/mlflow.db")
    with pytest.raises(UserError) as err:
        nb.drift("core-sub5")
    message = str(err.value)
    assert f"no store at {user.resolve()}/demo/mlflow.db" in message and "EVALKIT_TRACKING_URI" in message
    assert "no complete evaluation runs" not in message


def test_the_drift_command_names_a_missing_store_too(tmp_path, monkeypatch):
    from suite_helpers import run_cli

    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["drift", "--suite", "core", "--output-dir", "out",
                            "--tracking-uri", "sqlite:///nowhere/mlflow.db"])
    assert code == 2 and f"no store at {tmp_path.resolve()}/nowhere/mlflow.db" in err, err
