"""Where evalkit's MCP server listens: a unix socket (the stdio bridge's other end) or streamable HTTP on a
loopback port, both in evalkit's own process, in a background event loop (:class:`ServerLoop`).

Every message the agent sends is held to the run's :class:`~evalkit.agents.limits.MessageLimits` (message
and trial bytes, JSON depth, number length) before the SDK parses it; one over the limits ends the trial as
``malformed_output``, exactly as a ``cmd:`` agent's line would.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from typing import Any

from evalkit.agents.base import AgentFailure, MalformedOutput
from evalkit.agents.limits import DEFAULT_LIMITS, MessageLimits, loads
from evalkit.agents.mcp_tools import TrialOutcome

HTTP_PATH = "/mcp"
STOP_WAIT_S = 5.0  # how long a server may take to shut down cleanly


@dataclass
class InboundGuard:
    """Checks each message against the limits and counts the trial's bytes; a breach ends the trial."""

    limits: MessageLimits = DEFAULT_LIMITS
    outcome: TrialOutcome = field(default_factory=TrialOutcome)
    received: int = 0

    def check(self, data: bytes) -> None:
        """MalformedOutput (also recorded as the trial's end) when ``data`` breaks a limit."""
        self.received += len(data)
        try:
            if self.received > self.limits.trial_bytes:
                raise MalformedOutput(f"the agent sent {self.received} bytes, over the trial limit of "
                                      f"{self.limits.trial_bytes} bytes")
            loads(data, self.limits)
        except AgentFailure as exc:
            self.outcome.finish(failure=exc)
            raise


class ServerLoop:
    """A background thread running an event loop (an anyio blocking portal) that hosts MCP servers."""

    def __init__(self) -> None:
        from anyio.from_thread import start_blocking_portal

        self._stack = ExitStack()
        self.portal = self._stack.enter_context(start_blocking_portal())
        self._stops: list[tuple[Callable[[], Any], Any]] = []  # (how to stop a server, its task's future)

    def serve_unix(self, server: Any, path: str, guard: InboundGuard) -> None:
        """Listen on the unix socket ``path``; each connection is one MCP session of ``server``."""
        future, scope = self.portal.start_task(_serve_unix, server, path, guard)
        self._stops.append((scope.cancel, future))

    def serve_http(self, server: Any, guard: InboundGuard, port: int = 0, host: str = "127.0.0.1") -> str:
        """Serve streamable HTTP on ``host:port`` (0: any free port); returns the URL."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # inherited: no 40 ms Nagle stalls
        sock.bind((host, port))
        future, uv = self.portal.start_task(_serve_http, server, sock, guard)
        self._stops.append((lambda: setattr(uv, "should_exit", True), future))
        return f"http://{host}:{sock.getsockname()[1]}{HTTP_PATH}"

    def close(self) -> None:
        """Stop every server and the loop (open sessions are cancelled)."""
        try:
            for stop, _ in self._stops:
                self.portal.call(stop)
            for _, future in self._stops:
                with suppress(BaseException):  # cancelled or timed out: the portal's stop cancels it
                    future.result(timeout=STOP_WAIT_S)
            self.portal.call(self.portal.stop, True)
        finally:
            self._stack.close()

    def __enter__(self) -> "ServerLoop":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


async def _serve_unix(server: Any, path: str, guard: InboundGuard, *, task_status: Any) -> None:
    import anyio

    with anyio.CancelScope() as scope:
        listener = await anyio.create_unix_listener(path)
        task_status.started(scope)

        async def session(stream: Any) -> None:
            async with stream:
                await serve_stream(server, stream, guard)

        await listener.serve(session)


async def serve_stream(server: Any, stream: Any, guard: InboundGuard) -> None:
    """One MCP session over a byte stream of newline-delimited JSON-RPC messages (the stdio framing)."""
    import anyio
    import mcp_types as types
    from anyio.streams.buffered import BufferedByteReceiveStream
    from mcp.shared.message import SessionMessage

    inbound_w, inbound_r = anyio.create_memory_object_stream[Any](0)
    outbound_w, outbound_r = anyio.create_memory_object_stream[Any](0)
    reader = BufferedByteReceiveStream(stream)

    async def read() -> None:
        async with inbound_w:
            while True:
                try:
                    line = await reader.receive_until(b"\n", guard.limits.message_bytes + 1)
                    if not line.strip():
                        continue
                    guard.check(line)
                except (anyio.EndOfStream, anyio.IncompleteRead, anyio.BrokenResourceError,
                        anyio.ClosedResourceError, AgentFailure):
                    return
                except anyio.DelimiterNotFound:
                    _too_long(guard)
                    return
                try:
                    message = SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
                except Exception as exc:  # noqa: BLE001 - the SDK answers a malformed message itself
                    await inbound_w.send(exc)
                    continue
                await inbound_w.send(message)

    async def write() -> None:
        async with outbound_r:
            async for msg in outbound_r:
                data = msg.message.model_dump_json(by_alias=True, exclude_unset=True) + "\n"
                try:
                    await stream.send(data.encode())
                except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                    return

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        tg.start_soon(write)
        await server.run(inbound_r, outbound_w, server.create_initialization_options())
        tg.cancel_scope.cancel()


async def _serve_http(server: Any, sock: socket.socket, guard: InboundGuard, *, task_status: Any) -> None:
    import uvicorn

    app = guarded_app(server.streamable_http_app(json_response=True, max_request_body_size=guard.limits.message_bytes),
                      guard)
    uv = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
    uv.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
    task_status.started(uv)
    await uv.serve(sockets=[sock])


def guarded_app(app: Any, guard: InboundGuard) -> Any:
    """``app`` with every request body checked by ``guard`` first (a 413 for one over the limits)."""

    async def guarded(scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            return await app(scope, receive, send)
        body, more = b"", True
        while more and len(body) <= guard.limits.message_bytes:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        try:
            if len(body) > guard.limits.message_bytes:
                raise _too_long(guard)
            guard.check(body)
        except AgentFailure as exc:
            await send({"type": "http.response.start", "status": 413, "headers": [(b"content-type", b"text/plain")]})
            return await send({"type": "http.response.body", "body": str(exc).encode()})
        replayed = False

        async def replay() -> dict:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await app(scope, replay, send)

    return guarded


def _too_long(guard: InboundGuard) -> MalformedOutput:
    """End the trial for a message over the size limit; returns the failure."""
    exc = MalformedOutput(f"message longer than the limit of {guard.limits.message_bytes} bytes")
    guard.outcome.finish(failure=exc)
    return exc


__all__ = ["ServerLoop", "InboundGuard", "serve_stream", "guarded_app", "HTTP_PATH"]
