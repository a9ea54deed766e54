"""Agents in any language: a subprocess speaking JSON lines over stdin/stdout (``cmd:<command line>``).

One process per investigation: evalkit sends ``start``, the agent sends ``tool_call`` messages and gets a
``tool_result`` for each, and ends with ``final`` (or ``error``). The protocol is specified, with a complete
example exchange, in ``docs/agent-protocol.md``. The process runs in the sandbox of
:mod:`evalkit.agents.sandbox` (unless the run opts out with ``--sandbox none``), in its own session, with an
environment built from an allowlist (PATH, LANG, HOME = its fresh temporary working folder, plus variables
passed by name) and nothing of evalkit's; its stderr is captured into ``Finding.stderr`` (and ``exc.stderr``
on failure). What it sends is bounded by :class:`~evalkit.agents.limits.MessageLimits`. On a timeout, and
after every investigation, the sandbox (or, unsandboxed, the process group) is killed; an agent process that
exits while a descendant still holds its stdout is noticed at once.
"""

from __future__ import annotations

import contextlib
import math
import os
import selectors
import shlex
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from collections.abc import Callable
from typing import Any

from evalkit.agents.base import (AgentCrash, AgentExit, AgentFailure, AgentTimeout, BuildId, Finding,
                                 InfrastructureError, MalformedOutput, RebuiltFromSpec)
from evalkit.agents import sandbox as sb
from evalkit.agents.deadlock import SUPPORTED as DEADLOCK_CHECKS, waiting_on_stdin
from evalkit.agents.finalize import attach, call_tool, dumps, finalize
from evalkit.agents.limits import DEFAULT_LIMITS, MessageLimits, loads
from evalkit.agents.provenance import file_sha256, text_hash, with_git_state
from evalkit.errors import UserError
from evalkit.vocab import AGENT_REPORTABLE, ErrorClass
from evalkit.workspace import find_root
from evalkit.world.toolbox import TOOL_SCHEMAS, Toolbox

PROTOCOL_VERSION = 1
#: variables kept from evalkit's own environment; everything else is dropped unless passed explicitly.
BASE_ENV: tuple[str, ...] = ("PATH", "HOME", "LANG")
STDERR_CAP = 64 * 1024          # bytes of stderr kept (the tail)
EXIT_GRACE_S = 0.5              # after `final`, how long the agent may take to exit before it is killed
IDLE_CHECK_S = 0.3              # how often a silent agent is checked for a protocol deadlock
OPTIONS: tuple[str, ...] = ("env", "pass_env", "deterministic")

_TOOL_LIST = [{"name": n, "description": s["description"], "parameters": s["parameters"]}
              for n, s in TOOL_SCHEMAS.items()]


class AgentReportedError(AgentFailure):
    """The agent sent an ``error`` message: it gave up on the investigation."""

    error_class = ErrorClass.AGENT_ERROR


class _Closed(Exception):
    """The agent closed its stdout or stdin (it exited or is exiting)."""


class _Channel:
    """Line-delimited JSON over the child's pipes, every wait bounded by the investigation deadline.

    The child's exit is watched too (a pidfd): when the agent process has exited and its stdout holds no
    more data, the channel is closed even if a descendant still holds the pipe open.
    """

    def __init__(self, proc: subprocess.Popen, limits: MessageLimits, ignore_exe: str | None = None):
        self._pid = proc.pid
        self._ignore_exe = ignore_exe
        self._in = proc.stdin.fileno()
        self._stdin_inode = os.fstat(self._in).st_ino
        self.messages = 0  # protocol messages received
        self.transcript: list[tuple[str, str]] | None = None  # (direction, line) when recording
        self._out = proc.stdout.fileno()
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        self._limits = limits
        self._received = 0
        self._rsel = selectors.DefaultSelector()
        self._rsel.register(self._out, selectors.EVENT_READ)
        self._pidfd: int | None = None  # readable once the agent process exits (Linux >= 5.3)
        with contextlib.suppress(AttributeError, OSError):
            self._pidfd = os.pidfd_open(proc.pid)
        if self._pidfd is not None:
            self._rsel.register(self._pidfd, selectors.EVENT_READ)
        self._exited = False
        self._idle = 0
        self._wsel = selectors.DefaultSelector()
        self._wsel.register(self._in, selectors.EVENT_WRITE)
        self._buf = bytearray()

    def close(self) -> None:
        self._rsel.close()
        self._wsel.close()
        if self._pidfd is not None:
            os.close(self._pidfd)

    def send(self, obj: Any, deadline: float) -> None:
        text = dumps(obj)
        if self.transcript is not None:
            self.transcript.append(("evalkit -> agent", text))
        view = memoryview((text + "\n").encode())
        while view:
            try:
                view = view[os.write(self._in, view):]
            except BlockingIOError:
                self._wsel.select(_remaining(deadline))
            except (BrokenPipeError, ConnectionResetError):
                raise _Closed from None

    def recv(self, deadline: float) -> dict:
        while True:
            nl = self._buf.find(b"\n")
            if nl >= 0:
                line = bytes(self._buf[:nl])
                del self._buf[:nl + 1]
                if line.strip():
                    self.messages += 1
                    if self.transcript is not None:
                        self.transcript.append(("agent -> evalkit", line.decode("utf-8", "replace")))
                    return parse_message(line, self._limits)
                continue
            if len(self._buf) > self._limits.message_bytes:
                raise MalformedOutput(f"stdout line longer than the limit of {self._limits.message_bytes} bytes "
                                      "without a newline")
            if not self._exited:
                events = self._rsel.select(_idle_wait(deadline))
                self._exited = any(key.fd == self._pidfd for key, _ in events)
                if not events:
                    self._check_deadlock()
                    continue
            try:
                chunk = os.read(self._out, 1 << 16)
            except BlockingIOError:  # nothing to read yet
                if not self._exited:
                    continue
                chunk = b""  # the agent is gone; whoever still holds its stdout will not speak for it
            if not chunk:
                if self._buf.strip():  # a last message without its newline
                    line = bytes(self._buf)
                    self._buf.clear()
                    return parse_message(line, self._limits)
                raise _Closed
            self._received += len(chunk)
            if self._received > self._limits.trial_bytes:
                raise MalformedOutput(f"agent sent more than the limit of {self._limits.trial_bytes} bytes in one "
                                      "investigation")
            self._buf += chunk

    def _check_deadlock(self) -> None:
        """After an idle spell: end at once if the agent, too, is only waiting (for input that cannot come)."""
        self._idle = self._idle + 1 if waiting_on_stdin(self._pid, self._stdin_inode, self._ignore_exe) else 0
        if self._idle >= 2:  # seen twice, IDLE_CHECK_S apart: not a passing moment
            step = "a first message (tool_call, final or error)" if self.messages == 0 else "its next message"
            raise MalformedOutput(f"the agent is waiting to read stdin while evalkit waits for {step} on its "
                                  "stdout: it never reached stdout (written inside $(...), to a file or to "
                                  "stderr?)")


class _Deadline(Exception):
    pass


def _idle_wait(deadline: float) -> float | None:
    """How long to wait for the agent before looking for a deadlock (bounded by the deadline)."""
    left = _remaining(deadline)
    if not DEADLOCK_CHECKS:
        return left
    return IDLE_CHECK_S if left is None else min(left, IDLE_CHECK_S)


def _remaining(deadline: float) -> float | None:
    """Seconds left for a select() (None = no deadline); raises _Deadline once it has passed."""
    if deadline == math.inf:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Deadline
    return left


def parse_message(line: bytes, limits: MessageLimits = DEFAULT_LIMITS) -> dict:
    """One stdout line of an agent process as a protocol message; MalformedOutput when it is not one."""
    try:
        msg = loads(line, limits)
    except (ValueError, UnicodeDecodeError):
        text = line[:200].decode("utf-8", "replace")
        raise MalformedOutput(f"stdout line is not JSON: {text!r} (log to stderr, not stdout)") from None
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise MalformedOutput(f"protocol message must be a JSON object with a 'type', got {str(msg)[:200]}")
    return msg


class SubprocessAgent(RebuiltFromSpec):
    """An agent run as a subprocess per investigation, speaking the JSON-lines protocol."""

    limits: MessageLimits = DEFAULT_LIMITS
    #: set to a list to record the protocol exchange, (direction, line) per message (`evalkit agents check`).
    transcript: list[tuple[str, str]] | None = None

    def __init__(self, argv: list[str], build: BuildId, *, timeout_s: float | None = 60.0,
                 env: dict[str, str] | None = None, deterministic: bool = False, spec: str | None = None,
                 options: dict | None = None, sandbox: sb.SandboxSettings | None = None,
                 mounts: list[Path] | None = None):
        self.argv = list(argv)
        self.build = build
        self.timeout_s = timeout_s
        self.env = dict(env if env is not None else scrubbed_env())
        self.deterministic = deterministic
        self.spec = spec
        self.options = dict(options or {})
        self.sandbox = sandbox if sandbox is not None else sb.SandboxSettings(mode=sb.SandboxMode.NONE)
        self._sandbox_prefix = sb.prefix(self.sandbox, list(mounts or [])) if self.sandbox.enabled else None

    def __repr__(self) -> str:
        return f"SubprocessAgent({shlex.join(self.argv)!r})"

    # --- one investigation ----------------------------------------------------------------------
    def investigate(self, alert: dict, toolbox: Toolbox, seed: int) -> Finding:
        """Start the process, serve its tool calls, return its final finding (or raise an AgentFailure)."""
        deadline = time.monotonic() + (self.timeout_s if self.timeout_s is not None else math.inf)
        with tempfile.TemporaryDirectory(prefix="evalkit-agent-", ignore_cleanup_errors=True) as workdir, \
                tempfile.TemporaryFile() as errfile:
            def start() -> subprocess.Popen:
                return launch(*sandboxed_command(self._sandbox_prefix, self.argv, self.env, workdir), workdir, errfile)

            return supervised(start, lambda proc: self._run(proc, alert, toolbox, seed, deadline), errfile)

    def _run(self, proc: subprocess.Popen, alert: dict, toolbox: Toolbox, seed: int, deadline: float) -> Finding:
        """The protocol exchange: ``start``, a ``tool_result`` per ``tool_call``, until ``final`` or ``error``."""
        ch = _Channel(proc, self.limits, sb.bwrap_path() if self._sandbox_prefix else None)
        ch.transcript = self.transcript
        start = {"type": "start", "protocol": PROTOCOL_VERSION, "alert": alert, "seed": seed,
                 "max_calls": toolbox.calls_left, "timeout_s": self.timeout_s, "tools": _TOOL_LIST}
        try:
            ch.send(start, deadline)
            while True:
                msg = ch.recv(deadline)
                kind = msg["type"]
                if kind == "tool_call":
                    ch.send(self._serve(msg, toolbox), deadline)
                elif kind == "final":
                    return finalize(msg.get("finding"), toolbox, self.limits)
                elif kind == "error":
                    raise _reported(msg)
                else:
                    raise MalformedOutput(f"unknown message type {kind!r}; expected tool_call, final or error")
        except _Closed:
            raise exit_failure(proc, deadline, sandboxed=self._sandbox_prefix is not None) from None
        except _Deadline:
            raise AgentTimeout(f"no final answer within the {self.timeout_s:g}s timeout") from None
        finally:
            ch.close()

    @staticmethod
    def _serve(msg: dict, toolbox: Toolbox) -> dict:
        tool, args, call_id = msg.get("tool"), msg.get("args"), msg.get("id")
        if not isinstance(tool, str):
            raise MalformedOutput(f"tool_call needs a string 'tool', got {tool!r}")
        args = {} if args is None else args  # absent or null: no arguments
        if not isinstance(args, dict):
            raise MalformedOutput(f"tool_call 'args' must be an object, got {type(args).__name__}")
        result, error = call_tool(toolbox, tool, args)
        if error is not None:
            return {"type": "tool_result", "id": call_id, "ok": False, "error": error}
        return {"type": "tool_result", "id": call_id, "ok": True, "result": result,
                "refs": list(toolbox.trajectory[-1].refs)}


def _reported(msg: dict) -> AgentFailure:
    """The failure an ``error`` message reports; its optional ``error_class`` may name an agent failure
    class (``agent_crash``, ``timeout``...), never an infrastructure one."""
    exc = AgentReportedError(f"agent reported: {str(msg.get('message', ''))[:500]}")
    claimed = msg.get("error_class")
    if isinstance(claimed, str) and claimed in AGENT_REPORTABLE:
        exc.error_class = ErrorClass(claimed)
    return exc


def exit_failure(proc: subprocess.Popen, deadline: float, sandboxed: bool = False,
                 what: str = "a final message") -> AgentFailure:
    """Classify an agent that closed its pipes (or exited) before sending ``what``."""
    try:
        rc = proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return AgentTimeout("agent closed stdout but did not exit before the timeout")
    if sandboxed and rc > 128 and (rc - 128) in _SIGNALS:  # bwrap reports a signal death as 128 + signal
        rc = -(rc - 128)
    if rc < 0:
        name = signal.Signals(-rc).name if -rc in _SIGNALS else str(-rc)
        return AgentCrash(f"agent process killed by signal {name} before sending {what}")
    if rc > 0:
        return AgentExit(f"agent process exited with code {rc} before sending {what}")
    return MalformedOutput(f"agent process exited (code 0) without sending {what}")


_SIGNALS = {int(s) for s in signal.Signals}
#: process groups of the agents running in this process (ended by :func:`end_all_agents`).
_live: set[int] = set()
_live_lock = threading.Lock()
_closing = threading.Event()  # set by end_all_agents: no agent starts after it


def sandboxed_command(sandbox_prefix: list[str] | None, argv: list[str], env: dict[str, str],
                      workdir: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that run ``argv`` in its sandbox (or as is, unsandboxed) with
    ``workdir`` as its working folder and HOME; AgentCrash for a program path that is not executable."""
    if sandbox_prefix is None:
        return argv, env
    if "/" in argv[0] and not os.access(argv[0], os.X_OK):  # inside, bwrap would report it as its own exit 1
        raise AgentCrash(f"cannot start {argv[0]!r}: permission denied (not executable)")
    return sb.command(sandbox_prefix, argv, workdir), {**env, "HOME": workdir}


def launch(argv: list[str], env: dict[str, str], workdir: str, errfile: Any, *, pipes: bool = True,
           ) -> subprocess.Popen:
    """Start an agent process in a session of its own, registered for :func:`end_all_agents`; its stderr
    goes to ``errfile`` (and so does its stdout when ``pipes`` is false: stdin is then empty). It inherits the
    read end of this process's lifeline, which the sandbox's watchdog waits on (:func:`sandbox.command`)."""
    with _live_lock:  # started and registered at once: end_all_agents misses no agent
        if _closing.is_set():
            raise InfrastructureError("evalkit is shutting down; the agent was not started")
        stdin = subprocess.PIPE if pipes else subprocess.DEVNULL
        stdout = subprocess.PIPE if pipes else errfile
        try:
            proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=errfile, cwd=workdir, env=env,
                                    start_new_session=True, close_fds=True, pass_fds=(sb.lifeline(),))
        except OSError as exc:
            raise AgentCrash(f"cannot start {argv[0]!r}: {exc}") from None
        _live.add(proc.pid)
    return proc


def supervised(start: Callable[[], subprocess.Popen], converse: Callable[[subprocess.Popen], Finding],
               errfile: Any) -> Finding:
    """Start an agent process, converse with it, end it: at once on a failure (which gets the agent's stderr
    attached), after a short grace once it answered (the finding gets its stderr)."""
    proc: subprocess.Popen | None = None
    try:
        proc = start()
        finding = converse(proc)
    except AgentFailure as exc:
        stop_agent(proc, graceful=False)
        raise attach(exc, stderr=read_tail(errfile))
    except BaseException:
        stop_agent(proc, graceful=False)
        raise
    stop_agent(proc, graceful=True)
    finding.stderr = read_tail(errfile)
    return finding


def end_all_agents(close: bool = True) -> None:
    """Kill every agent process group still running: what an interrupted run does before it exits. (In the
    sandbox, killing bwrap ends every process of the agent, ``setsid`` ones too; unsandboxed, only the group.)
    ``close``: no agent starts in this process afterwards (a worker thread may be about to start one)."""
    with _live_lock:
        if close:
            _closing.set()
        groups = list(_live)
        _live.clear()
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def stop_agent(proc: subprocess.Popen | None, graceful: bool) -> None:
    """End the agent: close stdin, let it exit briefly (if graceful), then kill its whole process group."""
    if proc is None:
        return
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    if graceful:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=EXIT_GRACE_S)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # also reaps children left in the group
    with _live_lock:
        _live.discard(proc.pid)
    with contextlib.suppress(subprocess.TimeoutExpired):  # pragma: no cover - SIGKILL is not ignorable
        proc.wait(timeout=10)


def read_tail(fh) -> str:
    try:
        size = fh.seek(0, os.SEEK_END)
        fh.seek(max(0, size - STDERR_CAP))
        data = fh.read()
    except (OSError, ValueError):
        return ""
    text = data.decode("utf-8", "replace")
    return ("[... stderr truncated ...]\n" + text) if size > STDERR_CAP else text


# --- building from a spec -----------------------------------------------------------------------
def scrubbed_env(env: dict | None = None, pass_env: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    """PATH, HOME, LANG from evalkit's environment + ``pass_env`` names + explicit ``env``; a UserError
    (one line) for a passed name that is not set."""
    missing = [n for n in pass_env if n not in os.environ]
    if missing:
        raise UserError.at("agent", "--agent-env", ",".join(missing), "these variables are not set in "
                           "evalkit's environment; set them or drop them from --agent-env / pass_env")
    out = {k: os.environ[k] for k in (*BASE_ENV, *pass_env) if k in os.environ}  # every pass_env name is set
    out.update({str(k): str(v) for k, v in (env or {}).items()})
    return out


def resolve_argv(argv: list[str], base: Path, spec: str,
                  path_var: str | None) -> tuple[list[str], Path | None, Path]:
    """Make relative file arguments absolute (the agent runs in a temp dir); find the script (for the build id)
    and the executable (for the sandbox's mounts). A relative path is looked up in ``base``, then in the
    project's root (an agent set in evalkit.toml, gated from a subfolder, names files relative to the project)."""
    out = list(argv)
    exe = argv[0]
    bases = [base, *[r for r in (find_root(base),) if r.resolve() != base.resolve()]]

    def located(tok: str) -> Path:
        return next((b / tok for b in bases if (b / tok).exists()), base / tok)

    if "/" in exe:
        p = located(exe) if not os.path.isabs(exe) else Path(exe)
        if not p.is_file():
            raise UserError.at("agent", "spec", spec, f"executable '{exe}' does not exist (relative to {base})")
        exe_path = Path(os.path.abspath(p))  # not resolved: a venv's python must keep its venv
        out[0] = str(exe_path)
    else:
        found = shutil.which(exe, path=path_var)
        if found is None:
            raise UserError.at("agent", "spec", spec, f"command '{exe}' is not on PATH; install it or give its "
                               "path")
        exe_path = Path(os.path.abspath(found))
    script: Path | None = None
    for i, tok in enumerate(argv[1:], start=1):
        if tok.startswith("-") or os.path.isabs(tok):
            if os.path.isabs(tok) and script is None and os.path.isfile(tok):
                script = Path(tok)
            continue
        p = located(tok)
        if ("/" in tok and p.exists()) or p.is_file():
            out[i] = str(p.resolve())
            if script is None and p.is_file():
                script = p.resolve()
    return out, script or exe_path, exe_path


@dataclass
class CommandSetup:
    """What a command-line agent spec resolves to: the argv (absolute paths), the build id, the scrubbed
    environment and the sandbox's program mounts."""

    argv: list[str]
    build: BuildId
    env: dict[str, str]
    mounts: list[Path]
    deterministic: bool


def prepare_command(command: str, options: dict, *, spec: str, sandbox: sb.SandboxSettings,
                    allowed: tuple[str, ...] = OPTIONS, form: str = "cmd") -> CommandSetup:
    """Resolve the command line of a ``cmd:``/``mcp:`` spec (split like a POSIX shell, run without one);
    one-line UserErrors for bad options, quoting, or a program that does not exist."""
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise UserError.at("agent", "options", ",".join(unknown), f"{form}: agents accept {', '.join(allowed)} "
                           "and timeout_s")
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UserError.at("agent", "spec", spec, f"cannot split the command line ({exc}); check its quoting") \
            from None
    if not argv:
        raise UserError.at("agent", "spec", spec, f"give a command line after '{form}:', e.g. "
                           f"{form}:node examples/agents/node/agent.js")
    env_opt = options.get("env") or {}
    if not isinstance(env_opt, dict):
        raise UserError.at("agent", "options.env", env_opt, "give a mapping of variable names to values")
    pass_env = options.get("pass_env") or ()
    if isinstance(pass_env, str):
        pass_env = [n for n in pass_env.split(",") if n]
    env = scrubbed_env(env_opt, [*pass_env, *sandbox.env])
    resolved, script, exe = resolve_argv(argv, Path.cwd(), spec, env.get("PATH"))
    sb.require(sandbox, f"agent {spec}")  # after the spec's own errors: those are the user's to fix first
    normalized = shlex.join(argv)
    config, sha, dirty = with_git_state({
        "command": normalized,
        "script_sha256": file_sha256(script) if script else None,
        "env": {k: text_hash(str(v)) for k, v in sorted(env_opt.items())},
        "pass_env": sorted(pass_env),
        **({"form": form} if form != "cmd" else {}),
    }, script)
    build = BuildId(name=script.name if script else Path(argv[0]).name, version=text_hash(normalized, 10),
                    config=config, git_sha=sha, dirty=dirty)
    mounts = sb.program_mounts(exe, script, Path.cwd()) if sandbox.enabled else []
    return CommandSetup(resolved, build, env, mounts, bool(options.get("deterministic", False)))


def load_subprocess_agent(command: str, options: dict, *, spec: str, timeout_s: float | None,
                          raw_options: dict, sandbox: sb.SandboxSettings) -> SubprocessAgent:
    """Build a SubprocessAgent from ``cmd:<command line>`` (split like a POSIX shell, run without one)."""
    setup = prepare_command(command, options, spec=spec, sandbox=sandbox)
    return SubprocessAgent(setup.argv, setup.build, timeout_s=timeout_s, env=setup.env,
                           deterministic=setup.deterministic, spec=spec, options=raw_options, sandbox=sandbox,
                           mounts=setup.mounts)
