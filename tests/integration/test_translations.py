"""Advice and medication labels in the patient's language: the library holds a text per
language, a missing translation is said in English, the generic items come in Spanish;
the team's medication label texts may have a translation, the name and dose never do;
a patient's language is one CareLoop speaks; `careloop demo --language es` seeds a
Spanish-speaking demo patient."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from assistant.config import get_settings
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.errors import InvalidInput
from assistant.interfaces import demo
from assistant.interfaces.cli import app
from assistant.scheduling.advice_planner import plan_advice
from assistant.services import advice, medications, patients, teams
from assistant.storage.db import session
from assistant.storage.models import AdviceItem, Medication, OutboxMessage, Patient

TEN_AM_BERLIN = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)


def _patient(db: Session, language: str) -> Patient:
    team = teams.add_team(db, name=f"Ward of {language}", actor="test")
    patient = patients.add_patient(db, team=team, name="Ana", timezone="Europe/Berlin",
                                   actor="test", language=language, conditions=["diabetes"])
    db.commit()
    return patient


def test_the_generic_advice_is_sent_in_spanish_to_a_spanish_patient(any_db: Session) -> None:
    spanish, english = _patient(any_db, "es"), _patient(any_db, "en")
    for patient in (spanish, english):
        patient.advice_per_day = 1
    any_db.commit()
    assert plan_advice(any_db, now=TEN_AM_BERLIN) == 2
    sent = {m.patient_id: m.text for m in any_db.exec(select(OutboxMessage))}
    assert sent[spanish.id] == ("💡 Un paseo corto\nUn paseo de 10 minutos después de comer "
                                "le sienta bien a la mayoría de las personas. Pregunte a su "
                                "equipo de atención qué actividad le conviene.")
    assert sent[english.id].startswith("💡 A short walk\nA 10-minute walk")
    generic = any_db.exec(select(AdviceItem).where(col(AdviceItem.team_id).is_(None))).all()
    assert len(generic) == 6 and all(advice.missing(item) == [] for item in generic)


def test_a_team_item_without_a_translation_is_sent_in_english_until_one_is_added(
        db: Session) -> None:
    patient = _patient(db, "es")
    item = advice.save_advice(db, patient.team_id, title="Carbs", body="Fewer sweet drinks.",
                              tags=["diabetes"], actor="test")
    assert advice.missing(item) == ["es"]
    assert advice.give(db, patient) == "💡 Carbs\nFewer sweet drinks."
    advice.save_translation(db, item, language="es", title="Azúcar",
                            body="Menos bebidas azucaradas.", actor="test")
    db.commit()
    db.refresh(item)
    assert advice.missing(item) == []
    assert item.translations == {"es": {"title": "Azúcar", "body": "Menos bebidas azucaradas."}}
    assert advice.give(db, patient) == "💡 Azúcar\nMenos bebidas azucaradas."
    # Both left empty: removed, and the English is said again.
    advice.save_translation(db, item, language="es", title=" ", body="", actor="test")
    db.commit()
    db.refresh(item)
    assert advice.missing(item) == ["es"] and item.translations == {}


@pytest.mark.parametrize(("language", "title", "body", "field"), [
    ("de", "Titel", "Text", "language"), ("en", "Carbs", "Text", "language"),
    ("es", "", "Menos bebidas.", "title"), ("es", "Azúcar", "x" * 2001, "body")])
def test_a_translation_is_checked(db: Session, language: str, title: str, body: str,
                                  field: str) -> None:
    patient = _patient(db, "es")
    item = advice.save_advice(db, patient.team_id, title="Carbs", body="Fewer sweet drinks.",
                              tags=[], actor="test")
    with pytest.raises(InvalidInput, match=rf"^{field}\b"):
        advice.save_translation(db, item, language=language, title=title, body=body,
                                actor="test")
    assert item.translations == {}


def test_a_label_text_is_said_in_the_patients_language_when_translated(db: Session) -> None:
    patient = _patient(db, "es")
    med = medications.add_medication(
        db, patient=patient, name="Metformin", strength="500 mg", instructions="with food",
        purpose="Lowers blood sugar.", schedule=ScheduleSpec(times=("08:00",)), actor="test")
    medications.translate_label(db, med, "es", {"instructions": "con comida"}, actor="test")
    db.commit()
    assert medications.label_text(med, "instructions", "es") == "con comida"
    assert medications.label_text(med, "instructions", "es-MX") == "con comida"
    assert medications.label_text(med, "purpose", "es") == "Lowers blood sugar."  # not yet
    assert medications.label_text(med, "instructions", "en") == "with food"
    medications.translate_label(db, med, "es", {"purpose": "Baja el azúcar en sangre."},
                                actor="test")
    assert med.translations == {"es": {"instructions": "con comida",
                                       "purpose": "Baja el azúcar en sangre."}}
    assert med.label == "Metformin 500 mg"   # as prescribed, in every language
    with pytest.raises(InvalidInput, match="^name: "):
        medications.translate_label(db, med, "es", {"name": "Metformina"}, actor="test")
    with pytest.raises(InvalidInput, match="^language: "):
        medications.translate_label(db, med, "fr", {"purpose": "Sucre"}, actor="test")


def test_a_patients_language_is_one_careloop_speaks(db: Session) -> None:
    patient = _patient(db, "ES-mx")
    assert patient.language == "es"
    with pytest.raises(InvalidInput, match="^language: one of en, es"):
        patients.update_profile(db, patient, {"language": "de"}, actor="test")
    patients.update_profile(db, patient, {"language": "en"}, actor="test")
    assert patient.language == "en"


def test_the_spanish_demo_seeds_a_spanish_patient(db_url: str) -> None:
    """`careloop demo --language es` seeds: Sam speaks Spanish, the labels have their
    Spanish; started again in English, the same Sam speaks English."""
    demo.seed(get_settings(), "es")
    with session() as db:
        [sam] = db.exec(select(Patient)).all()
        assert (sam.display_name, sam.language) == ("Sam", "es")
        meds = {m.name: m for m in db.exec(select(Medication))}
        assert medications.label_text(meds["Metformin"], "instructions", sam.language) == (
            "con comida")
        assert medications.label_text(meds["Lisinopril"], "purpose", sam.language) == (
            "Baja la tensión arterial y protege los riñones.")
    demo.seed(get_settings(), "en")
    with session() as db:
        assert [p.language for p in db.exec(select(Patient))] == ["en"]


def test_the_demo_refuses_a_language_careloop_does_not_speak(db_url: str) -> None:
    result = CliRunner().invoke(app, ["demo", "--language", "fr"])
    assert result.exit_code == 2 and "--language: one of en, es" in result.output
    with session() as db:
        assert db.exec(select(Patient)).all() == []   # nothing seeded, nothing started
