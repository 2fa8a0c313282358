"""Console: logging in and out."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from assistant.config import get_settings
from assistant.interfaces.web.deps import CSRF, DB
from assistant.interfaces.web.pages.common import OptText, Text, client_address, render, router
from assistant.services import accounts, sessions


@router.get("/login")
def login_page(request: Request, next: str = "/patients") -> Response:
    return render(request, "login.html", next=next if next.startswith("/") else "/patients")


@router.post("/login", dependencies=[CSRF])
def login(request: Request, db: DB, email: Text, password: Text,
          next: OptText = "/patients") -> Response:
    settings = get_settings()
    member = accounts.login(db, settings, email=email, password=password,
                            address=client_address(request))
    if member is None:
        return render(request, "login.html", code=401, next=next, email=email,
                      error="Wrong email or password.")
    request.session.clear()  # a new session (and CSRF token) for whoever logs in
    request.session["sid"] = sessions.start_session(db, settings, member)
    return RedirectResponse(next if next.startswith("/") and not next.startswith("//")
                            else "/patients", status_code=303)


@router.post("/logout", dependencies=[CSRF])
def logout(request: Request, db: DB) -> Response:
    sessions.end_session(db, request.session.get("sid"))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


@router.get("/")
def home() -> Response:
    return RedirectResponse("/patients", status_code=303)
