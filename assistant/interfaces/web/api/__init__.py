"""The REST API, `/api/v1`: a member's API token sees only their own team's patients.

Every read or change of patient data is written to the audit log. Bad input is a 422
naming the field; nothing is half-written (one unit of work per request). One module per
resource, each adding its routes to the one router of `common`: patients, medications,
doses (with readings), alerts, advice, team, targets (monitoring).
"""

from assistant.interfaces.web.api import (
    advice,
    alerts,
    doses,
    medications,
    patients,
    targets,
    team,
)
from assistant.interfaces.web.api.common import router

RESOURCES = (patients, medications, doses, alerts, advice, team, targets)
__all__ = ["RESOURCES", "router"]
