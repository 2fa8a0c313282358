"""The one mapping of CareLoop's error tree (assistant/errors.py) to HTTP: a status per kind
of error, answered as JSON on the API (`{"detail": ...}`; a 422 names the field as FastAPI's
own validation errors do) and as the console's error page (or, after a form, back to it with
the message). Also FastAPI's own 422 without the input it would echo back, and the console's
redirect to the login page."""

from __future__ import annotations

import re

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response

from assistant.errors import (
    CareLoopError,
    EnrolmentRefused,
    Forbidden,
    InvalidInput,
    NotFound,
    TooManyAttempts,
)
from assistant.interfaces.web.deps import LoginRequired
from assistant.interfaces.web.pages.common import show_error

# The most specific kind first: the first the error is an instance of gives the status.
STATUS: tuple[tuple[type[CareLoopError], int], ...] = (
    (InvalidInput, 422),
    (NotFound, 404),
    (Forbidden, 403),
    (EnrolmentRefused, 403),
    (TooManyAttempts, 429),
    (CareLoopError, 400),
)
# Error messages may quote what was sent: never more than this of it.
MESSAGE_CHARS = 300
# "field: reason", the field dotted and indexed as in "readings.1.value" or
# "dosageInstruction[0].timing.repeat.period".
_FIELD = re.compile(r"^([\w.\[\]]+): (.+)$", re.S)


def status_of(exc: CareLoopError) -> int:
    return next(status for kind, status in STATUS if isinstance(exc, kind))


def careloop_error(request: Request, exc: Exception) -> Response:
    """Any error of the tree, as its status says."""
    assert isinstance(exc, CareLoopError)  # registered for CareLoopError only
    status, message = status_of(exc), _short(str(exc))
    if not request.url.path.startswith("/api/"):
        return show_error(request, message, status=status)
    if status != 422:
        return JSONResponse({"detail": message}, status)
    match = _FIELD.match(str(exc))
    loc, msg = (["body", *_path(match.group(1))], match.group(2)) if match else (
        ["body"], str(exc))
    return JSONResponse({"detail": [{"loc": loc, "msg": _short(msg), "type": "value_error"}]},
                        422)


def request_invalid(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, without the `input` (and `ctx`) it would echo back: what was sent
    may be megabytes, or health data."""
    assert isinstance(exc, RequestValidationError)  # registered for it only
    return JSONResponse({"detail": [
        {"loc": list(error["loc"]), "msg": _short(str(error["msg"])), "type": error["type"]}
        for error in exc.errors()]}, 422)


def login_required(request: Request, exc: Exception) -> Response:
    return RedirectResponse(f"/login?next={request.url.path}", status_code=303)


HANDLERS = {CareLoopError: careloop_error, RequestValidationError: request_invalid,
            LoginRequired: login_required}


def _short(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS] + "…"


def _path(field: str) -> list[str | int]:
    """'readings.1.value' -> ['readings', 1, 'value']: list positions are numbers, as in
    FastAPI's own validation errors."""
    return [int(part) if part.isdigit() else part for part in re.findall(r"[^.\[\]]+", field)]
