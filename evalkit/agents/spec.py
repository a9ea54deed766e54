"""Agent specs: the one string that names an agent build, and :func:`load_agent` that builds it.

Forms (documented in ``docs/agent-protocol.md``)::

    reference:<version>[?flag=value&...]    the built-in reference investigator (REFERENCE_BUILDS)
    pkg.module:factory[?option=value&...]   an importable Agent, class, factory or (alert, toolbox, seed) function
    cmd:<command line>                      a subprocess speaking JSON lines (any language)
    mcp:<command line>                      a subprocess that is an MCP client of evalkit's per-trial MCP server
    mcp+http:<command line>                 the same, reached over streamable HTTP instead of stdio
    openai:<model>[?option=value&...]       a tool-calling LLM over an OpenAI-compatible endpoint

The runner passes the spec (not the agent object) to its workers, so ``load_agent`` is cheap (no process,
no connection, no heavy import) and every agent it returns pickles as "load this spec again".
Options come from keyword arguments and, except for ``cmd:`` and ``mcp:``, from a ``?key=value&...`` suffix (values
parsed as JSON when they parse, else strings); keyword arguments win. ``timeout_s`` (default 60, None =
no limit) applies to every form.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from evalkit.agents.base import LoadedAgent
from evalkit.errors import Problem, UserError

DEFAULT_TIMEOUT_S = 60.0

#: (form, what it is) shown by `evalkit agents` and in errors.
SPEC_FORMS: tuple[tuple[str, str], ...] = (
    ("reference:<version>", "built-in reference investigator; flag overrides as ?flag=value"),
    ("pkg.module:factory", "importable Python Agent/class/factory (options as ?key=value) or a plain "
                           "function (alert, toolbox, seed) -> Finding|dict"),
    ("cmd:<command line>", "subprocess speaking JSON lines on stdin/stdout, any language "
                           "(docs/agent-protocol.md)"),
    ("mcp:<command line>", "subprocess that is an MCP client: evalkit serves the trial's tools over MCP "
                           "(stdio; mcp+http:<command line> for streamable HTTP; docs/mcp.md)"),
    ("openai:<model>", "tool-calling LLM over an OpenAI-compatible /v1/chat/completions endpoint "
                       "(OPENAI_BASE_URL, OPENAI_API_KEY)"),
)
FORMS_HINT = ("use reference:<version>, pkg.module:factory, cmd:<command line>, mcp:<command line> or openai:<model> "
              "(see `evalkit agents`)")
#: spec forms whose rest is a command line (kept verbatim, no ``?options``).
COMMAND_FORMS = ("cmd", "mcp")
#: spec prefixes that name an MCP agent, and the transport each one implies.
MCP_PREFIXES = {"mcp": "stdio", "mcp+http": "http"}

_PY_TARGET = re.compile(r"^[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*:[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*$")


def _query_options(query: str, spec: str) -> dict[str, Any]:
    try:
        pairs = parse_qsl(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise UserError.at("agent", "spec", spec, "options after '?' must look like key=value&key2=value2") \
            from None
    out: dict[str, Any] = {}
    for key, value in pairs:
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def _timeout(value: Any, spec: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise UserError.at("agent", "timeout_s", value, f"give a positive number of seconds for {spec} "
                           "(or None for no limit)")
    return float(value)


def split_spec(spec: str) -> tuple[str, str]:
    """(kind, rest) of a spec: kind is reference | cmd | mcp | openai | python; UserError if it is none of them."""
    if not isinstance(spec, str) or not spec.strip():
        raise UserError.at("agent", "spec", spec if isinstance(spec, str) else repr(spec), FORMS_HINT)
    spec = spec.strip()
    prefix, sep, rest = spec.partition(":")
    if sep and prefix in MCP_PREFIXES:
        return "mcp", rest
    if sep and prefix in ("reference", "openai", *COMMAND_FORMS):
        return prefix, rest.strip() if prefix not in COMMAND_FORMS else rest
    target = spec.partition("?")[0]
    if _PY_TARGET.match(target):
        return "python", spec
    if not sep:
        hint = f"unknown agent spec form; did you mean reference:{spec}? Otherwise {FORMS_HINT}"
    elif prefix in ("http", "https"):
        hint = "a URL is not an agent spec; for an OpenAI-compatible endpoint use openai:<model> with " \
               "OPENAI_BASE_URL=<url>"
    elif "/" in target or target.endswith(".py"):
        hint = (f"a file path is not an importable module; use cmd:python {target.partition(':')[0]} for a "
                f"script, or pkg.module:factory for an importable module")
    else:
        hint = f"unknown agent spec form '{prefix}:'; {FORMS_HINT}"
    raise UserError(Problem("agent", "spec", spec, hint))


def load_agent(spec: str, **options: Any) -> LoadedAgent:
    """Build the agent a spec names. Cheap and side-effect free; raises UserError (one line) on a bad spec.

    Besides each form's own options: ``timeout_s``; ``sandbox`` (a SandboxSettings, for ``cmd:``/``mcp:`` agents and
    isolated Python agents; default: sandboxed); ``limits`` (a MessageLimits bounding the agent's output).
    """
    from evalkit.agents.limits import DEFAULT_LIMITS, MessageLimits

    agent = _load(spec, options)
    agent.limits = _setting(options.get("limits"), MessageLimits, DEFAULT_LIMITS, "limits", spec)
    return agent


def _load(spec: str, options: dict[str, Any]) -> LoadedAgent:
    from evalkit.agents.sandbox import SandboxSettings

    kind, rest = split_spec(spec)
    spec = spec.strip()
    raw_options = dict(options)
    options = {k: v for k, v in options.items() if k != "limits"}
    sandbox = _setting(options.pop("sandbox", None), SandboxSettings, SandboxSettings(), "sandbox", spec)
    timeout_s = _timeout(options.pop("timeout_s", DEFAULT_TIMEOUT_S), spec)

    if kind == "cmd":
        from evalkit.agents.subprocess_agent import load_subprocess_agent

        return load_subprocess_agent(rest, options, spec=spec, timeout_s=timeout_s, raw_options=raw_options,
                                     sandbox=sandbox)
    if kind == "mcp":
        from evalkit.agents.mcp_agent import load_mcp_agent

        options.setdefault("transport", MCP_PREFIXES[spec.partition(":")[0]])
        return load_mcp_agent(rest, options, spec=spec, timeout_s=timeout_s, raw_options=raw_options, sandbox=sandbox)

    target, _, query = rest.partition("?")
    merged = {**(_query_options(query, spec) if query else {}), **options}
    if "timeout_s" in merged and "timeout_s" not in raw_options:  # given in the spec's query
        timeout_s = _timeout(merged.pop("timeout_s"), spec)
    merged.pop("timeout_s", None)

    if kind in ("reference", "python") and sandbox.isolate and sandbox.enabled:
        from evalkit.agents.isolated import load_isolated_agent

        inner = _load(spec, {**options, "timeout_s": timeout_s})  # in-process, for the build id
        return load_isolated_agent(spec, kind, inner.build, bool(getattr(inner, "deterministic", False)), options,
                                   timeout_s=timeout_s, sandbox=sandbox, raw_options=raw_options)
    if kind == "reference":
        return _load_reference(target, merged, spec=spec, timeout_s=timeout_s, raw_options=raw_options)
    if kind == "openai":
        from evalkit.agents.openai_chat import load_openai_agent

        return load_openai_agent(target, merged, spec=spec, timeout_s=timeout_s, raw_options=raw_options)
    from evalkit.agents.python_callable import load_python_agent

    return load_python_agent(target, merged, spec=spec, timeout_s=timeout_s, raw_options=raw_options)


def _setting(value: Any, kind: type, default: Any, name: str, spec: str) -> Any:
    """An agent option that must be a ``kind`` object: ``value``, ``default`` for None, else a UserError."""
    if value is None:
        return default
    if not isinstance(value, kind):
        raise UserError.at("agent", name, repr(value), f"give a {kind.__name__} for {spec}")
    return value


def reference_builds() -> dict[str, dict] | None:
    """REFERENCE_BUILDS of the built-in investigator, or None if it is not importable."""
    try:
        from evalkit.agents.reference import REFERENCE_BUILDS
    except ImportError:
        return None
    return dict(REFERENCE_BUILDS)


def _load_reference(version: str, flags: dict, *, spec: str, timeout_s: float | None,
                    raw_options: dict) -> LoadedAgent:
    from evalkit.agents.python_callable import PythonCallableAgent

    try:
        from evalkit.agents.reference import REFERENCE_BUILDS, ReferenceAgent
    except ImportError as exc:
        raise UserError.at("agent", "spec", spec, f"the reference investigator is not available ({exc})") from None
    if version not in REFERENCE_BUILDS:
        known = ", ".join(f"reference:{v}" for v in REFERENCE_BUILDS)
        raise UserError.at("agent", "spec", spec, f"unknown reference build '{version}'; builds are: {known}")
    try:
        inner = ReferenceAgent(version, **flags)
    except (TypeError, ValueError, KeyError) as exc:
        raise UserError.at("agent", "spec", spec, f"bad reference flag override(s) {sorted(flags)}: {exc}") \
            from None
    return PythonCallableAgent(inner, inner.build, timeout_s=timeout_s,
                               deterministic=True, spec=spec, options=raw_options)
