"""`careloop`: the command line of operators and care teams.

Every command validates its arguments before it writes anything; a user's mistake
prints one line saying what to do, and exits with status 2.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

import typer
from sqlmodel import Session, select

from assistant import texts
from assistant.channels import registry
from assistant.config import SettingsError, get_settings
from assistant.conversation import rasa_engine
from assistant.domain import dues, zones
from assistant.domain.schedule_specs import ScheduleSpec
from assistant.errors import CareLoopError, NotFound
from assistant.interfaces import demo as demo_mod
from assistant.interfaces import supervisor
from assistant.interfaces.readings_cli import readings_app
from assistant.services import enrolment, medications, patients, teams
from assistant.services.accounts import set_password
from assistant.services.sessions import issue_token
from assistant.storage.db import session
from assistant.storage.migrate import upgrade
from assistant.storage.models import Role, TeamMember

app = typer.Typer(help="CareLoop, the virtual health assistant.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="The application database.", no_args_is_help=True)
team_app = typer.Typer(help="Care teams and their members.", no_args_is_help=True)
patient_app = typer.Typer(help="Patients.", no_args_is_help=True)
med_app = typer.Typer(help="Medications and their schedules.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(team_app, name="team")
app.add_typer(patient_app, name="patient")
app.add_typer(med_app, name="med")
member_app = typer.Typer(help="Care-team members' console passwords and API tokens.",
                         no_args_is_help=True)
app.add_typer(member_app, name="member")
app.add_typer(readings_app, name="readings")

ACTOR = "cli"
F = TypeVar("F", bound=Callable[..., Any])


def friendly(func: F) -> F:
    """Errors a user can cause become one line on stderr and exit status 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (CareLoopError, SettingsError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


@db_app.command("upgrade")
@friendly
def db_upgrade() -> None:
    """Create the database, or bring its schema up to date."""
    upgrade(get_settings().db_url)
    typer.echo("database is up to date")


@team_app.command("add")
@friendly
def team_add(name: str) -> None:
    """Add a care team; prints its id."""
    with session() as db:
        team = teams.add_team(db, name=name, actor=ACTOR)
    typer.echo(team.id)


@team_app.command("member")
@friendly
def team_member(
    team: Annotated[str, typer.Option(help="team id or name")],
    name: Annotated[str, typer.Option()],
    email: Annotated[str, typer.Option()],
    role: Annotated[Role, typer.Option()] = Role.clinician,
) -> None:
    """Add a member to a care team; prints their id."""
    with session() as db:
        member = teams.add_member(db, team=teams.get_team(db, team), name=name,
                                     email=email, role=role, password_hash=None, actor=ACTOR)
    typer.echo(member.id)


def _member(db: Session, email: str) -> TeamMember:
    member = db.exec(select(TeamMember).where(TeamMember.email == email.strip().lower())).first()
    if member is None:
        raise NotFound(f"no member with email {email}; add one with `careloop team member`")
    return member


@member_app.command("password")
@friendly
def member_password(email: str, password: Annotated[str, typer.Option(
        prompt=True, hide_input=True, confirmation_prompt=True,
        help="at least 10 characters, not easy to guess; asked for when not given")]) -> None:
    """Set the password a member logs in to the console with; their sessions end."""
    with session() as db:
        set_password(db, _member(db, email), password, actor=ACTOR)
    typer.echo(f"password set for {email}")


@member_app.command("token")
@friendly
def member_token(email: str, name: Annotated[str, typer.Option(
        help="what the token is for")] = "API token") -> None:
    """Issue an API token for a member; it is printed once, only its hash is kept."""
    with session() as db:
        typer.echo(issue_token(db, _member(db, email), name=name, actor=ACTOR))


@patient_app.command("add")
@friendly
def patient_add(
    team: Annotated[str, typer.Option(help="team id or name")],
    name: Annotated[str, typer.Option(help="how the assistant addresses the patient")],
    tz: Annotated[str | None, typer.Option(
        help="IANA time zone, e.g. Europe/Berlin (default: the team's)")] = None,
    language: Annotated[str, typer.Option()] = "en",
) -> None:
    """Add a patient; prints the patient id."""
    with session() as db:
        found = teams.get_team(db, team)
        patient = patients.add_patient(db, team=found, name=name,
                                       timezone=tz or found.timezone,
                                       language=language, actor=ACTOR)
    typer.echo(patient.id)


@patient_app.command("tz")
@friendly
def patient_tz(patient: Annotated[int, typer.Argument(help="patient id")],
               tz: Annotated[str, typer.Argument(help="IANA time zone, e.g. America/New_York")]
               ) -> None:
    """Move a patient to another time zone: future reminders follow the new local times."""
    with session() as db:
        patients.update_profile(db, patients.get_patient(db, patient), {"timezone": tz},
                                actor=ACTOR)
    typer.echo(f"patient {patient} now in {tz}")


@med_app.command("add")
@friendly
def med_add(
    patient: Annotated[int, typer.Argument(help="patient id")],
    name: Annotated[str, typer.Option()],
    at: Annotated[list[str] | None, typer.Option(help="local time of day, repeatable")] = None,
    days: Annotated[str | None, typer.Option(help="e.g. mon,wed,fri (default: every day)")] = None,
    every: Annotated[int, typer.Option(help="every N days")] = 1,
    start: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"])] = None,
    end: Annotated[datetime | None, typer.Option(formats=["%Y-%m-%d"])] = None,
    count: Annotated[int | None, typer.Option(help="total number of doses")] = None,
    as_needed: Annotated[bool, typer.Option(help="no reminders; doses can be logged")] = False,
    strength: Annotated[str, typer.Option()] = "",
    dose: Annotated[str, typer.Option()] = "1 tablet",
    instructions: Annotated[str, typer.Option(help='e.g. "with food"')] = "",
    purpose: Annotated[str, typer.Option(help="what it is for, as the team explains it")] = "",
    if_missed: Annotated[str, typer.Option(
        help="what to do when a dose is missed, as the team says it")] = "",
    supply: Annotated[int | None, typer.Option(help="doses in hand, for refill reminders")] = None,
) -> None:
    """Add a medication with its schedule; prints the medication id."""
    spec = ScheduleSpec(times=tuple(at or ()), days=days, every_n_days=every,
                                 start_date=start.date() if start else None,
                                 end_date=end.date() if end else None, count=count,
                                 as_needed=as_needed)
    with session() as db:
        med = medications.add_medication(
            db, patient=patients.get_patient(db, patient), name=name, strength=strength,
            dose=dose, instructions=instructions, purpose=purpose,
            missed_dose_instructions=if_missed, schedule=spec, supply_count=supply, actor=ACTOR)
    typer.echo(med.id)


@app.command()
@friendly
def enrol(patient: Annotated[int, typer.Argument(help="patient id")],
          hours: Annotated[int | None, typer.Option(help="valid for (default 72)")] = None) -> None:
    """Issue a one-time enrolment code; prints the code and the link that opens the chat
    with it."""
    settings = get_settings()
    with session() as db:
        issued = enrolment.issue_code(db, patient=patients.get_patient(db, patient), actor=ACTOR,
                                      hours=hours or settings.enrolment_code_hours)
    typer.echo(f"code: {issued.code}")
    link = registry.enrolment_link(settings, issued.code)
    if link:
        typer.echo(f"link: {link}")
    typer.echo(f"expires: {issued.expires_at:%Y-%m-%d %H:%M} UTC")


@app.command()
@friendly
def doses(
    patient: Annotated[int, typer.Argument(help="patient id")],
    start: Annotated[datetime | None, typer.Option("--from", formats=["%Y-%m-%d"])] = None,
    days: Annotated[int, typer.Option(min=1, max=366)] = 7,
) -> None:
    """The dose times it will remind, local and UTC, one a line."""
    with session() as db:
        person = patients.get_patient(db, patient)
        tz = zones.zone(person.timezone)
        first = start.date() if start else datetime.now(tz).date()
        begin = dues.to_utc(first, datetime.min.time(), tz)
        finish = dues.to_utc(first + timedelta(days=days), datetime.min.time(), tz)
        lines = []
        for med, _ in medications.medications(db, patient):
            lines += [(due, med.label)
                      for due, _ in medications.dues(db, med.id, tz, begin, finish)]
    for due, label in sorted(lines):
        local = due.astimezone(tz)
        typer.echo(f"{local:%Y-%m-%d %H:%M %Z}  {due:%Y-%m-%d %H:%M} UTC  {label}")


@app.command()
@friendly
def train(force: Annotated[bool, typer.Option(help="train even if unchanged")] = False) -> None:
    """(Re)train the Rasa model when its training data changed; prints the model path."""
    typer.echo("training the Rasa model (about a minute) ..." if force or not
               rasa_engine.model_path(get_settings()).exists() else "model is up to date", err=True)
    typer.echo(rasa_engine.train(get_settings(), force=force))


@app.command()
@friendly
def run(only: Annotated[str | None, typer.Option(
        help="one of rasa, actions, scheduler, sender, bridge, web")] = None) -> None:
    """Start the services (all of them, or one) until Ctrl-C; the database schema is
    brought up to date first (once, however many copies start together)."""
    settings = get_settings()
    upgrade(settings.db_url)
    sys.exit(supervisor.run(settings, only))


@app.command()
@friendly
def demo(language: Annotated[str, typer.Option(
        help="the demo patient's language, e.g. es")] = "en") -> None:
    """The offline demo: a demo patient, the whole stack, and a console chat as that patient
    (Telegram instead, when CARELOOP_TELEGRAM_TOKEN is set)."""
    if language not in texts.languages():
        typer.echo(f"error: --language: one of {', '.join(texts.languages())}", err=True)
        raise typer.Exit(2)
    sys.exit(demo_mod.main(get_settings(), language))


if __name__ == "__main__":  # pragma: no cover
    app()
