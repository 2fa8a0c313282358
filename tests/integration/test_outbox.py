"""The outbox: claims on SQLite and PostgreSQL (order, leases, one message per chat,
what is dropped instead of sent, backoff), and the drain delivering through the real
Telegram sender to the Bot API emulator, or through any channel's own sender."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta

import pytest
from sqlmodel import Session, select

from assistant import outbox, patients
from assistant.db import get_engine, session, utcnow
from assistant.models import (
    PRIORITY,
    Alert,
    AlertKind,
    ChatLink,
    DoseOccurrence,
    DoseStatus,
    MessageKind,
    OutboxMessage,
    OutboxStatus,
    Patient,
    PatientStatus,
)
from tests.telegram_emulator import Emulator
from tests.telegram_fixtures import deliver_outbox

NOW = datetime(2027, 3, 15, 8, 0, tzinfo=utcnow().tzinfo)


def _patients(db: Session, count: int, *, channel: str = "telegram",
              first_chat: int = 9000) -> list[Patient]:
    team = patients.add_team(db, name=f"Team {first_chat}", actor="test")
    made = []
    for n in range(count):
        patient = patients.add_patient(db, team=team, name=f"P{n}", timezone="UTC", actor="test")
        db.add(ChatLink(patient_id=patient.id, channel=channel, chat_id=str(first_chat + n)))
        made.append(patient)
    db.flush()
    return made


def _message(db: Session, patient: Patient, text: str, *, kind: MessageKind = MessageKind.advice,
             at: datetime = NOW, occurrence_id: int | None = None) -> OutboxMessage:
    message = OutboxMessage(patient_id=patient.id, kind=kind, priority=PRIORITY[kind], text=text,
                            not_before=at, occurrence_id=occurrence_id)
    db.add(message)
    db.flush()
    return message


def _dose(db: Session, patient: Patient, status: DoseStatus = DoseStatus.sent) -> int:
    patients.add_medication(db, patient=patient, name="Metformin", actor="test",
                            schedule=patients.ScheduleSpec(times=("08:00",)))
    [(med, row)] = patients.medications(db, patient.id)
    assert row is not None
    occ = DoseOccurrence(schedule_id=row.id, medication_id=med.id, patient_id=patient.id,
                         due_at=NOW, status=status)
    db.add(occ)
    db.flush()
    return occ.id


def _claim(channel: str = "telegram", limit: int = 10, now: datetime = NOW,
           lease_seconds: float = 60) -> list[OutboxMessage]:
    with session() as db:
        return outbox.claim(db, channel=channel, limit=limit, now=now,
                            lease_seconds=lease_seconds)


def _statuses() -> dict[str, tuple[OutboxStatus, str | None]]:
    with session() as db:
        return {m.text: (m.status, m.last_error) for m in db.exec(select(OutboxMessage))}


# --- claims (SQLite and PostgreSQL) ------------------------------------------------------

def test_claims_come_most_urgent_first_and_only_for_chats_linked_on_the_channel(
        any_db: Session) -> None:
    a, b, unlinked, blocked = _patients(any_db, 4)
    [console] = _patients(any_db, 1, channel="console", first_chat=1)
    for link in any_db.exec(select(ChatLink)):
        if link.patient_id == unlinked.id:
            link.unlinked_at = NOW
        if link.patient_id == blocked.id:
            link.unreachable_at = NOW
    _message(any_db, a, "old advice", at=NOW - timedelta(hours=1))
    _message(any_db, b, "reminder", kind=MessageKind.reminder)
    _message(any_db, unlinked, "to nobody")
    _message(any_db, blocked, "to a blocked chat")
    _message(any_db, console, "to the console")
    _message(any_db, a, "not yet", at=NOW + timedelta(minutes=1))
    any_db.commit()
    claimed = _claim()
    assert [m.text for m in claimed] == ["reminder", "old advice"]
    assert [(m.channel, m.chat_id) for m in claimed] == [("telegram", "9001"),
                                                        ("telegram", "9000")]
    assert [m.text for m in _claim(channel="console")] == ["to the console"]


def test_a_claim_is_a_lease_that_a_crashed_worker_lets_run_out(any_db: Session) -> None:
    [a] = _patients(any_db, 1)
    _message(any_db, a, "hello")
    any_db.commit()
    [first] = _claim(lease_seconds=30)
    assert first.claimed_until == NOW + timedelta(seconds=30) and first.attempts == 1
    assert _claim(now=NOW + timedelta(seconds=29)) == []  # another worker keeps off
    [again] = _claim(now=NOW + timedelta(seconds=31))  # the first one never answered
    assert again.id == first.id and again.attempts == 2


def test_one_message_per_chat_per_claim_in_order(any_db: Session) -> None:
    [a, b] = _patients(any_db, 2)
    for n in range(3):
        _message(any_db, a, f"a{n}", at=NOW - timedelta(minutes=3 - n))
    _message(any_db, b, "b0")
    any_db.commit()
    assert [m.text for m in _claim()] == ["a0", "b0"]
    with session() as db:
        for message in db.exec(select(OutboxMessage).where(OutboxMessage.text.in_(  # type: ignore[attr-defined]
                ["a0", "b0"]))):
            outbox.mark_sent(db, message.id, 1)
    assert [m.text for m in _claim()] == ["a1"]
    assert [m.text for m in _claim(now=NOW + timedelta(seconds=30))] == []  # a1 on its way


def test_reminders_of_answered_or_replaced_doses_are_dropped_not_sent(any_db: Session) -> None:
    [a, b, c] = _patients(any_db, 3)
    answered = _dose(any_db, a, DoseStatus.taken)
    open_dose = _dose(any_db, b)
    missed = _dose(any_db, c, DoseStatus.missed)
    _message(any_db, a, "remind a", kind=MessageKind.reminder, occurrence_id=answered)
    _message(any_db, b, "remind b", kind=MessageKind.reminder, occurrence_id=open_dose,
             at=NOW - timedelta(minutes=30))
    _message(any_db, b, "nudge b", kind=MessageKind.nudge, occurrence_id=open_dose)
    _message(any_db, c, "nudge c", kind=MessageKind.nudge, occurrence_id=missed)
    any_db.commit()
    assert [m.text for m in _claim()] == ["nudge b"]
    statuses = _statuses()
    assert statuses["remind a"] == (OutboxStatus.dropped, "dose taken")
    assert statuses["remind b"] == (OutboxStatus.dropped, "replaced by a newer reminder")
    assert statuses["nudge c"] == (OutboxStatus.dropped, "dose missed")


def test_a_paused_patient_gets_no_reminders_or_advice_but_still_hears_the_team(
        any_db: Session) -> None:
    [paused, stopped] = _patients(any_db, 2)
    paused.status, stopped.status = PatientStatus.paused, PatientStatus.stopped
    dose = _dose(any_db, paused)
    _message(any_db, paused, "reminder", kind=MessageKind.reminder, occurrence_id=dose)
    _message(any_db, paused, "advice")
    _message(any_db, paused, "from the team", kind=MessageKind.reply)
    _message(any_db, stopped, "to a stopped patient", kind=MessageKind.reply)
    any_db.commit()
    assert [m.text for m in _claim()] == ["from the team"]
    statuses = _statuses()
    assert statuses["reminder"] == statuses["advice"] == (OutboxStatus.dropped, "patient paused")
    assert statuses["to a stopped patient"] == (OutboxStatus.dropped, "patient stopped")


def test_failures_back_off_and_give_up_after_the_last_try(any_db: Session) -> None:
    [a] = _patients(any_db, 1)
    message_id = _message(any_db, a, "hello", at=utcnow() - timedelta(seconds=1)).id
    any_db.commit()
    waits = []
    for _ in range(outbox.MAX_ATTEMPTS):
        [claimed] = _claim(now=utcnow())
        before = utcnow()
        with session() as db:
            outbox.retry_later(db, claimed.id, "Bad Gateway")
            row = db.get(OutboxMessage, message_id)
            assert row is not None
            if row.status == OutboxStatus.pending:
                waits.append(round((row.not_before - before).total_seconds()))
                row.not_before = utcnow()  # the test does not wait
    assert waits == [5, 10, 20, 40, 80, 160, 320]
    assert _statuses()["hello"] == (OutboxStatus.failed, "Bad Gateway")


def test_released_claims_can_be_claimed_again_at_once(any_db: Session) -> None:
    [a] = _patients(any_db, 1)
    _message(any_db, a, "hello")
    any_db.commit()
    [claimed] = _claim()
    with session() as db:
        outbox.release(db, [claimed.id])
    [again] = _claim()
    assert again.id == claimed.id and again.attempts == 1


@pytest.mark.postgres
def test_two_workers_on_postgresql_claim_different_messages(pg_db_url: str) -> None:
    with session() as db:
        for n, patient in enumerate(_patients(db, 6)):
            _message(db, patient, f"m{n}")
    engine = get_engine()
    with Session(engine) as first, Session(engine) as second:
        mine = outbox.claim(first, channel="telegram", limit=3, now=NOW)  # not committed yet
        theirs = outbox.claim(second, channel="telegram", limit=10, now=NOW)
        assert {m.text for m in mine} == {"m0", "m1", "m2"}
        assert {m.text for m in theirs} == {"m3", "m4", "m5"}  # skipped, not waited for
        first.commit()
        second.commit()


# --- the drain (real sender, emulator) ----------------------------------------------------

def _seed(count: int, per_chat: int = 1, kind: MessageKind = MessageKind.advice) -> list[int]:
    with session() as db:
        made = _patients(db, count)
        for patient in made:
            for n in range(per_chat):
                _message(db, patient, f"{patient.display_name}.{n}", kind=kind,
                         at=utcnow() - timedelta(seconds=per_chat - n))
        return [patient.id for patient in made]


def test_the_drain_delivers_everything_once_and_records_telegrams_ids(
        telegram_emulator: Emulator, db_url: str) -> None:
    _seed(5, per_chat=3)
    deliver_outbox()
    sent = telegram_emulator.sent()
    assert len(sent) == 15 and len({(m.chat_id, m.text) for m in sent}) == 15
    for chat in range(9000, 9005):
        assert [m.text for m in telegram_emulator.sent(chat)] == [
            f"P{chat - 9000}.{n}" for n in range(3)]  # in order
    with session() as db:
        rows = db.exec(select(OutboxMessage)).all()
        assert {r.status for r in rows} == {OutboxStatus.sent}
        assert sorted(r.telegram_message_id or 0 for r in rows) == \
            sorted(m.message_id for m in sent)


def test_a_burst_to_many_chats_stays_under_the_bot_limit_and_loses_nothing(
        telegram_emulator: Emulator, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    telegram_emulator.limit_per_second = 30
    _seed(60, kind=MessageKind.reminder)
    started = time.monotonic()
    deliver_outbox(timeout=20)
    elapsed = time.monotonic() - started
    assert len(telegram_emulator.sent()) == 60
    assert telegram_emulator.too_many_requests == 0
    assert elapsed >= 59 / 30 * 0.95


def test_a_blocked_chat_is_marked_unreachable_and_not_retried(
        telegram_emulator: Emulator, db_url: str) -> None:
    [patient_id] = _seed(1, per_chat=3)
    telegram_emulator.block_chat(9000)
    deliver_outbox()
    statuses = [status for status, _ in _statuses().values()]
    assert sorted(statuses) == [OutboxStatus.dropped, OutboxStatus.dropped, OutboxStatus.failed]
    with session() as db:
        [alert] = db.exec(select(Alert)).all()
        assert alert.kind == AlertKind.unreachable and alert.patient_id == patient_id
        assert outbox.claim(db, channel="telegram", limit=10) == []
    assert telegram_emulator.calls["sendMessage"] == 1


def test_429s_and_server_errors_are_retried_and_nothing_is_lost_or_doubled(
        telegram_emulator: Emulator, db_url: str) -> None:
    _seed(10)
    telegram_emulator.fail_next("sendMessage", 429, retry_after=1)
    telegram_emulator.fail_next("sendMessage", 502, times=2)
    telegram_emulator.fail_next("sendMessage", 500)
    deliver_outbox()
    texts = sorted(m.text for m in telegram_emulator.sent())
    assert texts == sorted(f"P{n}.0" for n in range(10))
    assert {status for status, _ in _statuses().values()} == {OutboxStatus.sent}


def test_a_message_telegram_refuses_fails_at_once(telegram_emulator: Emulator,
                                                  db_url: str) -> None:
    _seed(1)
    telegram_emulator.fail_next("sendMessage", 400,
                                description="Bad Request: can't parse entities")
    deliver_outbox()
    assert _statuses()["P0.0"] == (OutboxStatus.failed, "Can't parse entities")
    assert telegram_emulator.calls["sendMessage"] == 1


def test_a_send_that_keeps_failing_waits_for_a_later_try(telegram_emulator: Emulator,
                                                          db_url: str) -> None:
    _seed(1)
    telegram_emulator.fail_next("sendMessage", 500, times=5)  # all of the sender's tries
    deliver_outbox(timeout=3)
    with session() as db:
        [row] = db.exec(select(OutboxMessage)).all()
        assert row.status == OutboxStatus.pending and row.attempts == 1
        assert row.not_before >= utcnow() + timedelta(seconds=20)
        assert row.claimed_until is None and row.last_error is not None
    assert telegram_emulator.sent() == []


# --- the drain with another channel's sender ----------------------------------------------

def test_any_channel_drains_the_same_outbox_with_its_own_sender(db_url: str) -> None:
    with session() as db:
        [patient] = _patients(db, 1, channel="console", first_chat=1)
        _message(db, patient, "hello console", at=utcnow())
    printed: list[tuple[str, str]] = []

    async def printer(chat_id: str, text: str, buttons: outbox.Buttons) -> int:
        printed.append((chat_id, text))
        return len(printed)

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(outbox.drain(printer, channel="console", stop=stop,
                                                idle_seconds=0.05))
        while not printed:
            await asyncio.sleep(0.02)
        stop.set()
        await task

    asyncio.run(run())
    assert printed == [("1", "hello console")]
    assert _statuses()["hello console"][0] == OutboxStatus.sent


def test_stopping_the_drain_gives_back_what_it_had_not_tried(db_url: str) -> None:
    _seed(20)
    started = asyncio.Event()

    async def slow(chat_id: str, text: str, buttons: outbox.Buttons) -> int:
        started.set()
        await asyncio.sleep(0.3)
        return 1

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(outbox.drain(slow, channel="telegram", stop=stop,
                                                batch=10, concurrency=2))
        await started.wait()
        stop.set()
        await task

    asyncio.run(run())
    with session() as db:
        rows = db.exec(select(OutboxMessage)).all()
    sent = [r for r in rows if r.status == OutboxStatus.sent]
    pending = [r for r in rows if r.status == OutboxStatus.pending]
    assert len(sent) == 2 and len(pending) == 18  # the two in flight were finished
    assert all(r.claimed_until is None and r.attempts == 0 for r in pending)
