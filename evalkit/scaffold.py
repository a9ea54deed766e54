"""``evalkit init``: set up evalkit in an existing git repository so that its first gate works at once.

Writes evalkit.toml (folders, store, default suite and agent), a starter suite generated for the chosen
categories, its policy, an example agent (or wires the user's own command), a GitHub Actions workflow that
gates pull requests, then records the agent's first baseline and exports it beside the policy. Never
overwrites a file: any that exists stops it before anything is written.
"""

from __future__ import annotations

import shlex
import subprocess
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Callable

from evalkit import __version__
from evalkit.errors import UserError
from evalkit.vocab import Role
from evalkit.workspace import BASELINES, CONFIG_FILE, DEFAULT_ALIAS, POLICY_FILE, SUITES, Workspace

#: the starter suite's categories when none are chosen: three common incident kinds.
DEFAULT_CATEGORIES = ("deploy/bad-release", "database/slow-query", "kubernetes/oom")
EXAMPLE_AGENT = "evalkit_agent.py"
WORKFLOW = ".github/workflows/evalkit.yml"
#: lines the project's .gitignore gets (the embedded store, journals and reports are not source).
IGNORED = (".evalkit/", "evalkit-reports/")


@dataclass(frozen=True)
class InitOptions:
    """What ``evalkit init`` sets up. ``agent_command`` empty: the example agent (``python3 evalkit_agent.py``)."""

    suite: str = "starter"
    categories: tuple[str, ...] = DEFAULT_CATEGORIES
    per_category: int = 10
    trials: int = 1
    agent_command: str = ""
    tracking_uri: str = ""
    pip_spec: str = f"evalkit=={__version__}"
    seed: int = 0

    @property
    def agent(self) -> str:
        """The agent spec the project gates: ``cmd:`` + the user's command, else the example agent's."""
        return "cmd:" + (self.agent_command or f"python3 {EXAMPLE_AGENT}")


@dataclass
class Scaffold:
    """What ``init_project`` did: the files written (relative to ``root``) and the baseline it recorded."""

    root: Path
    written: list[Path] = field(default_factory=list)
    baseline: Path | None = None  # the committed export's manifest

    @property
    def gate_command(self) -> str:
        """The command that gates the project (suite and agent come from evalkit.toml)."""
        return "evalkit gate"


def planned_files(opts: InitOptions) -> dict[str, str]:
    """The text files of the scaffold (path relative to the project root -> text); the suite is generated."""
    values = {"@SUITE@": opts.suite, "@AGENT@": opts.agent, "@TRACKING_URI@": opts.tracking_uri,
              "@PER_CATEGORY@": str(opts.per_category), "@PIP_SPEC@": opts.pip_spec}

    def filled(name: str) -> str:
        text = (files("evalkit") / "templates" / "project" / name).read_text(encoding="utf-8")
        for key, value in values.items():
            text = text.replace(key, value.replace('"', '\\"') if name.endswith(".toml") else value)
        return text

    planned = {CONFIG_FILE: filled(CONFIG_FILE), f"{BASELINES}/{opts.suite}/{POLICY_FILE}": filled(POLICY_FILE),
               WORKFLOW: filled("evalkit.yml")}
    if not opts.agent_command:
        planned[EXAMPLE_AGENT] = filled(EXAMPLE_AGENT)
    return planned


def _check_options(root: Path, opts: InitOptions) -> None:
    """What init writes must be usable: a suite id as the suite name, a tracking URI evalkit accepts."""
    from evalkit.store.tracking import resolve_tracking
    from evalkit.suite.suite_file import ID_RE

    if not ID_RE.fullmatch(opts.suite):
        raise UserError.at("--suite", "", opts.suite, "use letters, digits, '.', '_' or '-' (a folder under suites/)")
    if not opts.categories:  # an empty list would generate every category, which nobody asked for
        raise UserError.at("--categories", "", "", "name at least one category (evalkit suite generate --help lists them)")
    if opts.tracking_uri:
        resolve_tracking(opts.tracking_uri, root)


def check_git_repository(root: Path) -> None:
    """UserError unless ``root`` is inside a git working tree (the scaffold is committed and run by CI)."""
    try:
        done = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=root, capture_output=True,
                              text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        done = None
    if done is None or done.returncode != 0 or done.stdout.strip() != "true":
        raise UserError.at(str(root), "git", "not a git repository",
                           "run evalkit init in your agent's repository (or git init first)")


def init_project(root: str | Path, opts: InitOptions | None = None, *, baseline: bool = True,
                 progress: Callable[[int, int], None] | None = None) -> Scaffold:
    """Scaffold an evalkit project in the git repository at ``root`` (see the module docstring); with
    ``baseline``, run the agent on the starter suite and commit-ready export its results as the baseline."""
    from evalkit.suite import generate_suite

    opts = opts or InitOptions()
    root = Path(root).resolve()
    check_git_repository(root)
    _check_options(root, opts)
    planned = planned_files(opts)
    suite_dir = Path(SUITES) / opts.suite
    for rel in [*planned, str(suite_dir)]:
        if (root / rel).exists():
            raise UserError.at(rel, "file", "exists",
                               "evalkit init never overwrites: remove it, or edit the existing setup by hand")
        folder = (root / rel).parent
        while folder != root and not folder.is_dir():
            if folder.exists():  # e.g. a file named .github or baselines: nothing may be written then
                raise UserError.at(str(folder.relative_to(root)), "file", "not a folder",
                                   f"evalkit init writes {rel} there: rename or remove it")
            folder = folder.parent
    if (root / ".gitignore").exists() and not (root / ".gitignore").is_file():
        raise UserError.at(".gitignore", "file", "not a file", "evalkit init appends to it: remove the folder")
    try:
        shlex.split(opts.agent_command)  # a malformed command line fails here, before anything is written
    except ValueError as exc:
        raise UserError.at("--agent-command", "", opts.agent_command, f"{exc}: fix the quoting") from None
    done = Scaffold(root)
    generate_suite(root / suite_dir, opts.suite, opts.per_category, seed=opts.seed, categories=list(opts.categories),
                   description=f"Starter suite of this repository ({opts.per_category} incidents per category).",
                   default_trials=opts.trials)
    done.written.append(suite_dir)
    for rel, text in planned.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
        done.written.append(Path(rel))
    if _extend_gitignore(root):
        done.written.append(Path(".gitignore"))
    if baseline:
        try:
            done.baseline = record_baseline(root, opts, progress=progress)
        except UserError as err:  # the files stay: say how to record the baseline once the agent works
            raise UserError.at("evalkit init", "baseline", "not recorded", f"{err} -- the other files are "
                               f"written; once the agent works: evalkit run --role baseline, then evalkit "
                               f"baseline promote RUN_ID --suite {opts.suite} --alias {DEFAULT_ALIAS}, then "
                               f"evalkit baseline export --suite {opts.suite}") from None
        from evalkit.store.exchange import baseline_paths

        done.written += [p.relative_to(root) for p in baseline_paths(done.baseline.parent.parent, opts.suite,
                                                                      DEFAULT_ALIAS)]
    return done


def _extend_gitignore(root: Path) -> bool:
    """Add :data:`IGNORED` to the project's .gitignore (created when missing); True when it changed."""
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.is_file() else ""
    missing = [line for line in IGNORED if line not in text.splitlines()]
    if missing:
        path.write_text(text + ("\n" if text and not text.endswith("\n") else "") + "\n".join(missing) + "\n",
                        encoding="utf-8")
    return bool(missing)


def record_baseline(root: Path, opts: InitOptions, *,
                    progress: Callable[[int, int], None] | None = None) -> Path:
    """Run the project's agent on its suite, log and promote the run as ``<suite>@main`` in the project's store,
    and export it to ``baselines/<suite>/``; returns the export's manifest."""
    from evalkit.run.config import JournalConfig, RunConfig
    from evalkit.run.runner import run_suite

    ws = Workspace.resolve(cwd=root)
    config = RunConfig(seed=opts.seed, journal=JournalConfig(name=Role.BASELINE))  # not resumed by a gate
    result = run_suite(root / SUITES / opts.suite, opts.agent, config, progress=progress)
    store = ws.store()
    # outbox=False: an unreachable store fails here (a queued run could not be promoted)
    logged = store.log_run(result, aggregates=result.aggregate(), role=Role.BASELINE, outbox=False)
    store.promote(logged.run_id, opts.suite, DEFAULT_ALIAS, reason="first baseline, recorded by evalkit init")
    return store.export_baseline(opts.suite, DEFAULT_ALIAS, root / ws.config.baselines)


__all__ = ["DEFAULT_CATEGORIES", "InitOptions", "Scaffold", "check_git_repository", "init_project", "planned_files",
           "record_baseline"]
