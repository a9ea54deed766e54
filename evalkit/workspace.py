"""Where evalkit finds things: one :class:`Workspace`, resolved once, used by every command and the notebook API.

- **Project root**: the nearest folder, from the working directory upwards, holding ``evalkit.toml`` or a
  ``suites/`` folder; the working directory itself when none does.
- **Project settings**: the ``[evalkit]`` table of ``<root>/evalkit.toml`` (``evalkit init`` writes one): ``suites``
  and ``baselines`` (folders, relative to the root), ``tracking_uri``, and the defaults ``suite`` and ``agent``
  of ``evalkit gate`` and ``evalkit run``. Every key is optional; the folder names below are the defaults.
- **Suites**: ``<root>/suites``, then the ``suites/`` of an evalkit source checkout (when evalkit runs from one),
  then the suites shipped inside the package (``core`` and ``smoke``, read through ``importlib.resources``).
  A project's own suite of the same name wins.
- **Baselines** (committed exports and each suite's ``policy.toml``): ``--baselines-dir`` when given, else
  ``<root>/baselines`` when it holds a folder for the suite, else the ``baselines/`` beside the suite's
  ``suites/`` folder when it does (a shipped suite's shipped baselines), else ``<root>/baselines``.
- **Policy of a suite**: ``--policy`` when given, else ``<baselines>/<suite>/policy.toml``, else the default.
- **Tracking URI**, first that is set: ``--tracking-uri`` (or ``tracking_uri=``), ``EVALKIT_TRACKING_URI``,
  ``MLFLOW_TRACKING_URI``, ``tracking_uri`` in evalkit.toml, else the embedded store in ``<root>/.evalkit/mlflow/``. The evalkit variable wins
  over the generic MLflow one, which other MLflow tools in the same shell read too.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, fields
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from evalkit.errors import UserError

if TYPE_CHECKING:
    from evalkit.compare.policy import Policy
    from evalkit.store import Store
    from evalkit.store.tracking import TrackingTarget

#: the evalkit source checkout: its suites/ and baselines/ hold the bundled suites and their baselines.
CHECKOUT = Path(__file__).resolve().parents[1]
SUITES = "suites"
BASELINES = "baselines"
POLICY_FILE = "policy.toml"
#: a project's reports folder (kept from agents like suites and baselines).
REPORTS = "reports"
#: where the gate and ``evalkit report`` write their reports unless told otherwise.
REPORTS_DIR = "evalkit-reports"
CONFIG_FILE = "evalkit.toml"
CONFIG_TABLE = "evalkit"
#: what makes a folder a project root.
PROJECT_MARKERS = (CONFIG_FILE, SUITES)
#: the baseline alias a gate compares to unless told otherwise.
DEFAULT_ALIAS = "main"
#: default location of everything evalkit keeps locally, below the working directory or project root.
EVALKIT_DIR = ".evalkit"


@dataclass(frozen=True)
class ProjectConfig:
    """The ``[evalkit]`` table of a project's evalkit.toml: where its suites and baselines live, its store, and
    the suite and agent its gate runs by default (empty: not set)."""

    suites: str = SUITES
    baselines: str = BASELINES
    tracking_uri: str = ""
    suite: str = ""
    agent: str = ""


def read_config(root: Path) -> ProjectConfig:
    """``<root>/evalkit.toml`` as a ProjectConfig (the defaults without one); UserError naming the bad key."""
    path = root / CONFIG_FILE
    if not path.is_file():
        return ProjectConfig()
    where = str(_shown(path))
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UserError.at(where, "toml", str(exc), "fix the TOML syntax") from None
    table = doc.get(CONFIG_TABLE, {})
    if not isinstance(table, dict):
        raise UserError.at(where, CONFIG_TABLE, table, f"make [{CONFIG_TABLE}] a table of settings")
    known = [f.name for f in fields(ProjectConfig)]
    for key, value in table.items():
        if key not in known:
            raise UserError.at(where, f"{CONFIG_TABLE}.{key}", value, "remove it; known keys are " + ", ".join(known))
        if not isinstance(value, str):
            raise UserError.at(where, f"{CONFIG_TABLE}.{key}", value, 'give a string, e.g. key = "value"')
        if key in ("suites", "baselines") and (root / value).exists() and not (root / value).is_dir():
            raise UserError.at(where, f"{CONFIG_TABLE}.{key}", value, "is not a folder; give the folder (relative "
                               "to this file) that holds them")
    return ProjectConfig(**table)


def _shown(path: Path) -> Path:
    """``path`` relative to the working directory when it lies below it (as messages and reports show it)."""
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def bundled_dir() -> Path:
    """The folder of the data shipped inside the installed package (wheel or editable install)."""
    from importlib.resources import files

    return Path(str(files("evalkit") / "bundled"))


def find_root(start: Path) -> Path:
    """The nearest folder from ``start`` upwards that holds one of :data:`PROJECT_MARKERS`, else ``start``."""
    start = start.resolve()
    return next((folder for folder in (start, *start.parents)
                 if any((folder / marker).exists() for marker in PROJECT_MARKERS)), start)


@dataclass(frozen=True)
class Workspace:
    """The resolved locations of one invocation (see the module docstring for the rules)."""

    root: Path
    suite_dirs: tuple[Path, ...]
    tracking_uri: str | None = None  # the explicit one (``--tracking-uri``); None: environment, config, embedded
    baselines_override: Path | None = None  # ``--baselines-dir``
    config: ProjectConfig = field(default_factory=ProjectConfig)  # the project's evalkit.toml

    @classmethod
    def resolve(cls, *, tracking_uri: str | None = None, baselines_dir: str | Path | None = None,
                cwd: str | Path | None = None) -> Workspace:
        root = find_root(Path(cwd) if cwd is not None else Path.cwd())
        config = read_config(root)
        dirs: list[Path] = []
        for d in (root / config.suites, CHECKOUT / SUITES, bundled_dir() / SUITES):
            if d.is_dir() and d.resolve() not in [o.resolve() for o in dirs]:
                dirs.append(d)
        return cls(root, tuple(dirs), tracking_uri or None, Path(baselines_dir) if baselines_dir else None, config)

    def default(self, name: str, given: str | None) -> str:
        """``given``, else the project's default ``name`` (``suite`` or ``agent``) from evalkit.toml; UserError
        when neither says."""
        value = given or getattr(self.config, name)
        if not value:
            raise UserError.at(f"--{name}", name, "missing",
                               f"pass --{name}, or set {name} = \"...\" under [{CONFIG_TABLE}] in {CONFIG_FILE}")
        return value

    # -- tracking ----------------------------------------------------------------------------------------
    @cached_property
    def tracking(self) -> TrackingTarget:
        """The tracking target (resolved on first use: commands that never log do not need a valid URI)."""
        from evalkit.store.tracking import resolve_tracking

        return resolve_tracking(self.tracking_uri, self.root, configured=self.config.tracking_uri)

    def store(self, *, outbox_dir: str | Path | None = None) -> Store:
        """A :class:`~evalkit.store.Store` at :attr:`tracking`, its outbox under the project root."""
        from evalkit.store import Store

        return Store(self.tracking_uri, root=self.root, outbox_dir=outbox_dir, configured=self.config.tracking_uri)

    # -- baselines and policy ------------------------------------------------------------------------------
    def baselines_dir(self, suite_path: str | Path | None = None) -> Path:
        """Where the committed baseline exports and the policy of the suite at ``suite_path`` live."""
        if self.baselines_override is not None:
            return self.baselines_override
        here = _shown(self.root / self.config.baselines)
        if suite_path is None:
            return here
        name = Path(suite_path).name
        if (here / name).is_dir():
            return here
        beside = Path(suite_path).resolve().parent.parent / BASELINES
        return beside if (beside / name).is_dir() else here

    def suite_path(self, name: str) -> Path | None:
        """The folder of the suite called ``name`` in :attr:`suite_dirs`, or None."""
        return next((d / name for d in self.suite_dirs if (d / name).is_dir()), None)

    def policy_path(self, suite: str, suite_path: str | Path | None = None) -> Path | None:
        """``<baselines>/<suite>/policy.toml`` when it exists, else None."""
        folder = self.baselines_dir(suite_path if suite_path is not None else self.suite_path(suite))
        path = folder / suite / POLICY_FILE
        if path.exists() and not path.is_file():  # a folder in its place: never silently the default policy
            raise UserError.at(str(path), "file", "a folder", "the suite's policy must be a TOML file; remove the "
                               "folder or replace it with the policy file")
        return path if path.is_file() else None

    def policy(self, suite: str, suite_path: str | Path | None = None, explicit: str | Path | None = None) -> Policy:
        """The policy a suite is judged by: ``explicit`` (a file or folder), else its baselines' policy.toml,
        else the default policy."""
        from evalkit.compare.policy import default_policy, load_policy

        if explicit:
            return load_policy(explicit)
        path = self.policy_path(suite, suite_path)
        return load_policy(path) if path is not None else default_policy()


__all__ = ["BASELINES", "CHECKOUT", "CONFIG_FILE", "DEFAULT_ALIAS", "EVALKIT_DIR", "POLICY_FILE", "REPORTS",
           "REPORTS_DIR", "SUITES", "PROJECT_MARKERS", "ProjectConfig", "Workspace", "bundled_dir", "find_root",
           "read_config"]
