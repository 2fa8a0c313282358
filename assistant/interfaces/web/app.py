"""The care-team web application: the console (server-rendered pages, server-side sessions
with CSRF tokens) and the REST API (`/api/v1`, API tokens) on one FastAPI app.

Every answer forbids framing and inline code (Content-Security-Policy) and, but for the
stylesheet, being kept in any cache: pages and API answers are about patients. Around
every request: bodies over the cap are refused (413) before they are read; a busy
database answers 503 with `Retry-After`; any other unexpected error a plain 500, logged
by its type and route, never by its message (SQL, values, patient data).
"""

from __future__ import annotations

import base64
import gc
import hashlib
import logging
import re
import traceback
from collections.abc import Mapping
from pathlib import Path

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    Response,
)
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from assistant.config import Settings, get_settings
from assistant.interfaces.web import api, observations_api, operations, pages
from assistant.interfaces.web.errors import HANDLERS
from assistant.interfaces.web.pages.common import templates
from assistant.interfaces.web.tracing import Traced
from assistant.storage.db import is_unavailable
from assistant.storage.keys import secret_key

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5
# Only the app's own files: no inline script or style, no plugins, no framing.
CSP = ("default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
SWAGGER_CDN = "https://cdn.jsdelivr.net"


class SecurityHeaders:
    """Adds the security headers to every answer (an answer may set its own policy)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope["path"]).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CSP)
                headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "same-origin"
                if not cacheable:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _docs(app: FastAPI) -> HTMLResponse:
    """Swagger UI (scripts from its CDN): its one inline script is allowed by its hash."""
    page = get_swagger_ui_html(openapi_url=app.openapi_url or "", title=f"{app.title} docs")
    scripts = re.findall(r"<script>(.*?)</script>", bytes(page.body).decode(), re.S)
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in scripts)
    page.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src {SWAGGER_CDN} {hashes}; "
        f"style-src {SWAGGER_CDN} 'unsafe-inline'; img-src 'self' data: https:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
    return page


def _too_large(cap: int) -> HTTPException:
    return HTTPException(413, f"the request body is larger than {cap} bytes")


class BodyLimit:
    """Refuses (413) a request body over the cap before it is read into memory: by its
    Content-Length, else by counting the bytes as they arrive. The cap is `limit`, or
    what `larger` gives the route's path template (a file upload, say)."""

    def __init__(self, app: ASGIApp, *, limit: int,
                 larger: Mapping[str, int] | None = None) -> None:
        self.app, self.limit, self.larger = app, limit, dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        received, cap = 0, 0

        async def counted() -> Message:
            nonlocal received, cap
            if not cap:
                # The body is asked for once the request is routed: the route's cap applies.
                cap = self.larger.get(getattr(scope.get("route"), "path", ""), self.limit)
                declared = Headers(scope=scope).get("content-length", "")
                if declared.isdigit() and int(declared) > cap:
                    raise _too_large(cap)
            message = await receive()
            received += len(message.get("body", b""))
            if received > cap:
                raise _too_large(cap)
            return message

        await self.app(scope, counted, send)


_BUSY = ("CareLoop's database is busy right now, so this could not be done (nothing was "
         "saved). Please try again in a few seconds.")


def _unavailable(scope: Scope) -> Response:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
    if scope["path"].startswith("/api/"):
        return JSONResponse({"detail": "the database is busy; try again in a few seconds"},
                            503, headers=headers)
    return templates.TemplateResponse(
        Request(scope), "error.html", {"me": None, "csrf": "", "flash": None, "message": _BUSY},
        status_code=503, headers=headers)


def _where(exc: BaseException) -> str:
    """Where it failed in our code (file, line, function): no values."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "/assistant/" in f.filename and f.filename != __file__]
    return " < ".join(f"{f.filename.rsplit('/assistant/', 1)[1]}:{f.lineno} {f.name}"
                      for f in reversed(frames[-3:])) or "outside CareLoop's code"


class Failures:
    """Outermost: what no handler answered. A busy (or unreachable) database is a 503 with
    `Retry-After`; anything else a plain 500. Logged by type, route template and place in
    the code: an exception's message can hold SQL parameters or what a user sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            route = f"{scope['method']} {getattr(scope.get('route'), 'path', '(no route)')}"
            if isinstance(exc, HTTPException):  # raised outside the routes' handlers
                response: Response = JSONResponse({"detail": exc.detail}, exc.status_code,
                                                  headers=exc.headers)
            elif is_unavailable(exc):
                log.warning("database busy or unreachable (%s) on %s", type(exc).__name__,
                            route)
                response = _unavailable(scope)
            else:
                log.error("unexpected %s on %s at %s", type(exc).__name__, route, _where(exc))
                response = (JSONResponse({"detail": "internal error"}, 500)
                            if scope["path"].startswith("/api/") else PlainTextResponse(
                                "Something went wrong on our side. It was logged; please "
                                "try again later.", 500))
            if not started:
                await response(scope, receive, send)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="CareLoop care-team API", version="1",
                  description="Patients, medications and schedules, dose history, readings, "
                              "alerts, advice and enrolment codes of one care team. "
                              "Authenticate with `Authorization: Bearer <API token>`.",
                  docs_url=None, redoc_url=None, openapi_url="/api/v1/openapi.json")
    # The cookie holds the CSRF token, a flash message and the id of a server-side session
    # (`sessions.start_session`): copying it is no use once that session ends.
    app.add_middleware(SessionMiddleware, secret_key=secret_key(settings),
                       session_cookie="careloop_session", max_age=settings.session_minutes * 60,
                       same_site="strict", https_only=settings.secure_cookies)
    if settings.trusted_proxies:  # else X-Forwarded-For is anyone's claim, and ignored
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    for exc_class, handler in HANDLERS.items():
        app.add_exception_handler(exc_class, handler)
    app.include_router(api.router)
    app.include_router(observations_api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return _docs(app)

    app.include_router(operations.router)

    # Added last, so outermost: they see every request first, and every answer (a 413,
    # 503 or 500 too) leaves with the security headers.
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes,
                       larger={pages.UPLOAD_PATH: settings.max_upload_bytes})
    app.add_middleware(Failures)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(Traced)  # outermost: every line the request logs has its trace
    return app


def server_app() -> FastAPI:
    """The app as a server process runs it (uvicorn's factory). What the imports and the
    app made lives as long as the process: frozen out of the cyclic collector's full
    scans (about 190,000 objects, ~100 ms a scan, every few requests of a busy patient
    list otherwise)."""
    app = create_app()
    gc.collect()
    gc.freeze()
    return app
