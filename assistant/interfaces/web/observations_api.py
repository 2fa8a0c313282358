"""`POST /api/v1/patients/{id}/observations`: FHIR R4 Observations from a device, a hub or
an EHR (`application/fhir+json` or `application/json`), for one of the caller's team's
patients.

A lone Observation is stored, or refused with a 422 naming the element. A Bundle
(collection, batch or transaction) answers 200 with every entry accepted (its reading's id;
`duplicate` when it was already stored) or refused (its index and why): a bad entry never
drops the good ones, which are stored together in one unit of work.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel

from assistant.errors import InvalidInput
from assistant.interfaces.web.deps import DB, ApiCaller, Id, api_caller
from assistant.interfaces.web.jsonbody import StrictJSONRoute
from assistant.services import observations, patients

router = APIRouter(prefix="/api/v1", dependencies=[Depends(api_caller)],
                   route_class=StrictJSONRoute)

_EXAMPLE = {"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
            "effectiveDateTime": "2027-03-01T07:30:00+01:00",
            "valueQuantity": {"value": 81.4, "unit": "kg",
                              "system": "http://unitsofmeasure.org", "code": "kg"},
            "identifier": [{"system": "urn:scale:a1", "value": "7781"}],
            "device": {"display": "Scale A1"}}


class Accepted(BaseModel):
    index: int
    id: int
    duplicate: bool


class Refused(BaseModel):
    index: int
    reason: str


class ObservationsOut(BaseModel):
    accepted: list[Accepted]
    refused: list[Refused]


@router.post("/patients/{patient_id}/observations", response_model=ObservationsOut,
             tags=["readings"], openapi_extra={"requestBody": {"content": {
                 "application/fhir+json": {"schema": {"type": "object"}}}}})
def add_observations(db: DB, caller: ApiCaller, patient_id: Id,
                     document: Annotated[dict[str, Any], Body(examples=[_EXAMPLE])]
                     ) -> ObservationsOut:
    """A FHIR R4 Observation or a Bundle of them (vital-signs LOINC codes, UCUM units)."""
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    outcome = observations.receive(db, patient=patient, document=document,
                                   actor=caller.actor)
    if document.get("resourceType") == "Observation" and outcome.refused:
        raise InvalidInput(outcome.refused[0][1])
    return ObservationsOut(
        accepted=[Accepted(index=i, id=n, duplicate=d) for i, n, d in outcome.accepted],
        refused=[Refused(index=i, reason=r) for i, r in outcome.refused])
