"""The escalation ladder on real SQL (SQLite and PostgreSQL), with the clock given by the
test: an urgent alert nobody acknowledged goes to the on-call members one after the other,
through the outbox to their linked chats (and once through the real sender to the Bot API
emulator); members link their chat with `/start CODE` through the real bridge, and their
chat never reaches the assistant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from assistant.services import (
    alerts,
    enrolment,
    escalation,
    member_chats,
    outbox,
    patients,
    teams,
)
from assistant.storage.db import session
from assistant.storage.models import (
    Alert,
    AlertKind,
    AlertSeverity,
    AlertStatus,
    CareTeam,
    MemberChat,
    MessageKind,
    OutboxMessage,
    Role,
    TeamMember,
)
from assistant.texts import t
from tests.integration.test_telegram_bridge import deliver_outbox
from tests.telegram_emulator import Emulator

RAISED = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
MEMBER_CHAT = 7100


def _team(db: Session, *, on_call: int = 3, linked: bool = True) -> tuple[CareTeam, list[int]]:
    """A team with `on_call` members on its list in order, each with a linked chat."""
    team = teams.add_team(db, name="Ward 9", actor="test")
    ids = []
    for n in range(on_call):
        member = teams.add_member(db, team=team, name=f"Nurse {n}", email=f"n{n}@ward9.example",
                                  role=Role.clinician, password_hash=None, actor="test")
        if linked:
            db.add(MemberChat(member_id=member.id, chat_id=str(MEMBER_CHAT + n)))
        ids.append(member.id)
    teams.change_settings(db, team, {"escalate_after_minutes": 15}, actor="test")
    teams.set_on_call(db, team, ids, actor="test")
    db.commit()
    return team, ids


def _alert(db: Session, team: CareTeam, severity: AlertSeverity = AlertSeverity.urgent) -> Alert:
    patient = patients.add_patient(db, team=team, name="Ada Lovelace", timezone="UTC",
                                   actor="test")
    alert = alerts.raise_alert(db, patient=patient, kind=AlertKind.reading, severity=severity,
                               summary="Glucose 2.1 mmol/L, below the urgent low of 3.0.")
    assert alert is not None
    alert.created_at = RAISED
    db.commit()
    return alert


def _run(db: Session, minutes: int) -> int:
    count = escalation.check_escalations(db, now=RAISED + timedelta(minutes=minutes))
    db.commit()
    return count


def _sent_to(db: Session) -> list[int | None]:
    return list(db.exec(select(OutboxMessage.member_id).where(
        OutboxMessage.kind == MessageKind.escalation).order_by(col(OutboxMessage.id))).all())


def test_an_unacknowledged_urgent_alert_climbs_the_on_call_list(any_db: Session) -> None:
    team, (first, second, third) = _team(any_db)
    alert = _alert(any_db, team)
    assert _run(any_db, 14) == 0
    assert _run(any_db, 15) == 1
    assert _sent_to(any_db) == [first]
    message = any_db.exec(select(OutboxMessage)).one()
    assert "Ada Lovelace" in message.text and "Glucose 2.1" in message.text
    assert f"/alerts#alert-{alert.id}" in message.text
    assert _run(any_db, 16) == 0      # the same step is never taken twice
    assert _run(any_db, 29) == 0      # the next period counts from the last step
    assert _run(any_db, 30) == 1
    assert _run(any_db, 45) == 1
    assert _sent_to(any_db) == [first, second, third]
    assert _run(any_db, 600) == 0     # the end of the list: the ladder stops
    [steps] = escalation.steps(any_db, [alert.id]).values()
    assert [(s.member_id, s.at) for s in steps] == [
        (first, RAISED + timedelta(minutes=15)), (second, RAISED + timedelta(minutes=30)),
        (third, RAISED + timedelta(minutes=45))]


@pytest.mark.parametrize("status", [AlertStatus.acknowledged, AlertStatus.resolved])
def test_acknowledging_stops_the_ladder(any_db: Session, status: AlertStatus) -> None:
    team, (first, _, _) = _team(any_db)
    alert = _alert(any_db, team)
    assert _run(any_db, 15) == 1
    alerts.update_alert(any_db, alert, actor="test", status=status, note="seen, called her")
    any_db.commit()
    assert _run(any_db, 30) == 0 and _run(any_db, 600) == 0
    assert _sent_to(any_db) == [first]


def test_an_inactive_member_or_one_without_a_chat_is_skipped(any_db: Session) -> None:
    team, (first, second, third) = _team(any_db)
    gone = any_db.get(TeamMember, first)
    assert gone is not None
    gone.active = False
    member_chats.unlink(any_db, member_id=second, actor="test")
    any_db.commit()
    _alert(any_db, team)
    assert _run(any_db, 15) == 1
    assert _sent_to(any_db) == [third]


def test_only_urgent_alerts_escalate_and_only_with_an_on_call_list(any_db: Session) -> None:
    team, _ = _team(any_db)
    _alert(any_db, team, severity=AlertSeverity.high)
    assert _run(any_db, 600) == 0
    teams.set_on_call(any_db, team, [], actor="test")
    _alert(any_db, team)
    assert _run(any_db, 600) == 0
    assert _sent_to(any_db) == []


def test_the_on_call_list_takes_only_active_members_of_the_team_each_once(
        any_db: Session) -> None:
    team, (first, second, _) = _team(any_db)
    other = teams.add_team(any_db, name="Elsewhere", actor="test")
    stranger = teams.add_member(any_db, team=other, name="X", email="x@else.example",
                                role=Role.clinician, password_hash=None, actor="test")
    for bad in ([first, first], [stranger.id], ["1"], [True]):
        with pytest.raises(ValueError, match="member_ids"):
            teams.set_on_call(any_db, team, bad, actor="test")
    teams.set_on_call(any_db, team, [second, first], actor="test")
    assert team.on_call == [second, first]


def test_the_member_gets_the_escalation_in_their_chat_through_the_real_sender(
        telegram_emulator: Emulator, db_url: str) -> None:
    with session() as db:
        team, _ = _team(db, on_call=1)
        _alert(db, team)
        assert _run(db, 15) == 1
    deliver_outbox()
    [message] = telegram_emulator.messages_to(MEMBER_CHAT)
    assert message.text.startswith("Urgent alert not acknowledged: Ada Lovelace.")


def test_a_member_links_their_chat_with_a_code_and_it_never_reaches_the_assistant(
        bridge: Emulator) -> None:
    with session() as db:
        team, _ = _team(db, on_call=0)
        nurse = teams.add_member(db, team=team, name="Grace", email="grace@ward9.example",
                                 role=Role.clinician, password_hash=None, actor="test")
        code, _ = member_chats.issue_code(db, member=nurse, actor="test")
        patient = patients.add_patient(db, team=team, name="Ada", timezone="UTC", actor="test")
        patient_code = enrolment.issue_code(db, patient=patient, actor="test", hours=1).code
    bridge.inject_text(MEMBER_CHAT, f"/start {code}")
    assert bridge.wait_for(MEMBER_CHAT)[0].text == t("member.linked", name="Grace")
    with session() as db:
        linked = member_chats.linked_member(db, "telegram", str(MEMBER_CHAT))
        assert linked is not None and linked.id == nurse.id
    # Words, commands and a patient's code: the member's short text, no conversation, no
    # consent notice (no Rasa runs here: a patient's chat would get the fallback).
    for n, text in enumerate(["what does Ada take today?", "/today", f"/start {patient_code}"]):
        bridge.inject_text(MEMBER_CHAT, text)
        assert bridge.wait_for(MEMBER_CHAT, n + 2)[n + 1].text == t("member.chat")
    bridge.inject_text(MEMBER_CHAT, "/stop")
    assert bridge.wait_for(MEMBER_CHAT, 5)[4].text == t("member.stopped")
    bridge.inject_text(MEMBER_CHAT + 1, f"/start {code}")  # used: the neutral answer
    assert bridge.wait_for(MEMBER_CHAT + 1)[0].text == t("join.refused")
    with session() as db:
        assert member_chats.linked_member(db, "telegram", str(MEMBER_CHAT)) is None
        assert enrolment.linked_patient(db, "telegram", str(MEMBER_CHAT)) is None


def test_the_outbox_hands_a_members_message_to_their_chat_and_drops_it_once_inactive(
        any_db: Session) -> None:
    team, (first, _, _) = _team(any_db)
    _alert(any_db, team)
    _alert(any_db, team)
    _run(any_db, 15)
    messages = any_db.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    assert [m.member_id for m in messages] == [first, first]
    assert outbox.claim(any_db, channel="console", limit=10) == []
    [claimed] = outbox.claim(any_db, channel="telegram", limit=1)
    assert claimed.chat_id == str(MEMBER_CHAT) and "Ada Lovelace" in claimed.text
    any_db.commit()
    member = any_db.get(TeamMember, first)
    assert member is not None
    member.active = False   # deactivated while the second message waited
    any_db.commit()
    assert outbox.claim(any_db, channel="telegram", limit=10) == []
    any_db.commit()
    any_db.refresh(messages[1])
    assert (messages[1].status, messages[1].last_error) == ("dropped", "member inactive")
