"""What the console's pages share: the one router their routes join, the templates, the
form field types, rendering a page, going back after a form, and showing an error (the
app's error mapping uses it too)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from assistant import texts
from assistant.domain import schedules
from assistant.interfaces.web import timefmt
from assistant.interfaces.web.deps import csrf_token
from assistant.services import accounts
from assistant.texts.formats import language_name

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent.parent / "templates")
templates.env.globals["max_every_n_days"] = schedules.MAX_EVERY_N_DAYS
timefmt.register(templates.env)   # |local |ago |when |iso: see timefmt.py


templates.env.filters["language"] = language_name   # {{ patient.language|language }}
templates.env.globals["languages"] = lambda: [(c, language_name(c)) for c in texts.languages()]
Text = Annotated[str, Form()]
OptText = Annotated[str, Form()]


def render(request: Request, name: str, caller: accounts.Caller | None = None,
           code: int = 200, **context: Any) -> HTMLResponse:
    flash = request.session.pop("flash", None)
    return templates.TemplateResponse(request, name, {
        "me": caller.member if caller else None, "csrf": csrf_token(request),
        "flash": flash, **context}, status_code=code)


def back(request: Request, message: str | None = None, to: str | None = None,
         anchor: str | None = None) -> Response:
    """After a form: back to the page it came from (same site only: its path and query,
    so a list's filters and page stay), with a message, at `anchor` (an element's id; an
    alert's card by default when the form was about an alert, on an error too)."""
    if message:
        request.session["flash"] = message
    came = urlparse(request.headers.get("referer", ""))
    target = to or (came.path + (f"?{came.query}" if came.query else "")) or "/patients"
    if not target.startswith("/") or target.startswith("//"):
        target = "/patients"
    alert_id = request.path_params.get("alert_id")
    anchor = anchor or (f"alert-{alert_id}" if alert_id and target.startswith("/alerts")
                        else None)
    return RedirectResponse(target + (f"#{anchor}" if anchor else ""), status_code=303)


def show_error(request: Request, message: str, status: int = 422) -> Response:
    if request.method == "POST" and status == 422:
        return back(request, f"Not saved: {message}")
    return render(request, "error.html", code=status, message=message)


def comma_list(text: str) -> list[str]:
    """A form's comma-separated field as a list, blanks dropped."""
    return [part.strip() for part in text.split(",") if part.strip()]


def client_address(request: Request) -> str:
    """The caller's address: the peer's, or the one a trusted proxy forwarded."""
    return request.client.host if request.client else "unknown"
