"""`careloop demo`: CareLoop on one machine, offline, in two minutes.

Seeds a demo team and patient with two medications (one due about a minute after
start) and a demo nurse, trains the model if needed, starts Rasa, the action server, the
scheduler and the care-team console, prints the console's address with a login (a new
one-time password each run), then opens a console chat as that patient. With a
Telegram token it serves Telegram instead and prints the demo patient's enrolment link.
The terminal shows only the demo; every log goes to the data directory's `logs/`.

`--language es` makes the demo patient a Spanish speaker (set at each start, so one data
directory serves both): the medication labels and the generic advice have their Spanish,
and the guidance printed says what to type in Spanish.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
from datetime import timedelta

from babel import Locale
from sqlmodel import select

from assistant.channels import registry
from assistant.channels.console import CHANNEL as CONSOLE
from assistant.channels.console import DEMO_CHAT, Console
from assistant.config import Settings, private_dir
from assistant.conversation import rasa_engine as engine
from assistant.domain import zones
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.interfaces.supervisor import Stack, run_names, services, stop_on_signals
from assistant.logs import setup_logging
from assistant.services import enrolment, medications, occurrences, patients, teams
from assistant.services.accounts import set_password
from assistant.storage.db import session, utcnow
from assistant.storage.migrate import upgrade
from assistant.storage.models import CareTeam, ChatLink, Medication, Patient, Role, TeamMember

TEAM, PATIENT, ACTOR = "Demo clinic", "Sam", "demo"
NURSE, NURSE_EMAIL = "Demo nurse", "nurse@demo.careloop.example"
# The demo medicines' label texts in Spanish (the care team's translations).
SPANISH_LABELS = {
    "Metformin": {"instructions": "con comida",
                  "purpose": "Baja el azúcar en sangre en la diabetes tipo 2."},
    "Lisinopril": {"instructions": "por la mañana, con agua",
                   "purpose": "Baja la tensión arterial y protege los riñones."},
}
# What to try in the console chat, in the demo patient's language.
TRY = {"en": "'what do I take today?', 'what is metformin for?', 'my bp is 135/85', "
             "'snooze 10 min'",
       "es": "'¿qué tomo hoy?', 'mi tensión es 135/85'"}


def seed(settings: Settings, language: str = "en") -> Patient:
    """The demo patient, created once, speaking `language` (set each run); the 'soon'
    medication is moved to the next minute."""
    with session() as db:
        team = db.exec(select(CareTeam).where(CareTeam.name == TEAM)).first()
        if team is None:
            team = teams.add_team(db, name=TEAM, actor=ACTOR)
        patient = db.exec(select(Patient).where(Patient.team_id == team.id,
                                                Patient.display_name == PATIENT)).first()
        if patient is None:
            patient = patients.add_patient(db, team=team, name=PATIENT, actor=ACTOR,
                                           timezone=settings.timezone,
                                           conditions=["type 2 diabetes", "hypertension"])
            medications.add_medication(
                db, patient=patient, name="Metformin", strength="500 mg", dose="1 tablet",
                instructions="with food",
                purpose="Lowers blood sugar in type 2 diabetes.",
                schedule=ScheduleSpec(times=("08:00", "20:00")), actor=ACTOR)
            medications.add_medication(
                db, patient=patient, name="Lisinopril", strength="10 mg", dose="1 tablet",
                instructions="in the morning, with water",
                purpose="Lowers blood pressure and protects the kidneys.",
                schedule=ScheduleSpec(times=("09:00",)), actor=ACTOR)
            db.add(ChatLink(patient_id=patient.id, channel=CONSOLE, chat_id=DEMO_CHAT))
        if patient.language != language:
            patients.update_profile(db, patient, {"language": language}, actor=ACTOR)
        for med in db.exec(select(Medication).where(Medication.patient_id == patient.id)):
            if med.name in SPANISH_LABELS:
                medications.translate_label(db, med, "es", SPANISH_LABELS[med.name],
                                            actor=ACTOR)
        soon = (utcnow() + timedelta(seconds=90)).astimezone(zones.zone(patient.timezone))
        lisinopril = db.exec(select(Medication).where(Medication.patient_id == patient.id,
                                                      Medication.name == "Lisinopril")).one()
        occurrences.replace_schedule(db, medication=lisinopril, actor=ACTOR,
                                  schedule=ScheduleSpec(times=(f"{soon:%H:%M}",)))
        return patient


def seed_nurse() -> str:
    """The demo team's nurse, created once, with a new random password each run (hashed
    like any password); returns that password."""
    password = secrets.token_urlsafe(12)
    with session() as db:
        team = db.exec(select(CareTeam).where(CareTeam.name == TEAM)).one()
        nurse = db.exec(select(TeamMember).where(TeamMember.email == NURSE_EMAIL)).first()
        if nurse is None:
            nurse = teams.add_member(db, team=team, name=NURSE, email=NURSE_EMAIL,
                                        role=Role.admin, password_hash=None, actor=ACTOR)
        set_password(db, nurse, password, actor=ACTOR)
    return password


def _speaking(patient: Patient) -> str:
    """', who speaks español (...)' for a patient whose language is not English."""
    if patient.language == "en":
        return ""
    name = Locale.parse(patient.language).display_name
    return (f", who speaks {name} (the assistant writes to them in it where its texts, "
            "the labels and the advice are translated; else in English)")


def _say(text: str) -> None:
    print(text, flush=True)


async def _run(settings: Settings, patient: Patient, password: str) -> int:
    stop_on_signals()
    names = run_names(settings)
    log_dir = settings.logs_dir
    _say(f"Starting {', '.join(names)} (the Rasa server takes about 30 s; logs in {log_dir}) ...")
    async with Stack(services(settings, names), log_dir=log_dir) as stack:
        await stack.wait_healthy(progress=lambda name: _say(f"  {name} is ready"))
        _say(f"\nThe care team's console: http://{settings.web_host}:{settings.web_port}/ "
             f"(log in as {NURSE_EMAIL} with the one-time password {password} ; a new one "
             "each run). The demo patient's page shows their reminders and readings.")
        if registry.enabled(settings):
            with session() as db:
                issued = enrolment.issue_code(db, patient=patient, actor=ACTOR,
                                              hours=settings.enrolment_code_hours)
            link = registry.enrolment_link(settings, issued.code) or f"the code {issued.code}"
            _say(f"Serving {', '.join(c.name.title() for c in registry.enabled(settings))}. "
                 f"Enrol the demo patient with {link} . Ctrl-C stops.")
            await stack.supervise()
            return 1
        _say(f"\nYou are {patient.display_name}, a demo patient{_speaking(patient)}. A "
             "Lisinopril reminder is due in about a minute. Try: "
             f"{TRY.get(patient.language, TRY['en'])}.\n")
        supervising = asyncio.create_task(stack.supervise())  # a crashed service restarts
        try:
            await Console(settings, DEMO_CHAT).serve(asyncio.Event())
        finally:
            supervising.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await supervising
    return 0


def main(settings: Settings, language: str = "en") -> int:
    private_dir(settings.data_dir)
    setup_logging(settings.log_level, log_file=settings.logs_dir / "demo.log",
                  json_lines=settings.log_format == "json")
    upgrade(settings.db_url)
    patient = seed(settings, language)
    password = seed_nurse()
    if not engine.model_path(settings).exists():
        _say("Training the assistant's language model (about a minute, first run only) ...")
    engine.train(settings)
    try:
        return asyncio.run(_run(settings, patient, password))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
