"""Serve an ASGI app with uvicorn on 127.0.0.1 in a background thread.

For tests where a real outside program (Alertmanager, a browser) must reach
Fleetward over TCP, which Starlette's in-process TestClient cannot offer.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


def bind_local() -> socket.socket:
    """A listening-ready socket on a free port, held until the server takes it.

    Bound before the app is built so the app's settings can name its own URL,
    and kept bound so no other process can take the port in between.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}"


@contextmanager
def serve(app: ASGIApp, sock: socket.socket) -> Iterator[str]:
    """Run `app` on `sock` until the block ends; yields the base URL.

    The socket is closed on exit, and the server thread is always joined, so a
    failing test leaves no thread or port behind.
    """
    # lifespan "on": an app that fails to start fails the test instead of serving half-set-up.
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="live-server", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("uvicorn exited while starting (see the log above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start within {START_TIMEOUT_S:.0f} s")
            time.sleep(0.02)
        yield url_of(sock)
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT_S)
        if thread.is_alive():
            # Open keep-alive connections can hold a graceful stop: cut them.
            server.force_exit = True
            thread.join(timeout=STOP_TIMEOUT_S)
        sock.close()
