"""The patient page read at a glance: the adherence chart shows a day with none of its doses
taken as a full red bar, with a 0/50/100 % scale, a label under every day and a table
behind it; every missed dose of the month is listed; readings are charted and tabled per
measure; and every time on the page is in the patient's zone, stated once, with "ago"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from assistant.domain.schedule_specs import ScheduleSpec
from assistant.services import medications, patients
from assistant.storage.db import session, utcnow
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    CareTeam,
    DoseOccurrence,
    DoseSchedule,
    DoseStatus,
    Reading,
)
from tests.web.conftest import Team, login

NEW_YORK = ZoneInfo("America/New_York")
MISSED_DAYS = (2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 23, 24)   # 16 days ago
SKIPPED_DAY, NOTHING_DUE_DAY = 26, 27


@dataclass
class Ward:
    patient_id: int
    now: datetime
    reading_at: datetime          # a glucose reading at 14:00 UTC


def seed_patient(team_id: int, *, now: datetime | None = None) -> Ward:
    """A patient in New York on one dose a day at 09:00 for 29 days: 16 missed, one
    skipped, one day with nothing due, the rest taken; heard from 3 h ago; blood pressure,
    glucose and weight readings; an open alert of 2 days ago."""
    now = now or utcnow()
    with session() as db:
        team = db.get(CareTeam, team_id)
        assert team is not None
        patient = patients.add_patient(db, team=team, name="Nora Quinn",
                                       timezone="America/New_York", actor="test")
        med = medications.add_medication(db, patient=patient, name="Lisinopril",
                                         strength="10 mg",
                                         schedule=ScheduleSpec(times=("09:00",)), actor="test")
        schedule = db.exec(select(DoseSchedule).where(
            DoseSchedule.medication_id == med.id)).one()
        today = now.astimezone(NEW_YORK).date()
        for ago in range(1, 30):
            if ago == NOTHING_DUE_DAY:
                continue
            status = (DoseStatus.missed if ago in MISSED_DAYS else
                      DoseStatus.skipped if ago == SKIPPED_DAY else DoseStatus.taken)
            due = datetime.combine(today - timedelta(days=ago), datetime.min.time(),
                                   NEW_YORK).replace(hour=9)
            db.add(DoseOccurrence(schedule_id=schedule.id, medication_id=med.id,
                                  patient_id=patient.id, status=status, due_at=due,
                                  outcome_at=None if status == DoseStatus.missed
                                  else due + timedelta(minutes=7)))
        # 14:00 UTC, two to three days ago whatever the time of the run, so that the
        # latest reading (the weight, 9 minutes later) reads "2 days ago".
        reading_at = (now - timedelta(days=2)).replace(hour=14, minute=0, second=0,
                                                       microsecond=0)
        if reading_at + timedelta(minutes=9) > now - timedelta(days=2):
            reading_at -= timedelta(days=1)
        for n in range(3):
            at = reading_at - timedelta(days=n)
            db.add(Reading(patient_id=patient.id, kind="glucose", code="15074-8",
                           value=6.5 + n, unit="mmol/L", taken_at=at, source="api"))
            db.add(Reading(patient_id=patient.id, kind="blood_pressure", code="85354-9",
                           value=160 + n, value2=85, unit="mmHg",
                           taken_at=at + timedelta(minutes=5), source="cuff"))
            db.add(Reading(patient_id=patient.id, kind="weight", code="29463-7", value=80.5,
                           unit="kg", taken_at=at + timedelta(minutes=9), source="scale"))
        db.add(Alert(patient_id=patient.id, team_id=team_id, kind=AlertKind.reading,
                     severity=AlertSeverity.high, summary="blood pressure 162/85 mmHg",
                     measure="blood_pressure", direction="high",
                     created_at=now - timedelta(days=2, hours=1),
                     evidence_at=now - timedelta(days=2, hours=1)))
        patient.last_contact_at = now - timedelta(hours=3, minutes=10)
        db.add(patient)
        return Ward(patient.id, now, reading_at)


@pytest.fixture
def nora(client: TestClient, teams: tuple[Team, Team]) -> tuple[Ward, str]:
    """The seeded patient and her page, as a clinician of her team sees it."""
    ward = seed_patient(teams[0].id)
    login(client, teams[0].clinician.email)
    return ward, client.get(f"/patients/{ward.patient_id}").text


def _local(at: datetime, fmt: str = "%a %-d %b %H:%M") -> str:
    return at.astimezone(NEW_YORK).strftime(fmt)


def day_of(ward: Ward, ago: int) -> date:
    return ward.now.astimezone(NEW_YORK).date() - timedelta(days=ago)


def test_a_day_with_no_dose_taken_is_a_full_red_bar_with_a_scale_and_a_table(
        nora: tuple[Ward, str]) -> None:
    ward, page = nora
    svg = re.search(r'<svg class="achart".*?</svg>', page, re.S)
    assert svg, "no adherence chart"
    chart = svg.group(0)
    # A missed day: the whole bar is red (the plot is 120 high), labelled 0/1 under it.
    missed = re.search(rf'<g class="day zero" data-day="{day_of(ward, 2)}">(.*?)</g>',
                       chart, re.S)
    assert missed, "the missed day is not drawn as a day with none taken"
    assert re.search(r'<rect class="missed" [^>]*height="120.0"', missed.group(1))
    assert ">0/1</text>" in missed.group(1) and "0 of 1 taken (0 %), 1 missed" in missed.group(1)
    taken = re.search(rf'<g class="day all" data-day="{day_of(ward, 1)}">(.*?)</g>', chart, re.S)
    assert taken and '<rect class="taken"' in taken.group(1) and ">1/1<" in taken.group(1)
    nothing = re.search(rf'<g class="day none" data-day="{day_of(ward, NOTHING_DUE_DAY)}">(.*?)'
                        "</g>", chart, re.S)
    assert nothing and "nothing due" in nothing.group(1) and ">–</text>" in nothing.group(1)
    skipped = re.search(rf'data-day="{day_of(ward, SKIPPED_DAY)}">(.*?)</g>', chart, re.S)
    assert skipped and '<rect class="skipped"' in skipped.group(1)
    for label in ("0 %", "50 %", "100 %"):                   # the scale
        assert f">{label}</text>" in chart
    assert chart.count('<line class="grid"') == 3
    worst = day_of(ward, 2)
    assert re.search(r'role="img" aria-label="Daily adherence, last 30 days: 11 of 28 doses '
                     r"taken \(39 %\); 17 days with a dose not taken, the worst "
                     rf"{worst:%a} {worst.day} {worst:%b} \(0 of 1\); "
                     r'2 days with nothing due"', chart)
    table = page[page.index("Table of doses per day"):]
    table = table[:table.index("</table>")]
    row = re.search(rf'<tr class="zero"><th scope="row"><time datetime="{day_of(ward, 2)}">'
                    r"[^<]+</time></th>\s*<td>0 of 1</td><td>0 %</td><td>0</td><td>1</td>",
                    table)
    assert row, "no table row 0 of 1 for the missed day"
    assert "<td>nothing due</td>" in table


def test_every_missed_dose_of_the_month_is_listed_by_day(
        nora: tuple[Ward, str]) -> None:
    ward, page = nora
    assert '<a href="#missed">16 missed</a>' in page
    listed = page[page.index('<ul class="missed">'):]
    listed = listed[:listed.index("</ul>")]
    assert listed.count("Lisinopril 10 mg at") == 16
    days = re.findall(r'<li><strong><time datetime="([\d-]+)">', listed)
    assert days == [str(day_of(ward, ago)) for ago in MISSED_DAYS]        # newest first
    assert ">09:00</time>" in listed                                    # local due time


def test_readings_are_charted_and_tabled_per_measure(nora: tuple[Ward, str]) -> None:
    _, page = nora
    assert "When (UTC)" not in page                                     # no mixed list
    for measure, newest_first in (("glucose", ["6.5", "7.5", "8.5"]),
                                  ("blood_pressure", ["160/85", "161/85", "162/85"]),
                                  ("weight", ["80.5"] * 3)):
        figure = re.search(rf'<figure class="measure" id="chart-{measure}">(.*?)</figure>',
                           page, re.S)
        assert figure, f"no chart of {measure}"
        body = figure.group(1)
        assert '<svg class="mchart" role="img"' in body
        assert f"Table of {measure.replace('_', ' ')} readings" in body
        cells = re.findall(r'</time></td><td(?: class="out")?>([^<]+)</td>', body)
        assert cells == newest_first
    bp = page[page.index('id="chart-blood_pressure"'):]
    assert '<td class="out">162/85</td><td>warning high</td><td>cuff</td>' in bp
    glucose = page[page.index('id="chart-glucose"'):]
    assert "<td>in range</td>" in glucose
    assert '<rect class="band' in glucose                               # targets as bands
    weight = page[page.index('id="chart-weight"'):]
    assert "<td>no target</td>" in weight


def test_every_time_on_the_page_is_in_the_patients_zone_stated_once(
        nora: tuple[Ward, str]) -> None:
    ward, page = nora
    assert page.count("Times in ") == 1
    assert "Times in <strong>America/New_York</strong>" in page
    assert "(America/New_York)" not in page and "(UTC)" not in page
    # The glucose reading at 14:00 UTC is 09:00 (winter) or 10:00 (summer) in New York.
    local = _local(ward.reading_at)
    assert local.endswith(("09:00", "10:00"))
    assert f'<time datetime="{ward.reading_at.isoformat()}">{local}</time>' in page
    # Every <time> on the page shows its instant in New York.
    times = re.findall(r'<time datetime="([^"]+)">([^<]+)</time>', page)
    assert len(times) > 40
    for stamp, text in times:
        if "T" not in stamp:                                            # a local day
            continue
        at = datetime.fromisoformat(stamp)
        assert text in (_local(at), _local(at, "%H:%M")), (stamp, text)
    note = page[page.index("Times in "):]
    note = note[:note.index("</p>")]
    assert "last contact" in note and "(3 h ago)" in note
    assert "latest reading" in note and "(2 days ago)" in note
    assert "1 open alert, newest 2 days ago" in note
    alerts = page[page.index('id="open-alerts"'):]
    assert "blood pressure 162/85 mmHg" in alerts and "(2 days ago)" in alerts
    activity = page[page.index("<h2>Activity</h2>"):]
    assert "<time datetime=" in activity and "Lisinopril 10 mg: missed" in activity
