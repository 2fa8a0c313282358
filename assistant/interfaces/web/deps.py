"""What every route needs: a unit of work, the caller, and (console) a CSRF check."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from assistant.config import get_settings
from assistant.errors import Forbidden
from assistant.services.accounts import Caller
from assistant.services.sessions import member_for_session, member_for_token
from assistant.storage.db import session


def _db() -> Iterator[Session]:
    # Ends (commits, or rolls back on error) before the response is sent.
    with session() as db:
        yield db


# Row ids as the database can hold them: anything else is a 422, not a crash.
MAX_ID = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=MAX_ID)]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
DB = Annotated[Session, Depends(_db, scope="function")]
_bearer = HTTPBearer(auto_error=False, description="An API token from the console's "
                                                   "'API tokens' page or `careloop member token`")


def api_caller(db: DB, credentials: Annotated[HTTPAuthorizationCredentials | None,
                                              Depends(_bearer)]) -> Caller:
    member = member_for_token(db, credentials.credentials) if credentials else None
    if member is None:
        raise HTTPException(401, "a valid API token is required",
                            headers={"WWW-Authenticate": "Bearer"})
    return Caller(member)


ApiCaller = Annotated[Caller, Depends(api_caller)]


class LoginRequired(Exception):
    """No (or an expired) console session: the handler redirects to the login page."""


def console_caller(request: Request, db: DB) -> Caller:
    """The member whose live server-side session the cookie names."""
    member = member_for_session(db, get_settings(), request.session.get("sid"))
    if member is None:
        request.session.clear()
        raise LoginRequired()
    return Caller(member)


ConsoleCaller = Annotated[Caller, Depends(console_caller)]


def require_admin(caller: Caller) -> Caller:
    if not caller.is_admin:
        raise Forbidden("only a team admin can do this")
    return caller


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def check_csrf(request: Request) -> None:
    """Every console form posts the session's CSRF token back."""
    sent = (await request.form()).get("csrf")
    expected = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(expected, str) or not secrets.compare_digest(
            sent, expected):
        raise Forbidden("the form has expired; go back, reload the page and try again")


CSRF = Depends(check_csrf)
