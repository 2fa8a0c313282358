"""Health of the scheduler, a sender and the bridge, which serve no HTTP of their own:
`/healthz` (the process's event loop answers), `/readyz` (it can do its work) and `/metrics`
(Prometheus) on `CARELOOP_SCHEDULER_METRICS_PORT` / `CARELOOP_SENDER_METRICS_PORT` /
`CARELOOP_BRIDGE_METRICS_PORT`, served by uvicorn inside the service's own event loop: a
loop that hangs answers nothing.

Ready: the scheduler and a sender while the database answers and the outbox is not lagging past
`CARELOOP_OUTBOX_GRACE_SECONDS` (the web app's `/readyz` says the same); the bridge while
the database answers and a Rasa server does (`RasaClient.ready()`: not while Rasa loads
its model, its port closed until then).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from assistant import metrics
from assistant.channels.in_loop import InLoopServer
from assistant.config import Settings
from assistant.conversation.rasa_client import RasaClient
from assistant.services import outbox
from assistant.storage.db import is_unavailable, session

CHECK_SECONDS = 5.0  # a database that has not answered by then counts as out of reach
Verdict = tuple[bool, dict[str, Any]]  # ready?, and the JSON that says why
Readiness = Callable[[], Awaitable[Verdict]]
UNREACHABLE: Verdict = (False, {"ready": False, "database": "unreachable"})
T = TypeVar("T")


def backlog() -> tuple[int, float] | None:
    """The outbox's waiting messages and oldest wait (also set on the gauges); None while
    the database is out of reach."""
    try:
        with session() as db:
            waiting, oldest = outbox.backlog(db)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        return None
    metrics.OUTBOX_DEPTH.set(waiting)
    metrics.OUTBOX_OLDEST.set(oldest)
    return waiting, oldest


def outbox_readiness(grace_seconds: float) -> Verdict:
    """Not ready while the database is out of reach, or the oldest due message has waited
    longer than the grace period (the senders are behind or down)."""
    found = backlog()
    if found is None:
        return UNREACHABLE
    waiting, oldest = found
    lagging = oldest > grace_seconds
    return not lagging, {"ready": not lagging, "database": "ok", "outbox_waiting": waiting,
                         "outbox_oldest_seconds": round(oldest, 1)}


def _database_answers() -> bool:
    try:
        with session() as db:
            db.connection().execute(text("SELECT 1"))
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        return False
    return True


async def _off_loop(check: Callable[..., T], *args: Any) -> T | None:
    """`check(*args)` in a thread (the loop keeps answering); None if it takes too long."""
    try:
        return await asyncio.wait_for(asyncio.to_thread(check, *args), CHECK_SECONDS)
    except TimeoutError:
        return None


def scheduler_readiness(settings: Settings) -> Readiness:
    async def ready() -> Verdict:
        return await _off_loop(outbox_readiness, settings.outbox_grace_seconds) or UNREACHABLE
    return ready


def bridge_readiness(rasa: RasaClient) -> Readiness:
    async def ready() -> Verdict:
        database, answers = await asyncio.gather(_off_loop(_database_answers), rasa.ready())
        ok = bool(database) and answers
        return ok, {"ready": ok, "database": "ok" if database else "unreachable",
                    "rasa": "ok" if answers else "unreachable"}
    return ready


def app(readiness: Readiness) -> Starlette:
    """`/healthz`, `/readyz` and `/metrics`."""

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def ready(_: Request) -> Response:
        ok, body = await readiness()
        return JSONResponse(body, status_code=200 if ok else 503)

    async def prometheus(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[Route("/healthz", health), Route("/readyz", ready),
                             Route("/metrics", prometheus)])


@contextlib.asynccontextmanager
async def serving(settings: Settings, name: str) -> AsyncIterator[None]:
    """Answer on the service's metrics port (all interfaces) while the block runs; nothing
    when no port is set. A port already taken fails here, at start."""
    port = {"scheduler": settings.scheduler_metrics_port, "sender": settings.sender_metrics_port,
            "bridge": settings.bridge_metrics_port}[name]
    if not port:
        yield
        return
    sock = socket.create_server(("0.0.0.0", port))  # noqa: S104 - Prometheus scrapes from afar
    async with contextlib.AsyncExitStack() as stack:
        stack.callback(sock.close)
        if name in ("scheduler", "sender"):
            readiness = scheduler_readiness(settings)
        else:
            rasa = RasaClient(settings.rasa_servers, settings.rasa_timeout_seconds)
            stack.push_async_callback(rasa.aclose)
            readiness = bridge_readiness(rasa)
        server = InLoopServer(uvicorn.Config(app(readiness), log_config=None, log_level="warning",
                                        access_log=False, lifespan="off"))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            yield
        finally:
            server.should_exit = True
            await task
