"""Each custom action against a real database, with trackers built as Rasa sends them:
what the patient reads, the events returned, and what is stored."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlmodel import select

import actions
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.logs import trace
from assistant.services import medications, patients, teams
from assistant.storage.db import session, utcnow
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    CareTeam,
    DoseOccurrence,
    DoseStatus,
    Patient,
    PatientStatus,
    Reading,
)
from tests.conftest import noon_zone


def tracker(patient: Patient | None, text: str, intent: str,
            entities: list[dict[str, Any]] | None = None) -> Tracker:
    return Tracker.from_dict({
        "sender_id": patient.chat_ref if patient else "stranger", "slots": {},
        "latest_message": {"text": text, "intent": {"name": intent, "confidence": 0.9},
                           "entities": entities or []},
        "events": [], "paused": False, "followup_action": None, "active_loop": {},
        "latest_action_name": "action_listen"})


async def run(action: Any, patient: Patient | None, text: str, intent: str = "x",
              entities: list[dict[str, Any]] | None = None) -> tuple[list[str], list[Any],
                                                                     list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await action().run(dispatcher, tracker(patient, text, intent, entities), {})
    texts = [m.get("text") or "" for m in dispatcher.messages]
    buttons = [b for m in dispatcher.messages for b in m.get("buttons") or []]
    return texts, events, buttons


def _patient(*meds: str) -> Patient:
    with session() as db:
        team = teams.add_team(db, name="Ward 7", actor="test")
        patient = patients.add_patient(db, team=team, name="Ada", timezone="Europe/Berlin",
                                       actor="test")
        for name in meds:
            medications.add_medication(db, patient=patient, name=name, strength="10 mg",
                                    actor="test",
                                    schedule=ScheduleSpec(times=("08:00",)))
        return patient


def _sent_dose(patient: Patient, name: str, minutes_ago: int = 5) -> int:
    with session() as db:
        for med, row in medications.medications(db, patient.id):
            if med.name == name and row is not None:
                occ = DoseOccurrence(schedule_id=row.id, medication_id=med.id,
                                     patient_id=patient.id, status=DoseStatus.sent,
                                     due_at=utcnow() - timedelta(minutes=minutes_ago))
                db.add(occ)
                db.flush()
                return occ.id
    raise AssertionError(name)


def _status(occ_id: int) -> str:
    with session() as db:
        occ = db.get(DoseOccurrence, occ_id)
        assert occ is not None
        return occ.status


async def test_a_stranger_gets_no_plan_data(db_url: str) -> None:
    _patient("Metformin")
    texts, events, _ = await run(actions.ActionAnswerSchedule, None, "what do I take today")
    assert events == [] and "enrolment code" in texts[0] and "Metformin" not in texts[0]


async def test_taken_records_the_pending_dose_once(db_url: str) -> None:
    patient = _patient("Metformin")
    occ = _sent_dose(patient, "Metformin")
    texts, events, _ = await run(actions.ActionConfirmDose, patient, "took it")
    assert events == [] and texts == ["✅ Noted: Metformin 10 mg taken. Well done!"]
    assert _status(occ) == DoseStatus.taken
    texts, _, _ = await run(actions.ActionConfirmDose, patient, "took it")
    assert "don't see a dose waiting" in texts[0]


async def test_an_ambiguous_dose_is_asked_about_with_buttons(db_url: str) -> None:
    patient = _patient("Metformin", "Lisinopril")
    _sent_dose(patient, "Metformin")
    _sent_dose(patient, "Lisinopril")
    texts, _, buttons = await run(actions.ActionSkipDose, patient, "skip")
    assert texts == ["Which one do you mean?"]
    assert sorted(b["payload"] for b in buttons) == [
        '/skip_dose{"medication": "Lisinopril"}', '/skip_dose{"medication": "Metformin"}']


async def test_a_misspelt_medication_picks_that_dose(db_url: str) -> None:
    patient = _patient("Metformin", "Lisinopril")
    metformin, lisinopril = _sent_dose(patient, "Metformin"), _sent_dose(patient, "Lisinopril")
    await run(actions.ActionConfirmDose, patient, "took my metfromin", "confirm_dose_taken")
    assert (_status(metformin), _status(lisinopril)) == (DoseStatus.taken, DoseStatus.sent)


async def test_snooze_understands_the_delay(db_url: str) -> None:
    patient = _patient("Metformin")
    occ = _sent_dose(patient, "Metformin")
    texts, _, _ = await run(actions.ActionSnoozeDose, patient, "remind me in half an hour")
    assert "again in 30 minutes" in texts[0] and _status(occ) == DoseStatus.snoozed


@pytest.mark.parametrize("text, stored, said", [
    ("my bp is 142 over 90", ("blood_pressure", 142.0, 90.0, "mmHg"),
     "Saved: blood pressure 142/90 mmHg."),
    ("glucose 126 mg/dl", ("glucose", 7.0, None, "mmol/L"), "Saved: glucose 7 mmol/L."),
    ("weight 180 lbs", ("weight", 81.6, None, "kg"), "Saved: weight 81.6 kg."),
    ("my sats are 95", ("spo2", 95, None, "%"), "Saved: oxygen saturation 95 %."),
])
async def test_readings_are_normalised_and_stored(db_url: str, text: str,
                                                  stored: tuple[Any, ...], said: str) -> None:
    patient = _patient()
    texts, _, _ = await run(actions.ActionLogMeasurement, patient, text)
    assert texts[0].startswith(said)
    with session() as db:
        [reading] = db.exec(select(Reading)).all()
        assert (reading.kind, reading.value, reading.value2, reading.unit) == stored


async def test_an_implausible_reading_is_questioned_not_stored(db_url: str) -> None:
    patient = _patient()
    texts, _, _ = await run(actions.ActionLogMeasurement, patient, "bp 420/80")
    assert texts[0].startswith("Hmm, 420 looks unusual for systolic.")
    assert "haven't saved it" in texts[0]
    texts, _, _ = await run(actions.ActionLogMeasurement, patient, "bp 80/120")
    assert texts[0].startswith("Hmm, the second number should be lower than the first.")
    with session() as db:
        assert db.exec(select(Reading)).all() == []


@pytest.mark.parametrize("text, value, words", [
    ("sugar 2.4", 2.4, "This sugar is very low. Treat it now as your care team showed you"),
    ("bg 45", 2.5, "This sugar is very low."),   # 45 mg/dl
    ("pulse 170", 170, "This reading is far outside your target. If you feel unwell"),
    ("my bp is 190/100", 190, "This reading is far outside your target."),
    ("sats 83", 83, "This reading is far outside your target."),
])
async def test_an_urgent_reading_is_saved_and_the_patient_told_what_to_do_now(
        db_url: str, text: str, value: float, words: str) -> None:
    patient = _patient()
    [said], _, _ = await run(actions.ActionLogMeasurement, patient, text)
    assert said.startswith("Saved:") and words in said and "call 112 now" in said
    with session() as db:
        [reading] = db.exec(select(Reading)).all()
        [alert] = db.exec(select(Alert)).all()
        assert reading.value == value and alert.severity == AlertSeverity.urgent


@pytest.mark.parametrize("text", ["sugar 3.5", "pulse 135", "bp 165/95", "sugar 6.5"])
async def test_a_reading_short_of_urgent_is_only_saved(db_url: str, text: str) -> None:
    patient = _patient()
    [said], _, _ = await run(actions.ActionLogMeasurement, patient, text)
    assert said.startswith("Saved:") and said.endswith("Your care team can see it.")


async def test_an_emergency_keeps_the_patients_words_and_reading(db_url: str) -> None:
    patient = _patient()
    text = "my sugar is 2.1 and I'm confused"
    [said], _, _ = await run(actions.ActionEmergency, patient, text)
    assert "112" in said
    with session() as db:
        [alert] = db.exec(select(Alert).where(Alert.kind == AlertKind.emergency)).all()
        [reading] = db.exec(select(Reading)).all()
        assert alert.summary == f"Possible emergency. The patient wrote: {text}"
        assert (reading.kind, reading.value, reading.source) == ("glucose", 2.1, "chat")


@pytest.mark.parametrize("text", ["I took 20 pills of my sugar medicine",
                                  "me tomé 20 pastillas del azúcar",
                                  "gave him 40 units of insulin, his sugar was 2.1"])
async def test_an_emergency_counting_medicines_keeps_the_words_not_a_reading(
        db_url: str, text: str) -> None:
    patient = _patient()
    await run(actions.ActionEmergency, patient, text)
    with session() as db:
        assert db.exec(select(Reading)).all() == []  # not "sugar 20 mmol/L"
        [alert] = db.exec(select(Alert)).all()
        assert alert.summary.endswith(text)


@pytest.mark.parametrize("action, kind, words", [
    (actions.ActionReportSymptom, AlertKind.symptom, "care team"),
    (actions.ActionRelayToCareTeam, AlertKind.question, "passed it on"),
    (actions.ActionEmergency, AlertKind.emergency, "112"),
])
async def test_reports_reach_the_care_team(db_url: str, action: Any, kind: AlertKind,
                                           words: str) -> None:
    patient = _patient()
    texts, _, _ = await run(action, patient, "can I take ibuprofen with these?")
    assert words in texts[0]
    with session() as db:
        [alert] = db.exec(select(Alert)).all()
        assert alert.kind == kind and alert.team_id == patient.team_id


async def test_pause_and_resume_switch_reminders(db_url: str) -> None:
    patient = _patient()
    await run(actions.ActionPauseReminders, patient, "pause")
    with session() as db:
        stored = db.get(Patient, patient.id)
        assert stored is not None and stored.status == PatientStatus.paused
    await run(actions.ActionResumeReminders, patient, "resume")
    with session() as db:
        stored = db.get(Patient, patient.id)
        assert stored is not None and stored.status == PatientStatus.active


async def test_medication_info_is_what_the_team_wrote_and_nothing_else(db_url: str) -> None:
    patient = _patient("Metformin")
    texts, _, _ = await run(actions.ActionMedicationInfo, patient, "what is metfromin for",
                            entities=[{"entity": "medication", "value": "metformin"}])
    assert "hasn't written what Metformin is for" in texts[0]


def _allow_shift(patient: Patient, minutes: int) -> None:
    with session() as db:
        team = db.get(CareTeam, patient.team_id)
        assert team is not None
        team.self_shift_minutes = minutes
        db.add(team)


def _times(patient: Patient) -> dict[str, list[str]]:
    with session() as db:
        return {med.name: row.times_of_day for med, row in medications.medications(db, patient.id)
                if row is not None}


async def test_a_time_change_goes_to_the_care_team_by_default(db_url: str) -> None:
    patient = _patient("Metformin")
    texts, _, _ = await run(actions.ActionChangeReminderTime, patient,
                            "can you remind me at 8:30 instead", "change_reminder_time")
    assert "asked your care team" in texts[0]
    assert _times(patient) == {"Metformin": ["08:00"]}
    with session() as db:
        [alert] = db.exec(select(Alert)).all()
        assert alert.kind == AlertKind.schedule_change and "08:30" in alert.summary


async def test_a_small_shift_within_the_teams_window_is_self_service(db_url: str) -> None:
    patient = _patient("Metformin", "Ramipril")
    _allow_shift(patient, 60)
    texts, _, _ = await run(actions.ActionChangeReminderTime, patient,
                            "pls remind me at 8.30 am", "change_reminder_time")
    assert "from tomorrow" in texts[0] and "08:30 instead of 08:00" in texts[0]
    assert _times(patient) == {"Metformin": ["08:30"], "Ramipril": ["08:30"]}
    with session() as db:
        assert db.exec(select(Alert)).all() == []
    # too far: the team decides
    texts, _, _ = await run(actions.ActionChangeReminderTime, patient,
                            "remind me at 11am", "change_reminder_time")
    assert "asked your care team" in texts[0]
    assert _times(patient) == {"Metformin": ["08:30"], "Ramipril": ["08:30"]}


async def test_a_named_medication_moves_alone(db_url: str) -> None:
    patient = _patient("Metformin", "Ramipril")
    _allow_shift(patient, 60)
    await run(actions.ActionChangeReminderTime, patient, "ramipril at 7:30 please",
              "change_reminder_time", entities=[{"entity": "medication", "value": "ramipril"}])
    assert _times(patient) == {"Metformin": ["08:00"], "Ramipril": ["07:30"]}


async def test_a_shift_keeps_todays_reminders_and_moves_the_later_ones(db_url: str) -> None:
    from datetime import datetime

    from assistant.scheduling.planner import Policy, plan

    patient = _patient("Metformin")
    _allow_shift(patient, 90)
    policy = Policy(horizon=timedelta(hours=72), grace=timedelta(minutes=60),
                    followup=timedelta(minutes=30), snooze_minutes=15)
    with session() as db:
        plan(db, policy)  # the old time is already planned ahead, as in production
    await run(actions.ActionChangeReminderTime, patient, "move it to 9:15",
              "change_reminder_time")
    with session() as db:
        plan(db, policy)
        zone = ZoneInfo(patient.timezone)
        planned = sorted(occ.due_at.astimezone(zone) for occ in db.exec(
            select(DoseOccurrence).where(DoseOccurrence.status == DoseStatus.planned)))
        today = datetime.now(zone).date()
    by_day: dict[Any, list[str]] = {}
    for due in planned:
        by_day.setdefault(due.date(), []).append(f"{due:%H:%M}")
    later = {day: times for day, times in by_day.items() if day > today}
    assert later and all(times == ["09:15"] for times in later.values())
    assert by_day.get(today, ["08:00"]) == ["08:00"]  # today's dose, if still ahead, unchanged


# Schedule questions about another day -------------------------------------------------

def _planned(zone: str, *meds: tuple[str, str, str | None]) -> Patient:
    """A patient in `zone` with (name, time, days) medications."""
    with session() as db:
        team = teams.add_team(db, name="Ward 9", actor="test")
        patient = patients.add_patient(db, team=team, name="Bo", timezone=zone, actor="test")
        for name, at, days in meds:
            medications.add_medication(db, patient=patient, name=name, actor="test",
                                    schedule=ScheduleSpec(times=(at,), days=days))
        return patient


def _local_day(zone: str, days_ahead: int) -> date:
    return (datetime.now(ZoneInfo(zone)) + timedelta(days=days_ahead)).date()


WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@pytest.mark.parametrize("text", ["wat pils do i hav tmrw", "what do i take tmr?",
                                  "tomoro meds pls", "my pills 2moro", "what's due tomorrow"])
async def test_a_question_about_tomorrow_answers_for_tomorrow(db_url: str, text: str) -> None:
    zone = noon_zone()
    tomorrow = _local_day(zone, 1)
    patient = _planned(zone, ("Metformin", "08:00", None),
                       ("Alendronate", "07:00", WEEKDAYS[tomorrow.weekday()][:3]))
    texts, _, _ = await run(actions.ActionAnswerSchedule, patient, text, "ask_schedule")
    assert texts == [f"Tomorrow, {tomorrow:%a} {tomorrow.day} {tomorrow:%b}:\n"
                     "• 07:00 Alendronate, 1 tablet\n• 08:00 Metformin, 1 tablet"]
    texts, _, _ = await run(actions.ActionAnswerSchedule, patient, "what do i take today",
                            "ask_schedule")
    assert "Alendronate" not in texts[0] and "Metformin" in texts[0]


@pytest.mark.parametrize("days_ahead", [2, 3, 6])
@pytest.mark.parametrize("spelling", ["what do I take on {day}", "{abbr} meds?",
                                      "which pills on {day} evening"])
async def test_a_question_about_a_weekday_answers_for_that_day(
        db_url: str, days_ahead: int, spelling: str) -> None:
    zone = noon_zone()
    day = _local_day(zone, days_ahead)
    name = WEEKDAYS[day.weekday()]
    patient = _planned(zone, ("Metformin", "20:00", None), ("Methotrexate", "18:00", name[:3]),
                       ("Alendronate", "07:00", name[:3]))
    text = spelling.format(day=name.title(), abbr=name[:3])
    texts, _, _ = await run(actions.ActionAnswerSchedule, patient, text, "ask_schedule")
    evening = "evening" in text
    assert texts == [f"{day:%A} {day.day} {day:%b}" + (" evening" if evening else "") + ":\n"
                     + ("" if evening else "• 07:00 Alendronate, 1 tablet\n")
                     + "• 18:00 Methotrexate, 1 tablet\n• 20:00 Metformin, 1 tablet"]


async def test_this_weekend_lists_saturday_and_sunday(db_url: str) -> None:
    zone = noon_zone()
    patient = _planned(zone, ("Alendronate", "07:00", "sat"), ("Vitamin D", "09:00", "sun"))
    texts, _, _ = await run(actions.ActionAnswerSchedule, patient, "what do i take this weekend",
                            "ask_schedule")
    today = _local_day(zone, 0)
    if today.weekday() == 6:  # on a Sunday, what is left of this weekend is today
        assert texts == [f"Today, Sun {today.day} {today:%b}:\n• 09:00 Vitamin D, 1 tablet"]
        return
    saturday = today + timedelta(days=5 - today.weekday())
    sunday = saturday + timedelta(days=1)
    first = (f"Today, Sat {today.day} {today:%b}" if saturday == today
             else f"Tomorrow, Sat {saturday.day} {saturday:%b}" if saturday == today + timedelta(1)
             else f"Saturday {saturday.day} {saturday:%b}")
    second = (f"Tomorrow, Sun {sunday.day} {sunday:%b}" if sunday == today + timedelta(1)
              else f"Sunday {sunday.day} {sunday:%b}")
    assert texts == [f"{first}:\n• 07:00 Alendronate, 1 tablet\n\n"
                     f"{second}:\n• 09:00 Vitamin D, 1 tablet"]


# Missed doses ---------------------------------------------------------------------------

IF_MISSED = ("Take it as soon as you remember, unless your next dose is due within 4 hours. "
             "Never take two doses at once.")


def _with_instructions(*meds: tuple[str, tuple[str, ...], str]) -> Patient:
    """A patient with (name, times, missed-dose instructions) medications."""
    with session() as db:
        team = teams.add_team(db, name="Ward 8", actor="test")
        patient = patients.add_patient(db, team=team, name="Cy", timezone="Europe/Berlin",
                                       actor="test")
        for name, times, if_missed in meds:
            medications.add_medication(db, patient=patient, name=name, strength="10 mg",
                                    missed_dose_instructions=if_missed, actor="test",
                                    schedule=ScheduleSpec(times=times))
        return patient


def _alerts() -> list[Alert]:
    with session() as db:
        return list(db.exec(select(Alert)).all())


async def test_a_missed_dose_question_gets_what_the_care_team_wrote(db_url: str) -> None:
    patient = _with_instructions(("Metformin", ("08:00",), IF_MISSED),
                                 ("Ramipril", ("20:00",), ""))
    texts, events, _ = await run(actions.ActionMissedDose, patient,
                                 "i forgot my morning dose what do i do", "ask_missed_dose")
    assert events == [] and texts == [
        f"If you miss a dose of Metformin 10 mg, your care team says: {IF_MISSED}"]
    assert _alerts() == []


async def test_a_missed_dose_without_instructions_goes_to_the_care_team(db_url: str) -> None:
    patient = _with_instructions(("Metformin", ("08:00",), IF_MISSED),
                                 ("Ramipril", ("20:00",), ""))
    texts, _, _ = await run(actions.ActionMissedDose, patient,
                            "forgot my evening pill, should i take it now?", "ask_missed_dose")
    [text] = texts
    assert "hasn't written what to do" in text and "Ramipril 10 mg" in text
    assert "passed your question" in text and IF_MISSED not in text
    [alert] = _alerts()
    assert alert.kind == AlertKind.question and alert.team_id == patient.team_id
    assert "forgot my evening pill" in alert.summary and "Ramipril" in alert.summary


async def test_a_named_medication_gets_its_own_instructions(db_url: str) -> None:
    patient = _with_instructions(("Metformin", ("08:00", "20:00"), IF_MISSED),
                                 ("Ramipril", ("08:00",), "Skip it and take the next one."))
    texts, _, _ = await run(actions.ActionMissedDose, patient, "missed my ramipril, what now?",
                            "ask_missed_dose",
                            entities=[{"entity": "medication", "value": "ramipril"}])
    assert texts == ["If you miss a dose of Ramipril 10 mg, your care team says: "
                     "Skip it and take the next one."]
    texts, _, _ = await run(actions.ActionMissedDose, patient, "i forgot the metfromin",
                            "ask_missed_dose")
    assert texts == [f"If you miss a dose of Metformin 10 mg, your care team says: {IF_MISSED}"]


async def test_every_dose_of_that_part_of_the_day_is_answered(db_url: str) -> None:
    patient = _with_instructions(("Metformin", ("08:00", "20:00"), IF_MISSED),
                                 ("Ramipril", ("07:30",), "Skip it and take the next one."),
                                 ("Atorvastatin", ("21:00",), ""))
    texts, _, _ = await run(actions.ActionMissedDose, patient,
                            "i didn't take my morning pills, what should i do", "ask_missed_dose")
    assert texts == ["If you miss a dose, your care team says:\n"
                     f"• Metformin 10 mg: {IF_MISSED}\n"
                     "• Ramipril 10 mg: Skip it and take the next one."]
    assert _alerts() == []


async def test_an_ambiguous_missed_dose_question_asks_which(db_url: str) -> None:
    patient = _with_instructions(("Metformin", ("08:00",), IF_MISSED),
                                 ("Ramipril", ("20:00",), ""))
    texts, _, buttons = await run(actions.ActionMissedDose, patient,
                                  "i forgot to take my pill, what do i do", "ask_missed_dose")
    assert texts == ["Which medicine did you miss?"]
    assert sorted(b["payload"] for b in buttons) == [
        '/ask_missed_dose{"medication": "Metformin"}', '/ask_missed_dose{"medication": "Ramipril"}']
    assert _alerts() == []
    texts, _, _ = await run(actions.ActionMissedDose, patient,
                            '/ask_missed_dose{"medication": "Metformin"}', "ask_missed_dose",
                            entities=[{"entity": "medication", "value": "Metformin"}])
    assert texts == [f"If you miss a dose of Metformin 10 mg, your care team says: {IF_MISSED}"]


async def test_with_one_medication_a_missed_dose_needs_no_question(db_url: str) -> None:
    patient = _with_instructions(("Metformin", ("08:00", "20:00"), IF_MISSED))
    texts, _, _ = await run(actions.ActionMissedDose, patient, "forgot my pills what now",
                            "ask_missed_dose")
    assert texts == [f"If you miss a dose of Metformin 10 mg, your care team says: {IF_MISSED}"]
async def test_an_action_that_cannot_save_says_nothing_and_stores_nothing(
        db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its unit of work rolled back, nothing it would have said is true: the channel gives
    its fallback (with the emergency number) instead."""
    import sqlite3

    from tests.conftest import reset_caches

    patient = _patient("Ramipril")
    monkeypatch.setenv("CARELOOP_DB_BUSY_TIMEOUT_SECONDS", "0.2")
    reset_caches()
    lock = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")  # another connection holds the write lock
    try:
        texts, events, _ = await run(actions.ActionLogMeasurement, patient, "bp 120/80")
    finally:
        lock.rollback()
        lock.close()
    assert (texts, events) == ([], [])
    with session() as db:
        assert db.exec(select(Reading)).all() == []


def test_the_action_server_never_answers_with_the_conversation() -> None:
    """Seen in the fault-injection suite: with the database down, rasa_sdk answered Rasa's
    call with a 500 carrying the whole conversation, and Rasa logged it."""
    import subprocess
    import time

    import httpx

    from assistant.config import Settings
    from assistant.conversation import rasa_engine as engine
    from tests.conftest import REPO, free_port

    port = free_port()
    down = {"CARELOOP_DATABASE_URL": f"postgresql://postgres@127.0.0.1:{free_port()}/careloop"}
    settings = Settings(action_port=port)
    server = subprocess.Popen(engine.action_server_command(settings),
                              cwd=REPO, env={**engine.action_server_env(settings), **down},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "no action server"
            time.sleep(0.2)
        call = {"next_action": "action_log_measurement", "sender_id": "abc", "domain": {},
                "version": "3.6.21",
                "tracker": {"sender_id": "abc", "slots": {}, "events": [], "paused": False,
                            "followup_action": None, "active_loop": {},
                            "latest_action_name": "action_listen",
                            "latest_message": {"text": "my bp is 187/121",
                                               "intent": {"name": "log_measurement"},
                                               "entities": []}}}
        answer = httpx.post(f"http://127.0.0.1:{port}/webhook", json=call, timeout=30)
        assert answer.status_code == 200 and "187/121" not in answer.text
        assert answer.json()["responses"] == []
    finally:
        server.terminate()
        server.wait(timeout=30)


class Traced(logging.Handler):
    """Each log line with the trace id it was written under (as `JsonLines` shows it)."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[str, str | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.getMessage(), trace.get()))


@pytest.mark.parametrize("sent, logged", [("update-4242", "update-4242"),
                                          ("two words\nand a line", None), (7, None)])
async def test_an_action_logs_under_the_trace_id_the_channel_sent(
        db_url: str, sent: object, logged: str | None) -> None:
    handler, logger = Traced(), logging.getLogger("actions")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    state = tracker(_patient("Metformin"), "what do I take today?", "ask_schedule")
    state.latest_message["metadata"] = {"trace_id": sent}
    try:
        await actions.ActionAnswerSchedule().run(CollectingDispatcher(), state, {})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    [(message, trace_id)] = handler.lines
    assert message.startswith("action_answer_schedule done in") and trace_id == logged
    assert trace.get() is None  # the action server's next request starts without it
