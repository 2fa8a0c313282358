"""uvicorn run inside a service's own event loop (the bridge's webhook, the health and
metrics port of the scheduler, the sender and the bridge): the service, not uvicorn, owns
SIGTERM and SIGINT, and stops the server through `should_exit`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import uvicorn


class InLoopServer(uvicorn.Server):
    """A uvicorn server that leaves the process's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield
