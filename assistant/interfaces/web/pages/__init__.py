"""The care-team console: server-rendered pages, no front-end build step.

Every form carries the session's CSRF token; every page about a patient writes an
audit entry; a member sees only their own team. One module per group of pages: login,
patients, medications, alerts, advice, team, account.
"""

from __future__ import annotations

from fastapi import APIRouter

from assistant.interfaces.web.pages import (
    account,
    advice,
    alerts,
    login,
    medications,
    patients,
    team,
)

router = APIRouter(include_in_schema=False)
for group in (login, patients, medications, alerts, advice, team, account):
    router.include_router(group.router)
