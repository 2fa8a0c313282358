"""Confirm before escalating (issue 11): a warning-level reading out of range is not the
team's at once; the patient is first asked in chat, with buttons, to re-measure (and, with
heart failure, whether they are more breathless than usual and their ankles more swollen).

The alert is stored from the start with status `confirming` (services/alerts.py writes it;
its `created_at` is when the patient was asked). Then the patient's next reading of that
measure decides, wherever it comes from (chat through Rasa, a device, the API): back in
range, the alert is resolved as a measuring error; still out of range, it is the team's,
"confirmed by a second reading". The patient's own "measuring error" button does not close
it: only a reading does. A "yes" to breathlessness or swollen ankles, "I can't measure
now", an urgent value, or no new reading within `CONFIRM_WAIT` (the scheduler's step,
`expire`) hand it to the team at once. Never for an urgent value, a trend, a forecast or
missing data, nor for a patient who cannot be asked (no reachable chat, paused): those go
to the team at once.

Button data: `confirm:<alert id>:<answer>` (under Telegram's 64 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from assistant import texts
from assistant.domain import findings, safety
from assistant.domain.findings import Direction, Finding, FindingKind, Severity
from assistant.domain.targets import Target
from assistant.services import alerts, audit, enrolment, wording
from assistant.services.outbox import Buttons
from assistant.storage.models import (
    PRIORITY,
    Alert,
    AlertStatus,
    CareTeam,
    MessageKind,
    OutboxMessage,
    Patient,
    PatientStatus,
)

# How long the patient has to send the new reading before the team is alerted anyway: a
# constant, not a team setting (the "30 minutes").
CONFIRM_WAIT = timedelta(minutes=30)
# A reading typed in chat is answered "Saved: ..." by the assistant at once; what the
# reading settled follows it, rather than overtaking it on its way out of the outbox.
FOLLOW_UP_DELAY = timedelta(seconds=5)
DATA = "confirm:"
AGAIN, ERROR, CANNOT = "again", "error", "cannot"
BREATHLESS_YES, BREATHLESS_NO = "breathless_yes", "breathless_no"
ANKLES_YES, ANKLES_NO = "ankles_yes", "ankles_no"
ANSWERS = (AGAIN, ERROR, CANNOT, BREATHLESS_YES, BREATHLESS_NO, ANKLES_YES, ANKLES_NO)
# How to measure again, per measure (the catalog's words).
HOW = {"blood_pressure": "confirm.how_blood_pressure", "weight": "confirm.how_weight"}
ASK = {Direction.high: "confirm.ask_high", Direction.low: "confirm.ask_low"}
# What the team reads when the patient's answer hands the alert over.
TEAM_SAYS = {CANNOT: "alert.confirm_cannot", BREATHLESS_YES: "alert.confirm_breathless",
             ANKLES_YES: "alert.confirm_ankles"}


@dataclass(frozen=True, slots=True)
class Answer:
    """What to tell the patient who pressed a button, and whether the question is over
    (its buttons can go)."""
    text: str
    done: bool


def wanted(finding: Finding) -> bool:
    """Only a warning of a reading out of range is confirmed first."""
    return finding.kind == FindingKind.reading and finding.severity == Severity.warning


def can_ask(db: Session, patient: Patient) -> bool:
    """The patient can be asked: active, with a linked chat that still receives."""
    link = enrolment.link_of(db, patient.id)
    return (patient.status == PatientStatus.active and link is not None
            and link.unreachable_at is None)


def heart_failure(patient: Patient, measure: str, *, preset: bool) -> bool:
    """Ask about breathlessness and ankles: a weight alert, the heart-failure preset in
    force, or heart failure among the patient's conditions."""
    named = any("heart failure" in c.lower().replace("_", " ").replace("-", " ")
                for c in patient.conditions)
    return measure == "weight" or preset or named


def _dedupe(alert: Alert, what: str) -> str:
    return f"confirm:{alert.id}:{what}"


def _queue(db: Session, alert: Alert, what: str, text: str, now: datetime,
           buttons: Buttons | None = None) -> None:
    """One message to the patient about the alert, once (`dedupe_key`)."""
    key = _dedupe(alert, what)
    if db.exec(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first():
        return
    db.add(OutboxMessage(patient_id=alert.patient_id, kind=MessageKind.confirm,
                         priority=PRIORITY[MessageKind.confirm], dedupe_key=key,
                         not_before=now, text=text, buttons=buttons or []))


def _language(db: Session, alert: Alert) -> str:
    """The language of the alert's patient."""
    patient = db.get(Patient, alert.patient_id)
    return patient.language if patient else texts.DEFAULT_LANGUAGE


def _asked(db: Session, alert: Alert) -> bool:
    return db.exec(select(OutboxMessage.id).where(
        OutboxMessage.dedupe_key == _dedupe(alert, "ask"))).first() is not None


def ask(db: Session, *, alert: Alert, reading: findings.Reading | None, hf: bool,
        now: datetime) -> None:
    """The request to re-measure, with its buttons (once per alert)."""
    direction = Direction(alert.direction or Direction.high)
    measure = alert.measure or ""
    language = _language(db, alert)
    shown = wording.value(reading, language) if reading is not None else ""
    text = texts.t(ASK[direction], language, measure=wording.measure(measure, language),
                   reading=shown, how=texts.t(HOW.get(measure, "confirm.how_other"), language))
    if hf:
        text += "\n\n" + texts.t("confirm.ask_heart_failure", language)

    def button(label: str, answer: str) -> dict[str, str]:
        return {"text": texts.t(label, language), "data": f"{DATA}{alert.id}:{answer}"}

    buttons = [[button("confirm.button_again", AGAIN), button("confirm.button_error", ERROR)],
               [button("confirm.button_cannot", CANNOT)]]
    if hf:
        buttons += [[button("confirm.button_breathless_yes", BREATHLESS_YES),
                     button("confirm.button_breathless_no", BREATHLESS_NO)],
                    [button("confirm.button_ankles_yes", ANKLES_YES),
                     button("confirm.button_ankles_no", ANKLES_NO)]]
    _queue(db, alert, "ask", text, now, buttons)


def remeasured(db: Session, *, alert: Alert, series: list[findings.Reading],
               target: Target | None, now: datetime) -> bool:
    """A confirming alert and the patient's readings: the first of its measure after the
    evidence decides (back in range: a measuring error; still out: the team's). False
    while no such reading came."""
    after = [r for r in findings.in_order(series, measure=alert.measure)
             if alert.evidence_at is not None and alert.evidence_at < r.at <= now]
    if not after:
        return False
    second = after[0]
    direction = Direction(alert.direction or Direction.high)
    if target is None or target.in_range(second, direction):
        measuring_error(db, alert, second, now=now)
    else:
        confirmed(db, alert, summary=alert.summary, second=second, now=now)
    return True


def measuring_error(db: Session, alert: Alert, second: findings.Reading, *,
                    now: datetime) -> None:
    """Back in range at the second reading: resolved (kept in history), patient thanked
    if they were asked."""
    alerts.clear_monitoring(db, alert, note=texts.t(
        "alert.measuring_error", reading=findings.shown(second),
        at=second.at.strftime("%Y-%m-%d %H:%M")))
    if _asked(db, alert):
        _queue(db, alert, "fine", texts.t("confirm.fine", _language(db, alert)),
               now + FOLLOW_UP_DELAY)


def confirmed(db: Session, alert: Alert, *, summary: str, second: findings.Reading | None,
              now: datetime) -> None:
    """Still out of range (or worse) at the next reading: the team's, and the patient is
    told so if they were asked."""
    if second is not None:
        summary = texts.t("alert.confirmed", summary=summary, reading=findings.shown(second))
    alerts.to_team(db, alert, summary=summary)
    if _asked(db, alert):
        _queue(db, alert, "team", texts.t("confirm.team_told", _language(db, alert)),
               now + FOLLOW_UP_DELAY)


def answer(db: Session, *, patient: Patient, data: str) -> Answer | None:
    """A button of the request, pressed in the patient's chat: None when it is not an
    alert of this patient (or the data is not ours)."""
    _, _, rest = data.partition(DATA)
    alert_id, _, said = rest.partition(":")
    alert = db.get(Alert, int(alert_id)) if alert_id.isdigit() else None
    if alert is None or alert.patient_id != patient.id or said not in ANSWERS:
        return None
    audit.record(db, actor="patient", action="alert.confirm_answer", patient_id=patient.id,
                 detail=f"alert {alert.id} {said}")
    if alert.status != AlertStatus.confirming:
        settled = alert.status == AlertStatus.resolved
        return Answer(texts.t("confirm.settled" if settled else "confirm.with_team",
                              patient.language), True)
    if said in TEAM_SAYS:
        alerts.to_team(db, alert, summary=texts.t(TEAM_SAYS[said], summary=alert.summary))
        number = safety.emergency_number(db.get(CareTeam, patient.team_id))
        return Answer(texts.t("confirm.passed_on", patient.language, number=number), True)
    if said in (BREATHLESS_NO, ANKLES_NO):
        return Answer(texts.t("confirm.noted", patient.language), False)
    minutes = f"{CONFIRM_WAIT.total_seconds() / 60:.0f}"
    return Answer(texts.t("confirm.measure_again" if said == AGAIN
                          else "confirm.measure_to_be_sure", patient.language,
                          minutes=minutes), False)


def expire(db: Session, *, now: datetime) -> int:
    """The scheduler's step: confirming alerts asked `CONFIRM_WAIT` ago or more go to the
    team. Returns how many."""
    due = db.exec(select(Alert).where(Alert.status == AlertStatus.confirming,
                                      col(Alert.created_at) <= now - CONFIRM_WAIT)
                  .order_by(col(Alert.id))).all()
    minutes = f"{CONFIRM_WAIT.total_seconds() / 60:.0f}"
    for alert in due:
        alerts.to_team(db, alert, summary=texts.t("alert.confirm_no_answer",
                                                  summary=alert.summary, minutes=minutes))
    return len(due)
