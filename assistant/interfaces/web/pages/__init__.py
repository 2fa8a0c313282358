"""The care-team console: server-rendered pages, no front-end build step.

Every form carries the session's CSRF token; every page about a patient writes an
audit entry; a member sees only their own team. One module per group of pages, each
adding its routes to the one router of `common`: login, patients, medications, alerts,
advice, team, account.
"""

from assistant.interfaces.web.pages import (
    account,
    advice,
    alerts,
    login,
    medications,
    patients,
    team,
)
from assistant.interfaces.web.pages.common import router

GROUPS = (login, patients, medications, alerts, advice, team, account)
__all__ = ["GROUPS", "router"]
