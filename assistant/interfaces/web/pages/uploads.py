"""Console: a file of readings uploaded on the patient page (an Apple Health export.zip or
export.xml, a CSV, a FHIR JSON document), stored through `services.imports`.

The body is parsed as it arrives and the file spooled to disk (Starlette's multipart
parser keeps at most 1 MB of it in memory), under its own size cap
(`CARELOOP_MAX_UPLOAD_BYTES`, 1 GiB by default) instead of the 1 MB of other requests. It
is then copied, in chunks, to a file named by its kind in a private temporary folder that
is removed afterwards; the answer counts what was stored, already stored and refused, with
the first refusals and their reasons.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import Request
from fastapi.responses import Response
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from assistant.errors import InvalidInput
from assistant.interfaces.web.deps import CSRF, DB, ConsoleCaller, Id
from assistant.interfaces.web.pages.common import render, router
from assistant.services import imports, patients
from assistant.storage.db import utcnow
from assistant.storage.models import Patient

UPLOAD_PATH = "/patients/{patient_id}/readings/upload"
KINDS = (".zip", ".xml", ".csv", ".json")


@router.post(UPLOAD_PATH, dependencies=[CSRF])
async def upload(request: Request, db: DB, caller: ConsoleCaller, patient_id: Id) -> Response:
    patient = patients.get_patient(db, patient_id, team_id=caller.team_id)
    sent = (await request.form()).get("file")
    if not isinstance(sent, UploadFile) or not sent.filename:
        raise InvalidInput("file: choose a file to upload")
    # Only the kind is taken from the name the browser sent, never a path.
    suffix = Path(sent.filename).suffix.lower()
    if suffix not in KINDS:
        raise InvalidInput("file: give an Apple Health export (.zip or .xml), a CSV (.csv) "
                           "or a FHIR document (.json)")
    # Copying and storing block: in a worker thread, so the console keeps answering.
    summary = await run_in_threadpool(_store, db, patient, sent, suffix, caller.actor)
    await sent.close()
    return render(request, "upload.html", caller, patient=patient, summary=summary)


def _store(db: Session, patient: Patient, sent: UploadFile, suffix: str,
           actor: str) -> imports.Summary:
    with tempfile.TemporaryDirectory(prefix="careloop-upload-") as folder:
        path = Path(folder) / f"upload{suffix}"
        with path.open("wb") as copy:
            shutil.copyfileobj(sent.file, copy, 1024 * 1024)
        return imports.store_file(db, patient=patient, path=path, actor=actor, now=utcnow())
