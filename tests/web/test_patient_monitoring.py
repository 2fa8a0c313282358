"""The patient page's monitoring: a chart per measure (bands, baseline, readings, alert
markers) over 7, 30 or 90 days; the targets form (a refused value shown at its field with
what was typed; a preset shown, then saved only when confirmed, audited with who
confirmed); uploading a file of readings; targets in the privacy export."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import select

from assistant.services import patients
from assistant.storage.db import session, utcnow
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    AuditEntry,
    CareTeam,
    MeasureTarget,
    Reading,
)
from tests import apple_health as ah
from tests.web.conftest import Team, login


def seed(patient_id: int, team_id: int, days: int = 30) -> None:
    """A month of daily weight, twice-daily BP and glucose, and an urgent glucose alert."""
    now = utcnow()
    with session() as db:
        for day in range(days):
            at = now - timedelta(days=days - day, hours=-1)
            db.add(Reading(patient_id=patient_id, kind="weight", code="29463-7",
                           value=80 + (day % 3) * 0.2 + (1.5 if day > 26 else 0), unit="kg",
                           taken_at=at, source="api"))
            for hour in (0, 12):
                db.add(Reading(patient_id=patient_id, kind="blood_pressure", code="85354-9",
                               value=130 + day % 7 * 3, value2=82 + day % 4, unit="mmHg",
                               taken_at=at + timedelta(hours=hour), source="api"))
            db.add(Reading(patient_id=patient_id, kind="glucose", code="15074-8",
                           value=2.7 if day == 20 else 6 + day % 4 * 0.5, unit="mmol/L",
                           taken_at=at + timedelta(hours=2), source="api"))
        db.add(Alert(patient_id=patient_id, team_id=team_id, kind=AlertKind.reading,
                     severity=AlertSeverity.urgent, summary="glucose 2.7 mmol/L",
                     measure="glucose", direction="low",
                     evidence_at=now - timedelta(days=10, hours=-3)))


def _chart(page: str, measure: str) -> str:
    found = re.search(rf'<svg class="mchart"[^>]*data-measure="{measure}".*?</svg>', page, re.S)
    assert found, f"no chart of {measure}"
    return found.group(0)


def test_the_patient_page_charts_each_measure_with_bands_baseline_and_markers(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    seed(north.patient_id, north.id)
    login(client, north.clinician.email)
    page = client.get(f"/patients/{north.patient_id}").text
    glucose = _chart(page, "glucose")
    assert 'class="band urgent"' in glucose and 'class="band warning"' in glucose
    assert 'class="marker urgent"' in glucose and "glucose 2.7 mmol/L" in glucose
    assert glucose.count('class="dot"') == 30
    assert 'aria-label="glucose, last 30 days: 30 readings' in glucose
    weight = _chart(page, "weight")
    assert 'class="baseline"' in weight and "baseline 80" in weight
    bp = _chart(page, "blood_pressure")
    assert bp.count('class="dot2"') == 60                      # the diastolic too
    assert "lowest 2.7 mmol/L" in page                         # readable without a mouse
    assert 'data-measure="spo2"' not in page                   # no readings, no chart
    week = client.get(f"/patients/{north.patient_id}?days=7").text
    assert 'aria-label="glucose, last 7 days: 7 readings' in week
    assert 'class="marker' not in _chart(week, "glucose")     # the alert is 10 days old
    assert client.get(f"/patients/{north.patient_id}?days=5").status_code == 422


def _targets_form(page: str) -> dict[str, str]:
    form = page[page.index('action="/patients/') and page.index('id="targets"'):]
    return {name: value for name, value in re.findall(
        r'<input name="([a-z_0-9]+\.[a-z_0-9]+)" value="([^"]*)"', form)}


def test_a_refused_target_is_shown_at_its_field_with_what_was_typed(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    url = f"/patients/{north.patient_id}"
    fields = _targets_form(client.get(url).text)
    assert fields["glucose.warning_low"] == "3.9"              # CareLoop's default
    bad = client.post(f"{url}/targets", data={
        **fields, "csrf": csrf, "spo2.warning_low": "ninety", "glucose.warning_high": "3"})
    assert bad.status_code == 422
    assert 'value="ninety" inputmode="decimal" size="5" maxlength="32" aria-invalid="true"' \
        in bad.text
    assert "“ninety” is not a number" in bad.text
    order = client.post(f"{url}/targets", data={**fields, "csrf": csrf,
                                                 "glucose.warning_high": "3"})
    assert order.status_code == 422
    assert re.search(r'name="glucose.warning_high" value="3"[^>]*aria-invalid="true"',
                     order.text)
    assert "must be above warning_low 3.9" in order.text
    with session() as db:
        assert db.exec(select(MeasureTarget)).all() == []     # nothing saved
    saved = client.post(f"{url}/targets", follow_redirects=False, data={
        **fields, "csrf": csrf, "glucose.warning_high": "12"})
    assert saved.status_code == 303
    page = client.get(url).text
    assert _targets_form(page)["glucose.warning_high"] == "12"
    assert re.search(r"glucose</strong>.*?patient's own", page, re.S)
    with session() as db:
        rows = db.exec(select(MeasureTarget)).all()
    assert [(r.measure, r.warning_high, r.warning_low) for r in rows] == [("glucose", 12, 3.9)]


def test_a_preset_is_suggested_then_saved_only_when_confirmed_and_audited(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    url = f"/patients/{north.patient_id}"
    page = client.get(f"{url}?preset=hypertension").text
    assert "ACC/AHA" in page and "not saved until you confirm" in page
    fields = _targets_form(page)
    assert (fields["blood_pressure.urgent_high"], fields["blood_pressure.urgent_high2"]) == (
        "180", "120")
    with session() as db:
        assert db.exec(select(MeasureTarget)).all() == []     # looking is not applying
    saved = client.post(f"{url}/targets", data={**fields, "csrf": csrf,
                                                "preset": "hypertension",
                                                "blood_pressure.own": "1"}, follow_redirects=False)
    assert saved.status_code == 303
    with session() as db:
        rows = db.exec(select(MeasureTarget)).all()
        entry = db.exec(select(AuditEntry).where(AuditEntry.action == "targets.set")).one()
    assert [(r.measure, r.preset, r.confirmed_by, r.persist_count) for r in rows] == [
        ("blood_pressure", "hypertension", north.clinician.id, 4)]
    assert f"preset=hypertension confirmed_by={north.clinician.id}" in entry.detail
    assert "hypertension preset confirmed" in client.get(url).text


def test_the_export_holds_the_patients_targets(client: TestClient,
                                               teams: tuple[Team, Team]) -> None:
    north, _ = teams
    h = north.clinician.headers
    client.put(f"/api/v1/patients/{north.patient_id}/targets", headers=h,
               json={"preset": "diabetes"})
    login(client, north.clinician.email)
    data = client.get(f"/patients/{north.patient_id}/export").json()
    glucose = next(t for t in data["monitoring targets"] if t["measure"] == "glucose")
    assert glucose["urgent low"] == 3.0 and glucose["warning low"] == 3.9
    assert glucose["preset"] == "diabetes" and glucose["confirmed at"]


CSV = ("effective_at,measure,value,value2,unit,device,identifier\n"
       "2026-03-01T08:00:00+01:00,weight,81.2,,kg,scale,\n"
       "2026-03-01T08:05:00+01:00,blood_pressure,128,84,mm[Hg],cuff,\n"
       "2026-03-01T08:10:00+01:00,glucose,7.1,,mmol/L,meter,\n"
       "2026-03-02T08:00:00+01:00,weight,heavy,,kg,scale,\n")


def test_a_file_uploaded_on_the_patient_page_is_stored_once_with_counts(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, south = teams
    csrf = login(client, north.clinician.email)
    url = f"/patients/{north.patient_id}/readings/upload"
    # Over the 1 MB cap of other requests (blank lines are skipped): uploads have their own.
    big = CSV + "\n" * (2 * 1024 * 1024)
    first = client.post(url, data={"csrf": csrf},
                        files={"file": ("export.csv", big.encode(), "text/csv")})
    assert first.status_code == 200, first.text
    assert "3 stored</strong>, 0 already stored, 1 refused" in first.text
    assert "line 5: " in first.text and "value" in first.text
    again = client.post(url, data={"csrf": csrf},
                        files={"file": ("export.csv", CSV.encode(), "text/csv")})
    assert "0 stored</strong>, 3 already stored, 1 refused" in again.text
    with session() as db:
        kinds = sorted(r.kind for r in db.exec(select(Reading)).all())
    assert kinds == ["blood_pressure", "glucose", "weight"]
    wrong = client.post(url, data={"csrf": csrf}, follow_redirects=False,
                        files={"file": ("notes.txt", b"hello", "text/plain")})
    assert wrong.status_code == 303
    assert "Not saved: file: give an Apple Health export" in client.get("/patients").text
    assert client.post(f"/patients/{south.patient_id}/readings/upload", data={"csrf": csrf},
                       files={"file": ("export.csv", CSV.encode())}).status_code == 404
    # Elsewhere the 1 MB cap holds.
    assert client.post(f"/patients/{north.patient_id}/reply",
                       data={"csrf": csrf, "text": "x" * (2 * 1024 * 1024)}
                       ).status_code == 413


def test_the_patients_list_sorts_by_monitoring_risk_with_the_reason(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    login(client, north.clinician.email)
    now = utcnow()
    with session() as db:
        team = db.get(CareTeam, north.id)
        assert team is not None
        made = {name: patients.add_patient(db, team=team, name=name,
                                           timezone="UTC", actor="test").id
                for name in ("Ada", "Ben", "Cem", "Dora")}
        def alert(pid: int, kind: AlertKind, severity: AlertSeverity, measure: str) -> None:
            db.add(Alert(patient_id=pid, team_id=north.id, kind=kind, severity=severity,
                         summary="s", measure=measure, direction="high", evidence_at=now))
        alert(made["Dora"], AlertKind.reading, AlertSeverity.urgent, "blood_pressure")
        alert(made["Cem"], AlertKind.reading, AlertSeverity.high, "glucose")
        alert(made["Ben"], AlertKind.trend, AlertSeverity.high, "weight")
        # A resolved urgent alert and a symptom are no monitoring risk.
        db.add(Alert(patient_id=made["Ada"], team_id=north.id, kind=AlertKind.symptom,
                     severity=AlertSeverity.urgent, summary="s"))
        db.add(Reading(patient_id=made["Ada"], kind="spo2", code="59408-5", value=84,
                       unit="%", taken_at=now - timedelta(hours=5), source="api"))
        db.add(Reading(patient_id=north.patient_id, kind="spo2", code="59408-5", value=84,
                       unit="%", taken_at=now - timedelta(days=5), source="api"))  # too old
    page = client.get("/patients?sort=monitoring").text
    order = re.findall(r'<a href="/patients/\d+">([^<]+)</a>', page)
    assert order == ["Dora", "Cem", "Ben", "Ada", "Patient of North Clinic"]
    assert "1 urgent alert: blood pressure" in page
    assert "1 high alert: glucose" in page and "trend: weight" in page
    assert "1 reading out of range in 3 days: spo2" in page
    assert "no monitoring concern" in page
    api = client.get("/api/v1/patients?sort=monitoring", headers=north.clinician.headers)
    assert [p["display_name"] for p in api.json()][:2] == ["Dora", "Cem"]


def test_a_confirmed_heart_failure_preset_keeps_its_weight_rule_when_saved_again(
        client: TestClient, teams: tuple[Team, Team]) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    url = f"/patients/{north.patient_id}"
    fields = _targets_form(client.get(f"{url}?preset=heart_failure").text)
    assert "ESC Heart Failure" in client.get(f"{url}?preset=heart_failure").text
    # The nurse lowers the suggested resting heart rate warning before confirming.
    client.post(f"{url}/targets", data={**fields, "csrf": csrf, "preset": "heart_failure",
                                        "resting_heart_rate.own": "1",
                                        "resting_heart_rate.warning_high": "95"})

    def saved() -> dict[str, tuple[str | None, float | None, float | None]]:
        with session() as db:
            return {r.measure: (r.preset, r.warning_high, r.expect_every_hours)
                    for r in db.exec(select(MeasureTarget)).all()}

    assert saved() == {"resting_heart_rate": ("heart_failure", 95, None),
                       "weight": ("heart_failure", None, 24)}
    # Saved again later without a preset (a glucose level changed): the weight rule stays.
    page = client.get(url).text
    again = _targets_form(page)
    owned = {m + ".own": "1" for m in ("resting_heart_rate", "weight")}
    client.post(f"{url}/targets", data={**again, **owned, "csrf": csrf,
                                        "glucose.warning_high": "15"})
    assert saved() == {"resting_heart_rate": ("heart_failure", 95, None),
                       "weight": ("heart_failure", None, 24), "glucose": (None, 15, None)}


def test_an_apple_health_export_zip_uploaded_on_the_patient_page_pairs_bp(
        client: TestClient, teams: tuple[Team, Team], tmp_path: Path) -> None:
    north, _ = teams
    csrf = login(client, north.clinician.email)
    t = utcnow() - timedelta(days=2)
    xml = ah.write(tmp_path / "export.xml", "".join([
        ah.blood_pressure(141, 92, t),
        ah.record("BodyMass", "kg", "81.5", t + timedelta(minutes=1)),
        ah.record("BodyMass", "kg", "4000", t + timedelta(minutes=2))]))
    archive = ah.zipped(xml, tmp_path / "export.zip")
    answer = client.post(f"/patients/{north.patient_id}/readings/upload", data={"csrf": csrf},
                         files={"file": ("export.zip", archive.read_bytes(),
                                         "application/zip")})
    assert "2 stored</strong>, 0 already stored, 1 refused" in answer.text
    assert "record 2: value: 4000 kg is not a plausible weight" in answer.text
    with session() as db:
        bp = db.exec(select(Reading).where(Reading.kind == "blood_pressure")).one()
    assert (bp.value, bp.value2, bp.source) == (141, 92, "apple_health")
    assert 'data-measure="blood_pressure"' in client.get(f"/patients/{north.patient_id}").text
