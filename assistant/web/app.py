"""The care-team web application: the console (server-rendered pages, session cookie
with CSRF tokens) and the REST API (`/api/v1`, API tokens) on one FastAPI app."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from assistant.errors import InvalidInput, NotFound
from assistant.settings import Settings, get_settings
from assistant.web import api, pages
from assistant.web.auth import TooManyAttempts, secret_key
from assistant.web.deps import LoginRequired

# "field: reason", the field dotted and indexed as in "readings.1.value" or
# "dosageInstruction[0].timing.repeat.period".
_FIELD = re.compile(r"^([\w.\[\]]+): (.+)$", re.S)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _invalid(request: Request, exc: Exception) -> Response:
    """422 with the field and the reason, as FastAPI's own validation errors are."""
    if not _is_api(request):
        return pages.show_error(request, str(exc))
    match = _FIELD.match(str(exc))
    loc, msg = (["body", *_path(match.group(1))], match.group(2)) if match else (
        ["body"], str(exc))
    return JSONResponse({"detail": [{"loc": loc, "msg": msg, "type": "value_error"}]}, 422)


def _path(field: str) -> list[str | int]:
    """'readings.1.value' -> ['readings', 1, 'value']: list positions are numbers, as in
    FastAPI's own validation errors."""
    return [int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", field)]


def _not_found(request: Request, exc: Exception) -> Response:
    if not _is_api(request):
        return pages.show_error(request, str(exc), status=404)
    return JSONResponse({"detail": str(exc)}, 404)


def _too_many(request: Request, exc: Exception) -> Response:
    if not _is_api(request):
        return pages.show_error(request, str(exc), status=429)
    return JSONResponse({"detail": str(exc)}, 429)


def _login(request: Request, exc: Exception) -> Response:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="CareLoop care-team API", version="1",
                  description="Patients, medications and schedules, dose history, readings, "
                              "alerts, advice and enrolment codes of one care team. "
                              "Authenticate with `Authorization: Bearer <API token>`.",
                  docs_url="/api/docs", redoc_url=None, openapi_url="/api/v1/openapi.json")
    app.add_middleware(SessionMiddleware, secret_key=secret_key(settings),
                       session_cookie="careloop_session", max_age=settings.session_minutes * 60,
                       same_site="strict", https_only=settings.secure_cookies)
    handlers: dict[Any, Any] = {InvalidInput: _invalid, NotFound: _not_found,
                                TooManyAttempts: _too_many, LoginRequired: _login}
    for exc_class, handler in handlers.items():
        app.add_exception_handler(exc_class, handler)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")

    @app.get("/healthz", include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
