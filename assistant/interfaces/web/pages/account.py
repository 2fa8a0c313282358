"""Console: a member's password, API tokens and linked Telegram chat (for escalated
alerts), and the team's audit log."""

from __future__ import annotations

import csv
import io
from datetime import date
from urllib.parse import urlencode

from fastapi import Query, Request
from fastapi.responses import Response

from assistant.channels import registry
from assistant.config import get_settings
from assistant.errors import InvalidInput, NotFound
from assistant.interfaces.web.deps import CSRF, DB, MAX_ID, ConsoleCaller, Id, require_admin
from assistant.interfaces.web.pages.common import Text, back, client_address, render, router
from assistant.services import accounts, audit, audit_log, member_chats, sessions, teams
from assistant.storage.db import utcnow
from assistant.storage.models import ApiToken


@router.get("/tokens")
def tokens_page(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    return render(request, "tokens.html", caller, tokens=sessions.tokens(db, caller.member.id),
                  chat_linked=member_chats.chat_of(db, caller.member.id) is not None)


@router.post("/account/chat", dependencies=[CSRF])
def chat_code(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    """A one-time code the member sends to the bot as `/start CODE` to link their chat."""
    code, expires_at = member_chats.issue_code(db, member=caller.member, actor=caller.actor)
    return render(request, "tokens.html", caller, tokens=sessions.tokens(db, caller.member.id),
                  chat_linked=member_chats.chat_of(db, caller.member.id) is not None,
                  chat_code=code, chat_code_expires=expires_at,
                  chat_link=registry.enrolment_link(get_settings(), code))


@router.post("/account/chat/unlink", dependencies=[CSRF])
def chat_unlink(request: Request, db: DB, caller: ConsoleCaller) -> Response:
    member_chats.unlink(db, member_id=caller.member.id, actor=caller.actor)
    return back(request, "Your Telegram chat no longer gets escalated alerts.")


@router.post("/account/password", dependencies=[CSRF])
def password_change(request: Request, db: DB, caller: ConsoleCaller, current: Text,
                    password: Text, repeat: Text) -> Response:
    """A member's new password; their other sessions end, this one goes on."""
    member = caller.member
    if accounts.verify(db, get_settings(), email=member.email, password=current,
                   address=client_address(request)) is None:
        raise InvalidInput("current password: wrong password; nothing was changed")
    if password != repeat:
        raise InvalidInput("the two new passwords differ; type the same one twice")
    accounts.set_password(db, member, password, actor=caller.actor,
                      keep_session=request.session.get("sid"))
    return back(request, "Password changed. You were logged out everywhere else.")


@router.post("/tokens", dependencies=[CSRF])
def token_add(request: Request, db: DB, caller: ConsoleCaller, name: Text) -> Response:
    token = sessions.issue_token(db, caller.member, name=name, actor=caller.actor)
    return render(request, "tokens.html", caller, tokens=sessions.tokens(db, caller.member.id),
                  chat_linked=member_chats.chat_of(db, caller.member.id) is not None,
                  new_token=token)


def _token(db: DB, caller: ConsoleCaller, token_id: int) -> ApiToken:
    token = db.get(ApiToken, token_id)
    if token is None or token.member_id != caller.member.id:
        raise NotFound("no such token")
    return token


@router.get("/tokens/{token_id}/revoke")
def token_revoke_page(request: Request, db: DB, caller: ConsoleCaller,
                      token_id: Id) -> Response:
    """The confirmation step: what revoking the token stops."""
    token = _token(db, caller, token_id)
    used = f"last used {token.last_used_at:%Y-%m-%d %H:%M} UTC" if token.last_used_at \
        else "never used"
    return render(request, "confirm.html", caller, title=f"Revoke the token “{token.name}”?",
                  what=[f"Anything that calls the API with it ({used}) is refused from now "
                        "on. This cannot be undone: a new token would have to be created "
                        "and given to it."],
                  action=f"/tokens/{token.id}/revoke", button=f"Revoke “{token.name}”",
                  cancel="/tokens")


@router.post("/tokens/{token_id}/revoke", dependencies=[CSRF])
def token_revoke(request: Request, db: DB, caller: ConsoleCaller, token_id: Id) -> Response:
    token = _token(db, caller, token_id)
    token.revoked_at = token.revoked_at or utcnow()
    db.add(token)
    audit.record(db, actor=caller.actor, action="token.revoke", detail=f"token {token.id}")
    return back(request, f"Token “{token.name}” revoked.", to="/tokens")


def _filter(member: str, patient: str, action: str, date_from: str, date_to: str
            ) -> tuple[audit_log.AuditFilter, dict[str, str]]:
    """The filter form's fields as typed (all optional), and a message per field refused."""
    errors: dict[str, str] = {}

    def number(text: str, field: str) -> int | None:
        if not text.strip():
            return None
        if text.strip().isdigit() and 0 < int(text) <= MAX_ID:
            return int(text)
        errors[field] = "a number such as 12"
        return None

    def day(text: str, field: str) -> date | None:
        try:
            return date.fromisoformat(text.strip()) if text.strip() else None
        except ValueError:
            errors[field] = "a date such as 2027-03-13"
            return None

    wanted = audit_log.AuditFilter(
        member_id=number(member, "member"), patient_id=number(patient, "patient"),
        action=action.strip()[:60] or None, date_from=day(date_from, "date_from"),
        date_to=day(date_to, "date_to"))
    if wanted.date_from and wanted.date_to and wanted.date_from > wanted.date_to:
        errors["date_to"] = "on or after the first day"
    return wanted, errors


@router.get("/audit")
@router.get("/audit.csv")
def audit_page(request: Request, db: DB, caller: ConsoleCaller, member: str = "",
               patient_id: str = "", action: str = "", date_from: str = "", date_to: str = "",
               page: int = Query(1, ge=1, le=MAX_ID), format: str = Query(
                   "html", pattern="^(html|csv)$")) -> Response:
    """The team's audit log, filtered and paged; `/audit.csv` (with the same query): the
    whole filtered set as a spreadsheet. Reading the log is itself in the log."""
    require_admin(caller)
    wanted, errors = _filter(member, patient_id, action, date_from, date_to)
    zone = teams.get_team(db, caller.team_id).timezone
    as_csv = format == "csv" or request.url.path.endswith(".csv")
    audit.record_read(db, actor=caller.actor, action="audit.export" if as_csv else "audit.view",
                      patient_id=wanted.patient_id, detail=request.url.query[:200])
    if as_csv:
        out = io.StringIO()
        csv.writer(out).writerows(audit_log.csv_rows(db, caller.team_id, wanted, zone=zone))
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="careloop-audit.csv"'})
    found = audit_log.page_of(db, caller.team_id, wanted, page=page, zone=zone)
    query = {k: v for k, v in request.query_params.items() if k not in ("page", "format")}
    return render(request, "audit.html", caller, log=found, zone=zone, errors=errors,
                  typed={"member": member, "patient_id": patient_id, "action": action,
                         "date_from": date_from, "date_to": date_to},
                  members=audit_log.members(db, caller.team_id),
                  actions=audit_log.actions(db, caller.team_id),
                  query=urlencode(query), csv_url="/audit.csv" + (
                      f"?{urlencode(query)}" if query else ""))
