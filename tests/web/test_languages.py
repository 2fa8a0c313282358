"""The console and the patient's language: the list and the patient's page show it, the
profile chooses it among the languages CareLoop speaks (each named in itself), the advice
library shows which translations an item lacks and takes them (a refused one is kept as
typed), the medication label takes its Spanish texts, and the team's messages go out as
written."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlmodel import select

from assistant.services import advice
from assistant.storage.db import session
from assistant.storage.models import (
    AdviceItem,
    ChatLink,
    Medication,
    MessageKind,
    OutboxMessage,
    Patient,
)
from tests.web.conftest import Team, login
from tests.web.test_forms_keep_input import refused


def _profile(patient_id: int, **changes: str) -> dict[str, str]:
    return {"display_name": "Ana", "timezone": "Europe/Berlin", "language": "en",
            "advice_per_day": "1", "status": "active", **changes} | {"patient_id": ""}


def test_the_console_shows_and_changes_a_patients_language(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    url = f"/patients/{north.patient_id}"
    page = client.get(url).text
    assert '<dt>Language</dt><dd lang="en">English</dd>' in page
    select_box = re.search(r'<select id="profile-language".*?</select>', page, re.S)
    assert select_box is not None
    assert re.findall(r'<option value="(\w+)"[^>]*>([^<]+)', select_box.group(0)) == [
        ("en", "English"), ("es", "español")]
    form = {"csrf": csrf, **_profile(north.patient_id, language="es")}
    assert client.post(f"{url}/profile", data=form).status_code == 200
    page = client.get(url).text
    assert '<dt>Language</dt><dd lang="es">español</dd>' in page
    assert '<span lang="es">español</span>' in client.get("/patients").text
    # A language CareLoop does not speak is refused, the form kept as sent.
    answer = client.post(f"{url}/profile", data={**form, "language": "de",
                                                 "display_name": "Ana María"})
    refused(answer, "profile", "language", "Ana María")
    assert '<option value="de" selected>Deutsch</option>' in answer.text
    with session() as db:
        patient = db.get(Patient, north.patient_id)
        assert patient is not None and (patient.language, patient.display_name) == ("es", "Ana")


def test_the_advice_library_takes_translations_and_shows_the_missing(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, south = teams
    csrf = login(client, north.clinician.email)
    with session() as db:
        item = advice.save_advice(db, north.id, title="Carbs", body="Fewer sweet drinks.",
                                  tags=[], actor="test")
        db.commit()
        item_id = item.id
    page = client.get("/advice").text
    assert re.search(rf'data-testid="missing-{item_id}">No translation in '
                     r'<span lang="es">español</span>: patients speaking it are sent the '
                     r'English', page)
    url = f"/advice/{item_id}/translation"
    answer = client.post(url, data={"csrf": csrf, "language": "es", "title": "",
                                    "body": "Menos bebidas azucaradas."})
    refused(answer, f"advice-{item_id}-es", "title")
    assert ">Menos bebidas azucaradas.</textarea>" in answer.text
    assert '<details class="translation" open>' in answer.text
    saved = client.post(url, data={"csrf": csrf, "language": "es", "title": "Azúcar",
                                   "body": "Menos bebidas azucaradas."})
    assert saved.status_code == 200 and "Advice saved in español." in saved.text
    assert "Translated into every language the assistant speaks." in saved.text
    assert 'value="Azúcar"' in saved.text
    with session() as db:
        stored = db.get(AdviceItem, item_id)
        assert stored is not None and stored.translations["es"]["title"] == "Azúcar"
    # Another team's item is not this team's to translate.
    other = login(client, south.clinician.email)
    assert client.post(url, data={"csrf": other, "language": "es", "title": "X",
                                  "body": "Y"}).status_code == 404


def test_the_advice_api_takes_translations(client: TestClient,
                                          teams: tuple[Team, Team]) -> None:
    north, _ = teams
    made = client.post("/api/v1/advice", headers=north.admin.headers,
                       json={"title": "Carbs", "body": "Fewer sweet drinks."})
    assert made.status_code == 201 and made.json()["translations"] == {}
    url = f"/api/v1/advice/{made.json()['id']}/translations"
    done = client.put(f"{url}/es", headers=north.admin.headers,
                      json={"title": "Azúcar", "body": "Menos bebidas azucaradas."})
    assert done.status_code == 200, done.text
    assert done.json()["translations"] == {"es": {"title": "Azúcar",
                                                  "body": "Menos bebidas azucaradas."}}
    assert client.put(f"{url}/fr", headers=north.admin.headers,
                      json={"title": "Sucre", "body": "Moins."}).status_code == 422


def test_the_medication_label_takes_its_spanish_texts(client: TestClient,
                                                     teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    url = f"/patients/{north.patient_id}/medications/{north.medication_id}/label"
    label = {"csrf": csrf, "name": "Metformin", "strength": "500 mg", "dose": "1 tablet",
             "instructions": "with food", "purpose": "for blood sugar"}
    key = f"med-{north.medication_id}-label"
    answer = client.post(url, data={**label, "instructions_es": "con comida",
                                    "purpose_es": "x" * 501})
    refused(answer, key, "purpose_es", "con comida")
    saved = client.post(url, data={**label, "instructions_es": "con comida",
                                   "purpose_es": "para el azúcar"})
    assert saved.status_code == 200
    page = client.get(f"/patients/{north.patient_id}").text
    assert re.search(rf'id="{key}-instructions_es" name="instructions_es" lang="es" '
                     r'value="con comida"', page)
    assert f'<label for="{key}-purpose_es">Purpose in español</label>' in page
    with session() as db:
        med = db.get(Medication, north.medication_id)
        assert med is not None and med.name == "Metformin" and med.translations == {
            "es": {"instructions": "con comida", "purpose": "para el azúcar"}}


def test_the_teams_message_goes_to_a_spanish_patient_as_written(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    with session() as db:
        patient = db.get(Patient, north.patient_id)
        assert patient is not None
        patient.language = "es"
        db.add(ChatLink(patient_id=north.patient_id, channel="telegram", chat_id="4242"))
        db.commit()
    written = "Hola Ana, ¿cómo va la tensión? Take it as before."
    assert client.post(f"/patients/{north.patient_id}/reply",
                       data={"csrf": csrf, "text": written}).status_code == 200
    with session() as db:
        sent = db.exec(select(OutboxMessage).where(
            OutboxMessage.kind == MessageKind.reply)).one()
        assert written in sent.text
