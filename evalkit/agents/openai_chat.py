"""LLM agents over any OpenAI-compatible ``/v1/chat/completions`` endpoint (``openai:<model>``).

A tool-calling loop: the Toolbox tools are offered as functions (from ``TOOL_SCHEMAS``), the answer comes
through a ``submit_finding`` function. Tool errors go back to the model as tool messages so it can recover;
a call to a tool that does not exist ends the investigation (``UnknownToolCall``), as does the Toolbox call
budget (``BudgetExceeded``). Per investigation there is a turn and token budget (``BudgetExceeded``) and a
deadline (``AgentTimeout``). 429 and 5xx/connection failures are retried with bounded exponential backoff;
exhaustion raises ``RateLimited`` / ``EndpointUnreachable`` (infrastructure, never scored). Token usage is
recorded into ``Finding.usage`` (``tokens_in``, ``tokens_out``, ``turns``, ``cost_usd`` when priced). The
``openai`` package is an optional extra and is imported only when the first request is made.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import threading
import time
from typing import Any, Callable

from evalkit.agents.base import (AgentCrash, AgentFailure, AgentTimeout, BudgetExceeded, BuildId,
                                 EndpointUnreachable, Finding, MalformedOutput, RateLimited, RebuiltFromSpec)
from evalkit.agents.finalize import attach, call_tool, dumps, finalize
from evalkit.agents.limits import DEFAULT_LIMITS, MessageLimits
from evalkit.agents.provenance import text_hash
from evalkit.errors import UserError, whole_number
from evalkit.suite.generator.catalog import FAULT_TYPES  # the taxonomy a finding names (the model's enum)
from evalkit.world.toolbox import TOOL_SCHEMAS, Toolbox

DEFAULT_BASE_URL = "https://api.openai.com/v1"
INSTALL_HINT = "pip install 'evalkit[openai]'"

SUBMIT_TOOL = "submit_finding"
SUBMIT_SCHEMA: dict = {
    "description": "Submit the final answer: root-cause hypotheses ranked best first, and a short summary. "
                   "Call it exactly once, at the end.",
    "parameters": {
        "type": "object",
        "properties": {
            "hypotheses": {
                "type": "array", "minItems": 1, "maxItems": 5,
                "items": {
                    "type": "object",
                    "properties": {
                        "component": {"type": "string",
                                      "description": "component name exactly as list_components returns it"},
                        "fault_type": {"type": "string", "enum": list(FAULT_TYPES)},
                        "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                        "evidence": {"type": "array", "items": {"type": "string"},
                                     "description": "evidence_refs of the tool results that support it"},
                    },
                    "required": ["component", "fault_type", "confidence", "evidence"],
                    "additionalProperties": False,
                },
            },
            "summary": {"type": "string", "description": "two or three sentences: what failed, why, the evidence"},
        },
        "required": ["hypotheses", "summary"],
        "additionalProperties": False,
    },
}

SYSTEM_PROMPT = (
    "You are an on-call SRE investigating a production incident. You see only what the tools return: the "
    "components and their dependency topology, metric series, logs, traces, change events and monitors. "
    "Find the root-cause component and its fault type. An alert often fires on a symptom (the gateway or a "
    "calling service) while the cause lies further down the dependency graph, so follow the dependencies and "
    "compare each signal before and after the alert fired. Every tool result carries `evidence_refs`: cite "
    "the refs that support each hypothesis. Tool calls are limited, so be selective. When done, call "
    "submit_finding once with up to three hypotheses ranked best first (component names exactly as "
    "list_components shows them) and a short summary. Never answer in plain text."
)
NUDGE = "Use the tools, then call submit_finding with your ranked hypotheses; do not answer in plain text."

#: accepted options (besides timeout_s) and their defaults.
DEFAULTS: dict[str, Any] = {
    "base_url": None,            # default: $OPENAI_BASE_URL, then the OpenAI API
    "api_key": None,             # default: $OPENAI_API_KEY (not needed for a local base URL)
    "temperature": 0.0,
    "max_turns": 24,             # chat completions per investigation
    "max_tokens": 200_000,       # prompt + completion tokens per investigation
    "max_response_tokens": None,  # max_completion_tokens per response
    "price_in": None,            # USD per 1M prompt tokens (enables cost_usd)
    "price_out": None,           # USD per 1M completion tokens
    "retries": 4,                # retries of one request on 429 / 5xx / connection errors
    "backoff_s": 0.5,            # first backoff; doubles per retry
    "max_backoff_s": 8.0,
    "request_timeout_s": 120.0,  # per request (also bounded by the investigation deadline)
    "max_result_chars": 20_000,  # tool results longer than this are truncated for the model
    "max_repairs": 2,            # plain-text answers / invalid submit_finding calls tolerated
    "system_prompt": None,
    "deterministic": False,      # whether the build claims same seed -> same finding
}
#: options that change what the model sees or does (part of the build id); the rest are infrastructure.
BEHAVIOUR_OPTIONS = ("temperature", "max_turns", "max_tokens", "max_response_tokens", "max_result_chars",
                     "max_repairs")
#: the functions offered to the model: every Toolbox tool, then submit_finding.
_TOOLS = [{"type": "function", "function": {"name": n, "description": s["description"], "parameters": s["parameters"]}}
          for n, s in {**TOOL_SCHEMAS, SUBMIT_TOOL: SUBMIT_SCHEMA}.items()]


def endpoint_identity(base_url: str) -> str:
    """The endpoint as part of the build id: scheme, host and path, and the port only for a remote host. A
    local server (localhost, 127.0.0.0/8, ::1) often listens on a new port each start; that is the same build,
    so journal resume and the drift series keep working across restarts."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None and not loopback:
        netloc += f":{parts.port}"
    return f"{parts.scheme.lower()}://{netloc}{parts.path.rstrip('/')}"


class OpenAIChatAgent(RebuiltFromSpec):
    """A tool-calling LLM investigator over an OpenAI-compatible chat-completions endpoint. It runs in
    evalkit's process: the API key never reaches a subprocess or a sandbox."""

    limits: MessageLimits = DEFAULT_LIMITS
    #: the deadline's clock and the backoff's sleep; tests set fakes on an instance.
    clock: Callable[[], float] = staticmethod(time.monotonic)
    sleep: Callable[[float], None] = staticmethod(time.sleep)

    def __init__(self, model: str, *, timeout_s: float | None = 60.0, spec: str | None = None,
                 options: dict | None = None, **settings: Any):
        unknown = sorted(set(settings) - set(DEFAULTS))
        if unknown:
            raise TypeError(f"unknown option(s) {unknown}")
        cfg = {**DEFAULTS, **settings}
        self.model = model
        self.timeout_s = timeout_s
        self.base_url = (cfg["base_url"] or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.api_key = cfg["api_key"] or os.environ.get("OPENAI_API_KEY") or "not-needed"
        self.cfg = cfg
        self.system_prompt = cfg["system_prompt"] or SYSTEM_PROMPT
        self.deterministic = bool(cfg["deterministic"])
        self.spec = spec
        self.options = dict(options or {})
        self.tools = _TOOLS
        self.build = BuildId(
            name="openai",
            version=model,
            config={
                "endpoint": endpoint_identity(self.base_url),
                **{k: cfg[k] for k in BEHAVIOUR_OPTIONS},
                "system_prompt": text_hash(self.system_prompt),
                "tools": text_hash(json.dumps(self.tools, sort_keys=True)),
            },
        )
        self._client = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OpenAIChatAgent({self.model!r} at {self.base_url})"

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_client": None, "_lock": None}  # made again when needed / in __setstate__

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # --- the loop -------------------------------------------------------------------------------
    def investigate(self, alert: dict, toolbox: Toolbox, seed: int) -> Finding:
        """Converse with the model until it submits a finding; failures raise AgentFailure subclasses."""
        usage = {"tokens_in": 0.0, "tokens_out": 0.0, "turns": 0.0}
        self._client_()  # the one-time import and client set-up are not the investigation's time
        deadline = self.clock() + (self.timeout_s if self.timeout_s is not None else math.inf)
        try:
            finding = self._loop(alert, toolbox, seed, deadline, usage)
        except AgentFailure as exc:
            raise attach(exc, usage=self._usage(usage))
        finding.usage = self._usage(usage)
        return finding

    def _usage(self, usage: dict) -> dict[str, float]:
        out = dict(usage)
        if self.cfg["price_in"] is not None or self.cfg["price_out"] is not None:
            out["cost_usd"] = (usage["tokens_in"] * float(self.cfg["price_in"] or 0)
                               + usage["tokens_out"] * float(self.cfg["price_out"] or 0)) / 1e6
        return out

    def _loop(self, alert: dict, toolbox: Toolbox, seed: int, deadline: float, usage: dict) -> Finding:
        cfg = self.cfg
        messages: list[dict] = [
            {"role": "system", "content": self.system_prompt},
            {"role": "user", "content": f"Alert:\n{json.dumps(alert, sort_keys=True, default=str)}\n\nYou may "
                                        f"make at most {toolbox.calls_left} tool calls. Investigate, then call "
                                        f"{SUBMIT_TOOL}."},
        ]
        repairs = 0
        while True:
            if usage["turns"] >= cfg["max_turns"]:
                raise BudgetExceeded(f"turn budget of {cfg['max_turns']} chat completions used without a finding")
            doc = self._complete(messages, seed, deadline)
            usage["turns"] += 1
            tok = doc.get("usage") if isinstance(doc.get("usage"), dict) else {}
            usage["tokens_in"] += _num(tok.get("prompt_tokens"))
            usage["tokens_out"] += _num(tok.get("completion_tokens"))
            if usage["tokens_in"] + usage["tokens_out"] > cfg["max_tokens"]:
                raise BudgetExceeded(f"token budget of {cfg['max_tokens']} exceeded "
                                     f"({usage['tokens_in'] + usage['tokens_out']:.0f} tokens)")
            msg = _message(doc)
            calls = msg.get("tool_calls") or []
            if not isinstance(calls, list):
                raise MalformedOutput("response message 'tool_calls' is not a list")
            assistant: dict = {"role": "assistant", "content": msg.get("content")}
            if calls:
                assistant["tool_calls"] = calls
            messages.append(assistant)
            if not calls:
                repairs += 1
                if repairs > cfg["max_repairs"]:
                    raise MalformedOutput(f"model answered in plain text instead of calling {SUBMIT_TOOL} "
                                          f"({repairs} times): {str(msg.get('content'))[:200]!r}")
                messages.append({"role": "user", "content": NUDGE})
                continue
            for call in calls:
                call_id, name, raw = _call_parts(call)
                if name == SUBMIT_TOOL:
                    finding, error = _submitted(raw, toolbox, self.limits)
                    if finding is not None:
                        return finding
                    repairs += 1
                    if repairs > cfg["max_repairs"]:
                        raise MalformedOutput(f"invalid {SUBMIT_TOOL} arguments ({repairs} times): {error}")
                    messages.append(_tool_message(call_id, {"error": f"invalid {SUBMIT_TOOL} arguments: {error}; "
                                                                     "fix them and call it again"}, 0))
                    continue
                # A tool that does not exist is called (recorded in the trajectory, then rejected) whatever
                # its arguments; a known tool's malformed arguments go back to the model to repair.
                args, error = _arguments(raw) if name in TOOL_SCHEMAS else ({}, None)
                if error is None:
                    result, error = call_tool(toolbox, str(name), args)
                if error is not None:
                    messages.append(_tool_message(call_id, {"error": error}, 0))
                    continue
                body = {"result": result, "evidence_refs": list(toolbox.trajectory[-1].refs),
                        "calls_left": toolbox.calls_left}
                messages.append(_tool_message(call_id, body, cfg["max_result_chars"]))

    # --- one request, with retries --------------------------------------------------------------
    def _client_(self):
        with self._lock:
            if self._client is None:
                openai = _import_openai()
                self._client = openai.OpenAI(base_url=self.base_url, api_key=self.api_key, max_retries=0)
            return self._client

    def _complete(self, messages: list[dict], seed: int, deadline: float) -> dict:
        openai = _import_openai()
        client = self._client_()
        cfg = self.cfg
        extra: dict[str, Any] = {}
        if cfg["temperature"] is not None:
            extra["temperature"] = cfg["temperature"]
        if cfg["max_response_tokens"] is not None:
            extra["max_completion_tokens"] = int(cfg["max_response_tokens"])
        attempt = 0
        while True:
            remaining = deadline - self.clock()
            if remaining <= 0:
                raise AgentTimeout(f"no finding within the {self.timeout_s:g}s timeout")
            try:
                raw = client.chat.completions.with_raw_response.create(
                    model=self.model, messages=messages, tools=self.tools, tool_choice="auto", seed=int(seed),
                    timeout=min(float(cfg["request_timeout_s"]), remaining), **extra)
                text = raw.text
            except openai.APITimeoutError as exc:
                if self.clock() >= deadline:
                    raise AgentTimeout(f"no finding within the {self.timeout_s:g}s timeout (endpoint still "
                                       "answering)") from None
                failure, retry_after = EndpointUnreachable, None
                detail = f"request timed out: {exc}"
            except openai.APIConnectionError as exc:
                failure, retry_after = EndpointUnreachable, None
                detail = f"cannot reach {self.base_url}: {exc}"
            except openai.RateLimitError as exc:
                failure, retry_after = RateLimited, _retry_after(exc.response)
                detail = f"rate limited (429): {_brief(exc)}"
            except openai.APIStatusError as exc:
                status = exc.status_code
                if status >= 500:
                    failure, retry_after = EndpointUnreachable, _retry_after(exc.response)
                    detail = f"server error {status}: {_brief(exc)}"
                elif status in (401, 403, 404):
                    # configuration, not quality: an infrastructure error (never scored), not retried
                    fix = ("check the model name" if status == 404 else "set OPENAI_API_KEY or the api_key option")
                    raise EndpointUnreachable(f"{self.base_url} answered {status} for model {self.model!r} "
                                              f"({_brief(exc)}); {fix}") from None
                else:
                    raise AgentCrash(f"endpoint rejected the request: {status} {_brief(exc)}") from None
            else:
                try:
                    doc = json.loads(text)
                except ValueError:
                    raise MalformedOutput(f"endpoint answered with non-JSON: {text[:200]!r}") from None
                if not isinstance(doc, dict):
                    raise MalformedOutput(f"endpoint answered with JSON that is not an object: {text[:200]!r}")
                return doc
            if attempt >= int(cfg["retries"]):
                raise failure(f"{detail} (gave up after {attempt + 1} attempts)")
            delay = min(float(cfg["max_backoff_s"]), float(cfg["backoff_s"]) * 2 ** attempt)
            if retry_after is not None:
                delay = min(float(cfg["max_backoff_s"]), max(delay, retry_after))
            if self.clock() + delay >= deadline:
                raise failure(f"{detail} (no time left to retry before the {self.timeout_s:g}s timeout)")
            self.sleep(delay)
            attempt += 1


# --- helpers ------------------------------------------------------------------------------------
def _import_openai():
    try:
        import openai
    except ImportError:
        raise UserError.at("agent", "spec", "openai:", f"the openai package is not installed; {INSTALL_HINT}") \
            from None
    return openai


def openai_available() -> bool:
    return importlib.util.find_spec("openai") is not None


def _num(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else 0.0


def _brief(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:200]
    return str(exc)[:200]


def _retry_after(response: Any) -> float | None:
    headers = getattr(response, "headers", None) or {}
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is not None:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                return None
    return None


def _message(doc: dict) -> dict:
    choices = doc.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise MalformedOutput(f"response has no choices: {json.dumps(doc)[:200]}")
    msg = choices[0].get("message")
    if not isinstance(msg, dict):
        raise MalformedOutput("response choice has no message")
    return msg


def _call_parts(call: Any) -> tuple[str, str, Any]:
    if not isinstance(call, dict) or not isinstance(call.get("function"), dict):
        raise MalformedOutput(f"malformed tool call in response: {str(call)[:200]}")
    fn = call["function"]
    name = fn.get("name")
    if not isinstance(name, str) or not name:
        raise MalformedOutput(f"tool call without a function name: {str(call)[:200]}")
    return str(call.get("id", "")), name, fn.get("arguments")


def _arguments(raw: Any) -> tuple[dict, str | None]:
    """Parse a tool call's arguments (a JSON string); returns (args, error message for the model)."""
    if raw is None or raw == "":
        return {}, None
    if isinstance(raw, dict):
        return raw, None
    try:
        args = json.loads(raw)
    except (TypeError, ValueError) as exc:
        return {}, f"arguments are not valid JSON ({exc}): {str(raw)[:200]}"
    if not isinstance(args, dict):
        return {}, f"arguments must be a JSON object, got {type(args).__name__}"
    return args, None


def _submitted(raw: Any, toolbox: Toolbox, limits: MessageLimits) -> tuple[Finding | None, str | None]:
    """The checked finding of a submit call, or the error the model gets to repair. A finding naming a
    component that does not exist ends the investigation (UnknownComponent), as for every adapter."""
    args, error = _arguments(raw)
    if error is not None:
        return None, error
    try:
        return finalize(args, toolbox, limits), None
    except MalformedOutput as exc:
        return None, str(exc)


def _tool_message(call_id: str, body: dict, max_chars: int) -> dict:
    content = dumps(body)
    if max_chars and len(content) > max_chars:
        content = content[:max_chars] + f" ...[truncated {len(content) - max_chars} chars; narrow the query]"
    return {"role": "tool", "tool_call_id": call_id, "content": content}


def load_openai_agent(model: str, options: dict, *, spec: str, timeout_s: float | None,
                      raw_options: dict) -> OpenAIChatAgent:
    """Build an OpenAIChatAgent from ``openai:<model>``; options/env give base URL, key and budgets."""
    if not model:
        raise UserError.at("agent", "spec", spec, "name the model after 'openai:', e.g. openai:gpt-4o-mini")
    unknown = sorted(set(options) - set(DEFAULTS))
    if unknown:
        raise UserError.at("agent", "options", ",".join(unknown),
                           f"openai: agents accept {', '.join(DEFAULTS)} and timeout_s")
    if not openai_available():
        raise UserError.at("agent", "spec", spec, f"the openai package is not installed; {INSTALL_HINT}")
    base_url = options.get("base_url") or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
    if not str(base_url).startswith(("http://", "https://")):
        raise UserError.at("agent", "base_url", base_url, "give an http(s) URL ending in /v1, e.g. "
                           "http://127.0.0.1:8000/v1 (option base_url or OPENAI_BASE_URL)")
    if base_url.rstrip("/") == DEFAULT_BASE_URL and not (options.get("api_key") or os.environ.get("OPENAI_API_KEY")):
        raise UserError.at("agent", "api_key", "", f"{spec} needs an API key for {DEFAULT_BASE_URL}: set "
                           "OPENAI_API_KEY (or OPENAI_BASE_URL for a local endpoint)")
    for key in ("max_turns", "max_tokens", "retries", "max_result_chars", "max_repairs"):
        v = options.get(key, DEFAULTS[key])
        if not whole_number(v, 1 if key in ("max_turns", "max_tokens") else 0):
            raise UserError.at("agent", f"options.{key}", v, "give a non-negative integer"
                               + (" (at least 1)" if key in ("max_turns", "max_tokens") else ""))
    for key in ("temperature", "price_in", "price_out", "backoff_s", "max_backoff_s", "request_timeout_s"):
        v = options.get(key, DEFAULTS[key])
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0):
            raise UserError.at("agent", f"options.{key}", v, "give a non-negative number")
    return OpenAIChatAgent(model, timeout_s=timeout_s, spec=spec, options=raw_options, **options)
