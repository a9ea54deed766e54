"""Both notebooks execute top to bottom against a store the tests build (the demo history), as a user would
run them: the store comes from ``EVALKIT_TRACKING_URI``."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from drift_support import SUITE, demo_history

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


@pytest.fixture(scope="module")
def history(embedded_store_template, tmp_path_factory):
    for module in ("nbclient", "nbconvert", "ipykernel"):
        pytest.importorskip(module, reason="executing notebooks needs the notebooks extra: "
                                           "pip install -e '.[test,notebooks]' (.ci/run installs it)")
    return demo_history(embedded_store_template, tmp_path_factory)


def execute(name: str, env: dict[str, str]):
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits the environment of the process that starts it
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOKS.parent)}}).execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return nb


def text_of(nb) -> str:
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                parts.append(out["text"])
            elif "data" in out:
                parts.append(str(out["data"].get("text/plain", "")))
    return "\n".join(parts)


def images(nb) -> int:
    return sum("image/png" in out.get("data", {}) for c in nb.cells for out in c.get("outputs", []))


@pytest.mark.parametrize("name", ["regression_deep_dive", "quality_drift"])
def test_notebooks_are_stored_without_outputs(name):
    doc = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    code = [c for c in doc["cells"] if c["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for c in code)


@pytest.mark.slow
def test_regression_deep_dive_runs_and_finds_where_the_candidate_went_astray(history):
    nb = execute("regression_deep_dive", {"EVALKIT_TRACKING_URI": history.uri, "EVALKIT_SUITE": SUITE,
                                          "EVALKIT_DRIFT_REF_BUILDS": str(history.ref_builds)})
    text = text_of(nb)
    dig = re.search(r"categories to dig into: \[([^\]]*)\]", text)
    assert dig and dig.group(1), text[-3000:]
    assert "the investigations diverge at step" in text
    assert "after the divergence the candidate looked at:" in text
    assert "anchored on the alerting service" in text  # the monitor-focus build names the symptom
    assert images(nb) >= 2


def nbconvert(name: str, cwd: Path, env: dict[str, str], out: Path):
    """``jupyter nbconvert --execute`` (the notebooks extra) run by a user in ``cwd`` (their shell's $PWD)."""
    import subprocess
    import sys

    import nbformat

    target = os.path.relpath(NOTEBOOKS / f"{name}.ipynb", cwd)
    done = subprocess.run([str(Path(sys.executable).parent / "jupyter"), "nbconvert", "--to", "notebook", "--execute",
                           "--ExecutePreprocessor.timeout=300", "--output-dir", str(out), target], cwd=cwd,
                          env={**os.environ, **env, "PWD": str(cwd)}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return nbformat.read(out / f"{name}.ipynb", as_version=4)


@pytest.mark.slow
@pytest.mark.parametrize("start_in", ["repository root", "notebooks/"])
def test_quality_drift_runs_and_shows_the_alarm(history, start_in, tmp_path):
    """Executed with `jupyter nbconvert` from the repository root and from notebooks/, the store named by a
    sqlite:/// path relative to where the user is (the kernel itself runs in notebooks/)."""
    cwd = NOTEBOOKS.parent if start_in == "repository root" else NOTEBOOKS
    db = history.uri.removeprefix("sqlite:///")
    nb = nbconvert("quality_drift", cwd, {"EVALKIT_TRACKING_URI": f"sqlite:///{os.path.relpath(db, cwd)}",
                                          "EVALKIT_SUITE": SUITE, "EVALKIT_DRIFT_REF_BUILDS": str(history.ref_builds)},
                   tmp_path)
    text = text_of(nb)
    assert re.search(r"[1-9]\d* alarm\(s\) in [1-9]\d* categor", text), text[-3000:]
    assert re.search(r"category: \S+", text)
    assert images(nb) >= 3
