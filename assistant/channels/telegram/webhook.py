"""Telegram's webhook, served by the bridge itself, so that several bridges behind a load
balancer handle each update once.

PTB's own webhook server answers Telegram as soon as an update is queued: a bridge killed
mid-turn loses the message, and Telegram's retry (or a second bridge) would handle it
again. Here `POST /telegram` checks the secret token (403 otherwise), reads the update
(400 if it cannot), claims its id in the database (assistant/services/update_claims.py)
and answers 200 only once the update was handled: a retry of a handled update is answered
at once, one that another bridge is handling gets 503 (Telegram tries again later, and
takes it to a live bridge once the dead one's lease ran out), and a failed one releases
its claim and gets 500, to be handled again. With the database out of reach the update is
handled without a claim, as the polling bridge would: a patient is answered rather than
kept waiting. `GET /healthz` is the load balancer's check: 200 while the bridge serves,
503 once it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
from collections.abc import Callable
from datetime import timedelta
from functools import partial

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update
from telegram.ext import Application, ContextTypes

from assistant import metrics
from assistant.channels.in_loop import InLoopServer
from assistant.channels.storage_work import in_thread
from assistant.channels.telegram.polling import ALLOWED_UPDATES, or_stop
from assistant.config import Settings
from assistant.logs import trace
from assistant.services import update_claims as claims
from assistant.services.update_claims import Outcome
from assistant.storage.db import is_unavailable, utcnow

log = logging.getLogger(__name__)
CHANNEL = "telegram"
PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PRUNE_SECONDS = 3600.0  # how often a bridge forgets old updates
# Telegram's most (its default is 40): an update is answered only once it was handled, and
# a message waiting for Rasa keeps its connection meanwhile.
MAX_CONNECTIONS = 100
GRACE_SECONDS = 3.0  # stopping, the updates in hand get this long to be answered


class Webhook:
    """The webhook's two routes, on the PTB application that handles the updates."""

    def __init__(self, application: Application, settings: Settings) -> None:  # type: ignore[type-arg]
        self.application = application
        self.secret = settings.webhook_secret.get_secret_value().encode()
        self.lease = timedelta(seconds=settings.webhook_lease_seconds)
        self.max_body = settings.max_body_bytes
        self.serving = False
        self.failed: set[int] = set()  # updates whose handler raised (PTB swallows it)
        application.add_error_handler(self._failed)
        self.app = Starlette(routes=[Route(PATH, self.receive, methods=["POST"]),
                                     Route("/healthz", self.health, methods=["GET"])])

    async def _failed(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if isinstance(update, Update):
            self.failed.add(update.update_id)

    async def health(self, request: Request) -> Response:
        """The load balancer's check: this bridge takes updates (or not: it is stopping)."""
        if self.serving:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "stopping"}, 503)

    async def receive(self, request: Request) -> Response:
        """One update from Telegram, answered 200 once it has been handled (see above)."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self.secret):
            metrics.WEBHOOK.labels("refused").inc()
            return Response(status_code=403)
        body = await request.body()
        if len(body) > self.max_body:
            metrics.WEBHOOK.labels("refused").inc()
            return Response(status_code=413)
        try:
            data = json.loads(body)
            if type(data.get("update_id")) is not int:  # the claim's key (not a bool)
                raise TypeError("update_id")
            update = Update.de_json(data, self.application.bot)
        except Exception as exc:  # anything that does not read as an update
            log.warning("webhook: unreadable update refused (%s)", type(exc).__name__)
            metrics.WEBHOOK.labels("refused").inc()
            return Response(status_code=400)
        trace.set(f"update-{update.update_id}")
        try:
            claim = await in_thread(partial(claims.claim, channel=CHANNEL,
                                            update_id=update.update_id, lease=self.lease))
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            log.warning("webhook: database out of reach; handling the update unclaimed")
            metrics.WEBHOOK.labels("unclaimed").inc()
            return Response(status_code=200 if await self._handle(update) else 500)
        if claim.outcome is Outcome.done:
            metrics.WEBHOOK.labels("duplicate").inc()
            return Response(status_code=200)
        if claim.outcome is Outcome.busy:
            metrics.WEBHOOK.labels("busy").inc()
            wait = (claim.leased_until - utcnow()).total_seconds() if claim.leased_until else 1
            return Response(status_code=503, headers={"Retry-After": str(max(1, math.ceil(wait)))})
        return await self._handle_claimed(update, claim.holder)

    async def _handle(self, update: Update) -> bool:
        """Through the PTB application; whether every handler ended without an error."""
        await self.application.process_update(update)
        if update.update_id in self.failed:
            self.failed.discard(update.update_id)
            return False
        return True

    async def _handle_claimed(self, update: Update, holder: str) -> Response:
        update_id = update.update_id
        released = partial(claims.release, channel=CHANNEL, update_id=update_id, holder=holder)
        renewing = asyncio.ensure_future(self._renew(update_id, holder))
        try:
            handled = await self._handle(update)
        except BaseException:  # cancelled as the bridge stops: the next delivery handles it
            await _quietly(released)
            raise
        finally:
            renewing.cancel()
        if not handled:
            await _quietly(released)
            metrics.WEBHOOK.labels("failed").inc()
            return Response(status_code=500)
        await _quietly(partial(claims.finish, channel=CHANNEL, update_id=update_id))
        metrics.WEBHOOK.labels("handled").inc()
        return Response(status_code=200)

    async def _renew(self, update_id: int, holder: str) -> None:
        """Keep the lease live while the update is in hand (a message may wait for Rasa)."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            with contextlib.suppress(Exception):
                if not await in_thread(partial(claims.renew, channel=CHANNEL,
                                               update_id=update_id, holder=holder,
                                               lease=self.lease)):
                    log.warning("webhook: an update outlived its lease and was taken over")
                    return

    async def prune(self, stop: asyncio.Event) -> None:
        """Forget old updates now and then (each bridge does; deleting twice is harmless)."""
        while not stop.is_set():
            await _quietly(claims.prune)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), PRUNE_SECONDS)


async def _quietly(work: Callable[..., object]) -> None:
    """Storage work whose failure only delays things (a lease then runs out by itself)."""
    try:
        await in_thread(work)
    except Exception as exc:
        if not is_unavailable(exc):
            raise
        log.warning("webhook: database out of reach (%s)", type(exc).__name__)


async def _serve(server: uvicorn.Server) -> None:
    try:
        await server.serve()
    except SystemExit:  # uvicorn exits when it cannot listen (the port taken, say)
        raise RuntimeError("the webhook server could not listen: see the line above") from None


async def serve(application: Application, settings: Settings,  # type: ignore[type-arg]
                stop: asyncio.Event, *, release: Callable[[], None]) -> None:
    """Tell Telegram where to post (every bridge may: the same URL each time), serve the
    webhook until `stop`, then answer the updates in hand (`release` lets the messages
    waiting for Rasa have their fallback) before closing. The webhook stays set: the
    other bridges serve on."""
    hook = Webhook(application, settings)
    await application.bot.set_webhook(
        f"{settings.webhook_url.rstrip('/')}{PATH}", allowed_updates=ALLOWED_UPDATES,
        secret_token=settings.webhook_secret.get_secret_value(), drop_pending_updates=False,
        max_connections=MAX_CONNECTIONS)
    server = InLoopServer(uvicorn.Config(hook.app, host=settings.webhook_listen,
                                    port=settings.webhook_port, lifespan="off",
                                    log_level="warning", access_log=False,
                                    timeout_graceful_shutdown=int(GRACE_SECONDS)))
    serving = asyncio.ensure_future(_serve(server))
    pruning = asyncio.ensure_future(hook.prune(stop))
    try:
        while not server.started and not stop.is_set():
            if serving.done():
                serving.result()  # raises why it could not start
            await asyncio.sleep(0.05)
        hook.serving = True
        log.info("bridge started (webhook on %s:%d)", settings.webhook_listen,
                 settings.webhook_port)
        await or_stop(asyncio.shield(serving), stop)
    finally:
        hook.serving = False
        release()
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(serving, GRACE_SECONDS + 2)
        pruning.cancel()
