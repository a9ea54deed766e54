"""A scripted OpenAI-compatible chat-completions server on 127.0.0.1 (a free port, a daemon thread).

It plays a list of scripted steps, one per request (a tool-call reply, a status code, raw bytes, a hang),
then falls back to a *policy*: a function of the request that decides the next reply, e.g.
:func:`investigator_policy`, a tiny deterministic investigator used for conformance and smoke runs.
Every request body is recorded in ``server.requests`` for assertions.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass
class Reply:
    """HTTP 200 with a chat.completion body."""

    body: dict


@dataclass
class Status:
    """An error status (429, 500, 401...) with an OpenAI-style error body and optional headers."""

    code: int
    message: str = "scripted error"
    headers: dict = field(default_factory=dict)


@dataclass
class Raw:
    """Arbitrary bytes as the response body (malformed responses)."""

    text: str
    code: int = 200
    content_type: str = "application/json"


@dataclass
class Hang:
    """Hold the request open (until the server closes or ``seconds`` pass), then answer 200 with ``then``."""

    seconds: float
    then: dict | None = None


_counter = iter(range(1, 1_000_000))


def completion(message: dict, usage: tuple[int, int] = (100, 20), finish: str = "tool_calls") -> dict:
    n = next(_counter)
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": 1_700_000_000, "model": "scripted",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1],
                      "total_tokens": usage[0] + usage[1]}}


def tool_calls(*calls: tuple[str, Any], usage: tuple[int, int] = (100, 20)) -> Reply:
    """A reply calling tools; each call is (name, args dict | raw arguments string)."""
    out = []
    for name, args in calls:
        n = next(_counter)
        raw = args if isinstance(args, str) else json.dumps(args)
        out.append({"id": f"call_{n}", "type": "function", "function": {"name": name, "arguments": raw}})
    return Reply(completion({"role": "assistant", "content": None, "tool_calls": out}, usage))


def submit(hypotheses: list[dict], summary: str = "scripted finding", usage: tuple[int, int] = (100, 20)) -> Reply:
    return tool_calls(("submit_finding", {"hypotheses": hypotheses, "summary": summary}), usage=usage)


def text(content: str, usage: tuple[int, int] = (100, 20)) -> Reply:
    return Reply(completion({"role": "assistant", "content": content}, usage, finish="stop"))


# --- a tiny deterministic investigator, as a policy ---------------------------------------------
def _tool_results(messages: list[dict]) -> list[dict]:
    out = []
    for m in messages:
        if m.get("role") == "tool":
            try:
                out.append(json.loads(m["content"]))
            except ValueError:
                out.append({"error": m["content"]})
    return out


def investigator_policy(request: dict) -> Reply:
    """Turn 1: get_alert + list_components; turn 2: topology below the alerting component; turn 3: submit
    the alerting component's deepest callee (else the component itself) with the refs seen."""
    messages = request["messages"]
    results = _tool_results(messages)
    if not results:
        return tool_calls(("get_alert", {}), ("list_components", {}))
    alert = results[0].get("result", {})
    origin = alert.get("component")
    if len(results) == 2:
        return tool_calls(("get_topology", {"component": origin, "depth": 2}))
    edges = results[2].get("result", {}).get("edges", [])
    callees = [e["target"] for e in edges if e["source"] == origin and e["relation"] == "calls"]
    names = [c["name"] for c in results[1].get("result", [])]
    refs = sorted({r for res in results for r in res.get("evidence_refs", [])})
    ranked = ([sorted(callees)[0]] if callees else []) + [origin]
    ranked = [c for c in ranked if c in names] or names[:1]
    hyps = [{"component": c, "fault_type": "slow_query", "confidence": round(0.6 / (i + 1), 3),
             "evidence": refs} for i, c in enumerate(ranked)]
    return submit(hyps, f"{ranked[0]} looks like the cause of the alert on {origin}")


class ScriptedChatServer:
    """Context manager: ``with ScriptedChatServer([steps...], policy=...) as srv: srv.base_url``."""

    def __init__(self, script: list | None = None, policy: Callable[[dict], Any] | None = None):
        self.script: deque = deque(script or [])
        self.policy = policy
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> "ScriptedChatServer":
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                step = owner._next(body, dict(self.headers))
                if isinstance(step, Hang):
                    owner._release.wait(step.seconds)
                    step = Reply(step.then or completion({"role": "assistant", "content": "late"}))
                try:
                    if isinstance(step, Reply):
                        self._send(200, step.body)
                    elif isinstance(step, Status):
                        self._send(step.code, {"error": {"message": step.message, "type": "scripted",
                                                         "code": step.code}}, step.headers)
                    elif isinstance(step, Raw):
                        self._send(step.code, step.text, {"Content-Type": step.content_type})
                    else:
                        raise TypeError(f"bad scripted step {step!r}")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, code: int, body: Any, headers: dict | None = None) -> None:
                data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
                self.send_response(code)
                headers = {"Content-Type": "application/json", **(headers or {})}
                for k, v in headers.items():
                    self.send_header(k, str(v))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def _next(self, body: dict, headers: dict) -> Any:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            if self.script:
                step = self.script.popleft()
                return step(body) if callable(step) else step
        if self.policy is None:
            return Status(500, "script exhausted and no policy")
        return self.policy(body)

    def __exit__(self, *exc: Any) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
