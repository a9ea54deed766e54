"""One Workspace: the project root, suites, baselines, a suite's policy and the tracking URI, by one set of rules
that every command and the notebook API share."""

from __future__ import annotations

import pytest
from suite_helpers import SMOKE, copy_suite, run_cli

from evalkit.workspace import CHECKOUT, Workspace, bundled_dir, find_root

POLICY = "[gate]\nalpha = 0.01\n"


@pytest.fixture
def no_tracking_env(monkeypatch):
    for name in ("EVALKIT_TRACKING_URI", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)


def test_the_project_root_is_the_nearest_folder_with_suites_or_evalkit_toml(tmp_path):
    (tmp_path / "proj" / "suites").mkdir(parents=True)
    deep = tmp_path / "proj" / "src" / "pkg"
    deep.mkdir(parents=True)
    assert find_root(deep) == (tmp_path / "proj").resolve()
    (tmp_path / "proj" / "src" / "evalkit.toml").write_text("")
    assert find_root(deep) == (tmp_path / "proj" / "src").resolve()


def test_without_a_marker_the_working_directory_is_the_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ws = Workspace.resolve()
    assert ws.root == tmp_path.resolve()
    # the checkout's suites, then the ones shipped in the package, are still found by name
    assert ws.suite_dirs == (CHECKOUT / "suites", bundled_dir() / "suites")


def test_suites_are_looked_up_in_the_project_then_the_checkout(tmp_path, monkeypatch):
    copy_suite(SMOKE, tmp_path / "suites" / "mine", keep=2)
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    ws = Workspace.resolve()
    assert ws.suite_dirs == (tmp_path.resolve() / "suites", CHECKOUT / "suites", bundled_dir() / "suites")
    assert ws.suite_path("mine") == tmp_path.resolve() / "suites" / "mine"
    assert ws.suite_path("smoke") == CHECKOUT / "suites" / "smoke"


def test_baselines_come_from_the_flag_then_the_project_then_beside_the_suite(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ws = Workspace.resolve()
    assert ws.baselines_dir(CHECKOUT / "suites" / "smoke") == CHECKOUT / "baselines"  # bundled suite, bundled exports
    assert str(ws.baselines_dir()) == "baselines"  # where `baseline export` writes: the project's, made on demand
    (tmp_path / "baselines").mkdir()  # a project's baselines/ (evalkit init makes one) ...
    assert ws.baselines_dir(CHECKOUT / "suites" / "smoke") == CHECKOUT / "baselines"  # ... hides no shipped one
    (tmp_path / "baselines" / "smoke").mkdir()
    assert str(ws.baselines_dir(CHECKOUT / "suites" / "smoke")) == "baselines"  # the project's own wins, as typed
    flagged = Workspace.resolve(baselines_dir="elsewhere")
    assert str(flagged.baselines_dir(CHECKOUT / "suites" / "smoke")) == "elsewhere"


def test_a_suites_policy_is_the_one_beside_its_baselines_whichever_command_asks(tmp_path, monkeypatch):
    """gate --baselines-dir X, compare and the notebooks judge a suite by the same policy file."""
    from evalkit.compare import default_policy, policy_for_suite

    monkeypatch.chdir(tmp_path)
    (tmp_path / "exports" / "smoke").mkdir(parents=True)
    (tmp_path / "exports" / "smoke" / "policy.toml").write_text(POLICY)
    flagged = Workspace.resolve(baselines_dir=tmp_path / "exports")
    assert flagged.policy("smoke").alpha == 0.01
    assert Workspace.resolve().policy("smoke") == policy_for_suite("smoke")  # the API's lookup is the workspace's
    (tmp_path / "baselines" / "smoke").mkdir(parents=True)
    (tmp_path / "baselines" / "smoke" / "policy.toml").write_text(POLICY)
    assert policy_for_suite("smoke").alpha == 0.01 != default_policy().alpha
    assert str(Workspace.resolve().policy_path("smoke")) == "baselines/smoke/policy.toml"


def test_tracking_uri_precedence_is_argument_then_evalkit_then_mlflow_then_embedded(tmp_path, monkeypatch,
                                                                                   no_tracking_env):
    monkeypatch.chdir(tmp_path)
    assert Workspace.resolve().tracking.uri == f"sqlite:///{tmp_path.resolve()}/.evalkit/mlflow/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    assert Workspace.resolve().tracking.uri == "http://mlflow:5000"
    monkeypatch.setenv("EVALKIT_TRACKING_URI", "http://evalkit:5000")
    target = Workspace.resolve().tracking
    assert (target.uri, target.source, target.origin) == ("http://evalkit:5000", "env", "EVALKIT_TRACKING_URI")
    assert Workspace.resolve(tracking_uri="http://arg:5000").tracking.origin == "--tracking-uri"


def test_the_embedded_store_belongs_to_the_project_not_the_subfolder(tmp_path, monkeypatch, no_tracking_env):
    (tmp_path / "suites").mkdir()
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert Workspace.resolve().store().target.artifact_root == tmp_path.resolve() / ".evalkit" / "mlflow" / "artifacts"


def test_the_cli_honours_evalkit_tracking_uri_like_the_notebooks(tmp_path, monkeypatch, no_tracking_env):
    """An unusable URI in EVALKIT_TRACKING_URI is reported under that name by a CLI command."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EVALKIT_TRACKING_URI", "ftp://nowhere")
    code, _, err = run_cli(["baseline", "history", "--suite", "smoke"])
    assert code == 2 and err.startswith("error: EVALKIT_TRACKING_URI: uri 'ftp://nowhere'"), err


def test_the_shipped_suites_and_their_baselines_are_package_data(tmp_path, monkeypatch):
    """core and smoke are read through importlib.resources (a wheel install has no checkout), each with its
    committed baseline export and policy beside it."""
    from evalkit.suite import load_suite

    monkeypatch.chdir(tmp_path)
    shipped = bundled_dir()
    for name in ("core", "smoke"):
        assert (shipped / "suites" / name / "suite.toml").is_file()
        assert (shipped / "baselines" / name / "main.manifest.json").is_file()
        found = Workspace.resolve().baselines_dir(shipped / "suites" / name) / name
        assert found.resolve() == (shipped / "baselines" / name).resolve()
    assert load_suite(shipped / "suites" / "smoke").hash == load_suite(SMOKE).hash


def test_a_projects_own_suite_hides_a_shipped_one_of_the_same_name(tmp_path, monkeypatch):
    copy_suite(SMOKE, tmp_path / "suites" / "smoke", keep=2)
    monkeypatch.chdir(tmp_path)
    assert Workspace.resolve().suite_path("smoke") == tmp_path.resolve() / "suites" / "smoke"


def test_a_folder_where_a_policy_or_a_setting_names_a_file_is_refused_not_ignored(tmp_path, monkeypatch):
    from evalkit.errors import UserError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "suites").mkdir()
    (tmp_path / "baselines" / "core" / "policy.toml").mkdir(parents=True)
    with pytest.raises(UserError, match="policy.toml: file 'a folder'"):
        Workspace.resolve().policy("core")
    (tmp_path / "not-a-folder").write_text("")
    (tmp_path / "evalkit.toml").write_text('[evalkit]\nsuites = "not-a-folder"\n')
    with pytest.raises(UserError, match="evalkit.suites 'not-a-folder': is not a folder"):
        Workspace.resolve()
