"""The stdio end of evalkit's MCP server: a byte pump between stdin/stdout and a unix socket.

MCP clients spawn their stdio servers themselves, inside the agent's sandbox, where neither the suite nor
evalkit's checkout is visible. So the process they spawn is this standalone script (standard library only,
copied into the agent's working folder): it connects to the socket evalkit's in-process server listens on
and copies bytes both ways until either side closes. It works under ``--sandbox strict`` too (a unix
socket in the working folder needs no network). Usage: ``python -I -S mcp_bridge.py SOCKET``.
"""

import contextlib
import os
import selectors
import socket
import sys

CHUNK = 1 << 16


def pump(sock: socket.socket, stdin_fd: int, stdout_fd: int) -> None:
    """Copy stdin -> socket and socket -> stdout until either closes. A client closes the server's stdin only
    when it shuts down, so nothing it waits for is lost when the pump stops then."""
    sel = selectors.DefaultSelector()
    sel.register(stdin_fd, selectors.EVENT_READ)
    sel.register(sock, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is sock:
                data = sock.recv(CHUNK)
                if not data:
                    return
                view = memoryview(data)
                while view:
                    view = view[os.write(stdout_fd, view):]
            else:
                data = os.read(stdin_fd, CHUNK)
                if not data:
                    return
                sock.sendall(data)


def main(argv: list) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: mcp_bridge.py SOCKET\n")
        return 2
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(argv[1])
    except OSError as exc:
        sys.stderr.write(f"evalkit MCP bridge: cannot connect to {argv[1]}: {exc}\n")
        return 1
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        pump(sock, sys.stdin.fileno(), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
