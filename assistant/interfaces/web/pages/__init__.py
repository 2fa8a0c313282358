"""The care-team console: server-rendered pages, no front-end build step.

Every form carries the session's CSRF token; every page about a patient writes an
audit entry; a member sees only their own team. One module per group of pages, each
adding its routes to the one router of `common`: login, patients, medications, alerts,
advice, team, account, uploads.
"""

from assistant.interfaces.web.pages import (
    account,
    advice,
    alerts,
    login,
    medications,
    patients,
    team,
    uploads,
)
from assistant.interfaces.web.pages.common import router
from assistant.interfaces.web.pages.uploads import UPLOAD_PATH

GROUPS = (login, patients, medications, alerts, advice, team, account, uploads)
__all__ = ["GROUPS", "UPLOAD_PATH", "router"]
