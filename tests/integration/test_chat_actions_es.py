"""The custom actions answer a Spanish-speaking patient in Spanish (the patient's profile
language), with days, times and numbers in the Spanish form and medication names as
prescribed. The message words are English here: understanding Spanish is Rasa's (its
Spanish training data); what is tested is what the patient reads."""

from __future__ import annotations

from sqlmodel import select

import actions
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.services import medications, patients, teams
from assistant.storage.db import session
from assistant.storage.models import Patient, Reading
from assistant.texts import formats, t
from tests.conftest import noon_zone
from tests.integration.test_chat_actions import _local_day, run


def _spanish(zone: str, *meds: tuple[str, str, str | None]) -> Patient:
    """A Spanish-speaking patient in `zone` with (name, time, days) medications."""
    with session() as db:
        team = teams.add_team(db, name="Sala 9", actor="test")
        patient = patients.add_patient(db, team=team, name="Ana", timezone=zone,
                                       language="es", actor="test")
        for name, at, days in meds:
            medications.add_medication(db, patient=patient, name=name, actor="test",
                                       schedule=ScheduleSpec(times=(at,), days=days))
        return patient


async def test_tomorrows_plan_is_spanish_with_spanish_days(db_url: str) -> None:
    zone = noon_zone()
    tomorrow = _local_day(zone, 1)
    patient = _spanish(zone, ("Metformin", "20:00", None))
    said, _, _ = await run(actions.ActionAnswerSchedule, patient, "what do i take tomorrow",
                           "ask_schedule")
    title = t("plan.title_tomorrow", "es", date=formats.day(tomorrow, "es"))
    assert title.startswith("Mañana, ")
    assert said == [f"{title}:\n• 20:00 Metformin, 1 tablet"]


async def test_a_part_of_the_day_and_the_full_list_are_spanish(db_url: str) -> None:
    zone = noon_zone()
    patient = _spanish(zone, ("Metformin", "20:00", None), ("Alendronate", "07:00", "mon,wed"))
    said, _, _ = await run(actions.ActionAnswerSchedule, patient,
                           "what do i take this evening", "ask_schedule")
    assert said == ["Sus dosis de esta noche:\n• 20:00 Metformin, 1 tablet"]
    said, _, _ = await run(actions.ActionAnswerSchedule, patient, "list my medications",
                           "ask_schedule")
    assert said == [t("plan.list", "es", lines="\n".join([
        "• Alendronate, 1 tablet, " + t("plan.on_days", "es", times="07:00",
                                        days="lun, mié"),
        "• Metformin, 1 tablet, " + t("plan.every_day", "es", times="20:00")]))]


async def test_a_reading_is_confirmed_in_spanish_with_a_decimal_comma(db_url: str) -> None:
    patient = _spanish(noon_zone())
    said, _, _ = await run(actions.ActionLogMeasurement, patient, "sugar 6.5", "log_reading")
    assert said == [t("reading.saved", "es", reading="glucosa 6,5 mmol/L")]
    said, _, _ = await run(actions.ActionLogMeasurement, patient, "bp 135/85", "log_reading")
    assert said == ["Guardado: presión arterial 135/85 mmHg. Su equipo de salud puede verlo."]
    with session() as db:
        assert sorted(r.value for r in db.exec(select(Reading))) == [6.5, 135]


async def test_pause_and_an_unknown_dose_are_answered_in_spanish(db_url: str) -> None:
    patient = _spanish(noon_zone(), ("Metformin", "08:00", None))
    said, _, _ = await run(actions.ActionPauseReminders, patient, "pause", "pause_reminders")
    assert said == [t("reminders.paused", "es")]
    said, _, _ = await run(actions.ActionConfirmDose, patient, "took it", "confirm_dose")
    assert said == [t("dose.nothing_waiting", "es")]


async def test_the_teams_spanish_label_texts_are_what_a_spanish_patient_reads(
        db_url: str) -> None:
    patient = _spanish(noon_zone())
    with session() as db:
        med = medications.add_medication(
            db, patient=db.get(Patient, patient.id), name="Metformin", strength="500 mg",
            instructions="with food", purpose="Lowers blood sugar.", actor="test",
            schedule=ScheduleSpec(times=("20:00",)))
        medications.translate_label(db, med, "es", {"instructions": "con comida",
                                                    "purpose": "Baja el azúcar en sangre."},
                                    actor="test")
    said, _, _ = await run(actions.ActionMedicationInfo, patient, "what is metformin for",
                           "ask_medication_info")
    assert said == ["\n".join([
        t("info.purpose", "es", medication="Metformin 500 mg", purpose="Baja el azúcar en sangre."),
        t("info.how", "es", dose="1 tablet", instructions="con comida")])]
    said, _, _ = await run(actions.ActionAnswerSchedule, patient, "list my medications",
                           "ask_schedule")
    assert "• Metformin 500 mg, 1 tablet, con comida, " in said[0]


async def test_a_very_low_sugar_is_answered_with_what_to_do_now_in_spanish(
        db_url: str) -> None:
    patient = _spanish(noon_zone())
    said, _, _ = await run(actions.ActionLogMeasurement, patient, "azucar 2,4", "log_reading")
    assert said == [t("reading.saved", "es", reading="glucosa 2,4 mmol/L") + " "
                    + t("reading.urgent_low_sugar", "es", number="112")]
    assert said[0].endswith("llame ahora al 112.")
