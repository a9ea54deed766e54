"""Acceptance of the installable framework: a wheel built from this checkout and pip-installed into a fresh venv
outside it gates the shipped core suite (reference:v2 regresses: exit 1), and `evalkit init` in an empty git
repository gives a project whose own documented gate command passes on its example agent (exit 0).

The fresh venv gets evalkit only from the wheel (`pip install --no-deps`); its dependencies (pandas, mlflow, ...)
are reached through a .pth line naming this environment's site-packages instead of being installed again
(minutes), like `venv --system-site-packages` would for a system install (a .pth path line adds the folder
without running its own .pth hooks, so this checkout's editable install stays out of the fresh venv). Each
step's seconds are printed (pytest -s): measured on the 2-core machine, busy, wheel 37 s, venv + install 41 s
(with ensurepip; ~5 s without), gate core 184 s, init 30 s, the scaffold's gate 14 s."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def step(what: str, args: list[str], *, cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 900) -> subprocess.CompletedProcess:
    """Run one command, print its wall time, and return it (output captured as text)."""
    began = time.monotonic()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    print(f"{what}: exit {done.returncode} in {time.monotonic() - began:.1f} s")
    return done


@pytest.mark.slow
def test_a_wheel_installed_outside_the_checkout_gates_core_and_a_new_project(tmp_path):
    done = step("pip wheel", [sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w",
                              str(tmp_path / "dist")], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next((tmp_path / "dist").glob("evalkit-*.whl"))

    venv = tmp_path / "venv"  # without pip of its own (ensurepip costs ~20 s): this pip installs into it (--python)
    assert step("venv", [sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                        text=True).strip())
    (site / "evalkit-test-deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    done = step("pip install wheel", [sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                                      "--no-deps", "--no-index", str(wheel)], cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]

    env = {k: v for k, v in os.environ.items() if k not in ("EVALKIT_TRACKING_URI", "MLFLOW_TRACKING_URI",
                                                             "PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"  # as an activated venv
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = subprocess.check_output([python, "-c", "import evalkit; print(evalkit.__file__)"], cwd=elsewhere,
                                    env=env, text=True).strip()
    assert Path(where).is_relative_to(venv), where  # the wheel's evalkit, not this checkout's

    done = step("gate core reference:v2", ["evalkit", "gate", "--suite", "core", "--agent", "reference:v2", "--quiet"],
                cwd=elsewhere, env=env)
    assert done.returncode == 1, done.stderr[-3000:]
    assert "regressed" in done.stdout

    project = tmp_path / "project"
    project.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    done = step("evalkit init", ["evalkit", "init"], cwd=project, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    documented = done.stdout.strip().splitlines()[-1].split("gate a change with: ", 1)[1]
    done = step(documented, [*documented.split(), "--quiet"], cwd=project, env=env)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
