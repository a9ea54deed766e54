"""The sandbox ``cmd:`` agents run in: bubblewrap namespaces that hide the truth and contain every process.

An agent must never see the answer it is scored against, and no process it starts may outlive the run.
On Linux every subprocess agent runs under `bubblewrap <https://github.com/containers/bubblewrap>`_
(``bwrap``) with:

- new PID, mount, IPC and UTS namespaces, all capabilities dropped, ``--die-with-parent`` and
  ``--new-session``: when evalkit ends (even by SIGKILL) bwrap dies, and with it every process in the
  agent's PID namespace, ``setsid`` descendants included; a watchdog on evalkit's :func:`lifeline` covers
  the moments before bwrap's own parent-death signal is armed; evalkit's own ``/proc`` entries are invisible;
- a read-only view of the system directories, of the agent's own program files (its script's folder, its
  interpreter's installation) and of paths the user whitelists, and a private writable working folder that
  is also ``HOME``; the suite, truth files, journals, baselines, ``.evalkit/`` and the checkout are not
  mounted, and any of them that lies inside a mounted folder is covered by an empty one;
- the environment evalkit builds from an allowlist (the adapter's), never evalkit's own;
- the network kept (agents call model APIs) unless the mode is ``strict``.

``SandboxMode.NONE`` is the explicit opt-out; it is recorded with the run.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from evalkit.errors import UserError
from evalkit.vocab import SandboxMode

#: where ``bwrap`` comes from on common systems (shown when it is missing).
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora/RHEL: dnf install "
                "bubblewrap; Arch: pacman -S bubblewrap; Alpine: apk add bubblewrap), or run the agent "
                "unsandboxed with --sandbox none")
#: system folders mounted read-only (symlinks, such as /bin -> usr/bin on merged-/usr systems, are recreated).
SYSTEM_DIRS: tuple[str, ...] = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/opt",
                                "/etc", "/nix/store")
#: folders whose secrets are covered even though the folder is mounted (files others may not read).
_SECRET_SCAN: tuple[str, ...] = ("/etc",)


@dataclass(frozen=True)
class SandboxSettings:
    """How a run sandboxes its agents; hashable and picklable (it travels with every trial task).

    ``env``: names of evalkit's environment variables the agent gets (besides PATH and LANG).
    ``paths``: extra folders or files mounted read-only (absolute). ``protect``: paths never visible to
    the agent (the suite, journal and baselines folders of the run, ``.evalkit``). ``isolate``: run
    Python-callable agents in the sandbox too, through a worker subprocess.
    """

    mode: SandboxMode = SandboxMode.ON
    env: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    protect: tuple[str, ...] = ()
    isolate: bool = False

    @property
    def enabled(self) -> bool:
        return self.mode is not SandboxMode.NONE


#: the isolation label of agents evalkit runs in its own process (trusted code)
IN_PROCESS = "in-process"


def label(agent_spec: str, settings: "SandboxSettings | object") -> str:
    """What a run records about its agents' isolation: the sandbox mode for agents that run in a process of
    their own (``cmd:``, ``mcp:``, isolated Python and ``reference:`` agents), ``in-process`` for trusted Python
    and ``openai:`` agents."""
    from evalkit.agents.spec import split_spec

    kind = split_spec(agent_spec)[0]
    mode = getattr(settings, "mode", SandboxMode.ON)
    if kind in ("cmd", "mcp") or (kind in ("python", "reference") and getattr(settings, "isolate", False)):
        return SandboxMode(mode).value
    return IN_PROCESS


def default_protected(cwd: Path | None = None) -> list[Path]:
    """What no agent may see whatever the run: the project's suites, baselines, ``.evalkit``, reports (its own and
    the folder the gate writes by default: they name expected components) and evalkit's own package folder (it
    may hold bundled suites)."""
    from evalkit.workspace import BASELINES, CHECKOUT, EVALKIT_DIR, REPORTS, REPORTS_DIR, SUITES

    cwd = Path(cwd or Path.cwd())
    return [cwd / SUITES, cwd / BASELINES, cwd / EVALKIT_DIR, cwd / REPORTS, cwd / REPORTS_DIR, CHECKOUT / SUITES,
            CHECKOUT / BASELINES]


@functools.lru_cache(maxsize=1)
def bwrap_path() -> str | None:
    """The ``bwrap`` executable on PATH, or None."""
    return shutil.which("bwrap")


@functools.lru_cache(maxsize=1)
def _probe() -> str | None:
    """None when bwrap can create the namespaces here; else why not (its first line of stderr)."""
    exe = bwrap_path()
    try:
        proc = subprocess.run([exe, *_namespace_args(SandboxMode.ON), *_system_args(), "--", "true"],
                              capture_output=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    if proc.returncode != 0:
        return (proc.stderr.decode("utf-8", "replace").strip().splitlines() or [f"exit {proc.returncode}"])[0]
    return None


def require(settings: SandboxSettings, where: str) -> None:
    """Raise a one-line UserError when the sandbox the settings ask for cannot run on this machine."""
    if not settings.enabled:
        return
    if not sys.platform.startswith("linux"):
        raise UserError.at(where, "--sandbox", settings.mode.value,
                           f"the agent sandbox needs Linux and bubblewrap (this is {sys.platform}); run the "
                           "agent unsandboxed with --sandbox none, or run evalkit on Linux")
    if bwrap_path() is None:
        raise UserError.at(where, "--sandbox", settings.mode.value, f"bubblewrap (bwrap) is not on PATH; {INSTALL_HINT}")
    why = _probe()
    if why is not None:
        raise UserError.at(where, "--sandbox", settings.mode.value,
                           f"bubblewrap cannot create namespaces here ({why}); allow unprivileged user "
                           "namespaces (sysctl kernel.unprivileged_userns_clone=1) or pass --sandbox none")


def _namespace_args(mode: SandboxMode) -> list[str]:
    args = ["--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox",
            "--die-with-parent", "--new-session"]
    if os.geteuid() == 0:  # root keeps every capability in the sandbox unless told otherwise
        args += ["--cap-drop", "ALL"]
    if mode is SandboxMode.STRICT:
        args.append("--unshare-net")
    return args


@functools.lru_cache(maxsize=1)
def _system_args() -> tuple[str, ...]:
    args: list[str] = ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for d in SYSTEM_DIRS:
        p = Path(d)
        if p.is_symlink():
            args += ["--symlink", os.readlink(p), d]
        elif p.is_dir():
            args += ["--ro-bind", d, d]
    resolv = Path("/etc/resolv.conf")
    if resolv.is_symlink():  # e.g. systemd-resolved's stub under /run
        target = resolv.resolve()
        if target.exists() and not str(target).startswith("/etc/"):
            args += ["--ro-bind", str(target), str(target)]
    for secret in _unreadable_files(_SECRET_SCAN):
        args += ["--ro-bind", "/dev/null", secret]
    return tuple(args)


def _unreadable_files(roots: tuple[str, ...]) -> list[str]:
    """Files under ``roots`` that other users may not read (shadow, private keys): covered in the sandbox."""
    out = []
    for root in roots:
        for dirpath, _, filenames in os.walk(root):
            for name in filenames:
                path = os.path.join(dirpath, name)
                with contextlib.suppress(OSError):
                    if not os.path.islink(path) and not os.lstat(path).st_mode & 0o004:
                        out.append(path)
    return out


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _system(path: Path) -> bool:
    return any(_under(path, Path(d)) for d in SYSTEM_DIRS)


def program_mounts(executable: Path | None, script: Path | None, cwd: Path) -> list[Path]:
    """The agent's own program files: its script's folder and its interpreter's installation (where they are
    not system folders). A folder that is the working directory or one of its parents (the checkout, the
    home folder) is never mounted whole: the script or executable file alone is."""
    out: list[Path] = []

    def add(path: Path, file: Path) -> None:
        if not _system(path):
            out.append(file if _under(cwd, path) else path)

    if script is not None:
        add(script.parent, script)
    if executable is not None:
        for exe in dict.fromkeys([executable, executable.resolve()]):
            prefix = exe.parent.name in ("bin", "shims", "sbin")  # an installation (venv, pyenv, nvm, /usr/local)
            add(exe.parent.parent if prefix else exe.parent, exe)
    return list(dict.fromkeys(out))


def check_whitelist(paths: tuple[str, ...], protect: list[Path], cwd: Path) -> list[Path]:
    """Resolved whitelisted paths; a UserError for one that is missing or would show a protected path."""
    out = []
    for raw in paths:
        p = Path(raw).expanduser()
        if not p.exists():
            raise UserError.at("--agent-path", "", raw, "no such file or folder; give a path that exists")
        real = p.resolve()
        for q in [*protect, cwd.resolve()]:
            q = q.resolve()
            if _under(q, real) or (q != cwd.resolve() and _under(real, q)):
                raise UserError.at("--agent-path", "", raw, f"it would show {q} to the agent (the truth or the "
                                   "checkout); whitelist a folder that holds only what the agent needs")
        out.append(real)
    return out


def prefix(settings: SandboxSettings, mounts: list[Path], cwd: Path | None = None) -> list[str]:
    """The bwrap arguments of a sandbox (everything but the working folder and the command); checked once
    per agent build: a whitelisted path that would show the truth raises UserError."""
    cwd = Path(cwd or Path.cwd())
    protect = [Path(p) for p in (*settings.protect, *default_protected(cwd))]
    whitelisted = check_whitelist(settings.paths, protect, cwd)
    bound = [m for m in [*mounts, *whitelisted] if m.exists() and not _system(m)]
    binds = [arg for m in bound for arg in ("--ro-bind", str(m), str(m))]
    return [bwrap_path() or "bwrap", *_namespace_args(settings.mode), *_system_args(), *binds, *_covers(protect, bound)]


def command(sandbox_prefix: list[str], argv: list[str], workdir: str) -> list[str]:
    """Run ``argv`` in the sandbox with ``workdir`` as its private writable working folder, beside a watchdog
    that kills every process in the sandbox once this process is gone (the process starting it must pass
    :func:`lifeline` on: ``pass_fds``).

    ``--die-with-parent`` alone leaves a window: bwrap's process inside the sandbox asks for its parent-death
    signal only after it started, so an evalkit killed at that moment (SIGKILL in a run that starts a trial
    every few milliseconds) left the agent and its children running. The watchdog reads the lifeline, whose
    end-of-file comes whenever this process ends, even before the watchdog started; the agent is ``exec``-ed
    by the same shell, so its stdin, stdout, exit status and pid in the sandbox are what they were."""
    fd = lifeline()
    # without the lifeline (a bwrap that closed it) the watchdog just leaves: --die-with-parent still applies
    watchdog = f'(: <&{fd} || exit; read _ <&{fd}; kill -KILL -1) </dev/null >/dev/null 2>&1 & exec "$@"'
    return [*sandbox_prefix, "--bind", workdir, workdir, "--chdir", workdir, "--", "/bin/sh", "-c", watchdog, "sh",
            *argv]


_lifeline: tuple[int, int, int] | None = None  # (pid, read fd, write fd) of this process's lifeline
_lifeline_lock = threading.Lock()


def lifeline() -> int:
    """The read end of a pipe whose write end only this process holds (it is never inherited and never closed):
    it reads end-of-file once the process is gone, however it ended. A forked child makes its own."""
    global _lifeline
    with _lifeline_lock:
        if _lifeline is None or _lifeline[0] != os.getpid():
            read, write = os.pipe()  # non-inheritable: a child gets the read end only where passed explicitly
            _lifeline = (os.getpid(), read, write)
        return _lifeline[1]


def _covers(protect: list[Path], bound: list[Path]) -> list[str]:
    """Mount an empty folder (or /dev/null) over every protected path that lies inside a mounted one."""
    covered = [p for p in dict.fromkeys(q.resolve() for q in protect if q.exists())
               if any(_under(p, b.resolve()) for b in bound)]
    return [arg for p in covered for arg in (["--tmpfs", str(p)] if p.is_dir() else ["--ro-bind", "/dev/null", str(p)])]


__all__ = ["SandboxSettings", "SandboxMode", "INSTALL_HINT", "label", "bwrap_path", "require", "prefix", "command", "lifeline", "program_mounts",
           "check_whitelist", "default_protected"]
