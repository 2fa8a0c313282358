"""The REST API, `/api/v1`: a member's API token sees only their own team's patients.

Every read or change of patient data is written to the audit log. Bad input is a 422
naming the field; nothing is half-written (one unit of work per request). One module per
resource: patients, medications, doses (with readings), alerts, advice, team.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assistant.interfaces.web.api import advice, alerts, doses, medications, patients, team
from assistant.interfaces.web.deps import api_caller
from assistant.interfaces.web.jsonbody import StrictJSONRoute

router = APIRouter(prefix="/api/v1", dependencies=[Depends(api_caller)],
                   route_class=StrictJSONRoute)
for resource in (patients, medications, doses, alerts, advice, team):
    router.include_router(resource.router)
