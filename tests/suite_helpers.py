"""Test helpers for suite tests: run the CLI like the console script does, and copy suites to tmp."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "suites" / "smoke"
CORE = REPO / "suites" / "core"
#: core's first 30 scenarios per category: the suite's 1.0 scenarios, kept byte for byte when it became a pool
CORE_V1_PER_CATEGORY = 30


def core_slice(scenarios, first: int = CORE_V1_PER_CATEGORY, every: int = 0) -> list:
    """The scenarios among ``scenarios`` whose index within their category is <= ``first`` (ids end -001 ..),
    plus, with ``every``, each ``every``-th later one: a fixed, stratified sample of the pool."""
    def index(sc) -> int:
        return int(sc.id.rsplit("-", 1)[1])
    return [sc for sc in scenarios if index(sc) <= first or (every and index(sc) % every == 0)]


def run_cli(args: list[str]) -> tuple[int, str, str]:
    """Invoke ``evalkit.cli.main`` in-process (CliRunner isolation); returns (exit code, stdout, stderr)."""
    from evalkit.cli import main

    runner = CliRunner()
    with runner.isolation() as streams:
        code = 0
        try:
            main(args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        out, err = streams[0].getvalue().decode(), streams[1].getvalue().decode()
    return code, out, err


def copy_suite(src: Path, dst: Path, keep: int | None = None) -> Path:
    """Copy a suite folder; with ``keep`` only the first ``keep`` scenarios (and their truth files)."""
    shutil.copytree(src, dst)
    if keep is not None:
        for i, f in enumerate(sorted((dst / "scenarios").glob("*.json"))):
            if i >= keep:
                (dst / "truth" / f.name).unlink()
                f.unlink()
    return dst


def private_replay_cache(tmp_path: Path, monkeypatch) -> Path:
    """Point the replay cache at a private, enabled folder under ``tmp_path`` for one test; returns it."""
    monkeypatch.setenv("EVALKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("EVALKIT_REPLAY_CACHE", raising=False)
    return tmp_path / "cache"


def replay_sample(core_count: int = 24) -> list:
    """Every smoke scenario plus ``core_count`` core scenarios spread evenly over the pool."""
    from evalkit.suite import load_suite

    core = load_suite(CORE).scenarios
    return load_suite(SMOKE).scenarios + core[::len(core) // core_count][:core_count]
