"""Scale-out (issue 12): 3 scheduler workers, 2 senders and 2 webhook bridges, real
processes, on one PostgreSQL and one Redis, deliver a burst of reminders due at the same
moment (4 doses per chat, so the one-message-a-second limit of each chat binds too), while
one worker and one sender are SIGKILLed mid-burst and started again: every reminder
arrives, at most one duplicate per kill, and the Bot API emulator, which answers 429 to
anything over its limits, never has to.

Meanwhile patients act through the bridges (Telegram posts to a round-robin balancer in
front of them), on what needs no Rasa: every quarter of a second one whose first reminder
has just arrived presses its Taken (the bridge answers the press and edits the reminder),
and every other one sends a sticker too (answered with a message, while three more
reminders wait for that chat). Each press is recorded and answered once, each sticker
answered once, and the sticker's answer goes before the chat's reminders still waiting
when it asks for its turn (but one that may already hold the chat's turn): the patient
waits the chat's one second after the reminder, not behind the queue. The
emulator counts messages sent (sendMessage: reminders and the bridges' answers alike)
against the limits, as Telegram does; answers to presses and edits are not messages and
go uncounted (tests/telegram_emulator.py).

Size and speed: at Telegram's own 30 messages a second, the issue's 20,000 reminders take
11 minutes, too long for a suite that must stay well under 20 minutes on 2 cores. The
bot's rate is raised here (`RATE`, CARELOOP_TELEGRAM_RATE_PER_SECOND) with the emulator
held strictly to that same rate: what is under test (the shared budget kept, nothing
lost, little repeated, replies first) does not depend on the number. Two senders spend
about 7 ms of CPU a message (PTB, httpx, four Redis scripts, the outbox's record); on the
2-core machine shared with other work they delivered about 80 messages a second at a rate
of 150, so `RATE` is 100 (the senders, not the emulator at ~1 ms a message, are the
bottleneck). With the bridges, the balancer and the patients' updates beside them, the
burst went at 66 to 81 a second: 10,000 reminders (2,500 chats × 4) take 2 to 2.5
minutes, plus 30 to 60 s for seven Python processes to start and stop on a loaded machine.
20,000 would take 4.5 to 5.5 minutes there: `CARELOOP_TEST_SCALE_CHATS=5000` runs that size
(the README says how it went). bench/scale_out.py runs the same at the real limit, without
bridges.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis

from assistant.channels.telegram.pace import HOLD_MS
from assistant.storage.db import utcnow
from assistant.texts import t
from tests.conftest import free_port
from tests.pace_watch import ReplyAsks
from tests.scale_out import (
    Act,
    Fleet,
    Patients,
    busiest_second,
    closest_in_a_chat,
    make_due,
    occurrence_of,
    percentile,
    queued,
    reminders,
    seed_patients,
    taken,
    unsent,
)
from tests.telegram_emulator import Emulator
from tests.webhook_balancer import Balancer

# The full size, 20,000 reminders: CARELOOP_TEST_SCALE_CHATS=5000 (about 5 minutes).
CHATS, PER_CHAT = int(os.environ.get("CARELOOP_TEST_SCALE_CHATS", "2500")), 4
REMINDERS = CHATS * PER_CHAT
RATE = 100                 # messages a second, for the bot and for the emulator alike
KILLS = 2                  # one scheduler worker, one sender
ROLES = {"scheduler": 3, "sender": 2}  # and two webhook bridges behind a balancer
BRIDGES = 2
ACT_EVERY = 0.25           # seconds between two patients acting through the bridges
SECRET = "webhook-secret-of-the-scale-test"
UNSUPPORTED = t("chat.unsupported")
TAKEN = t("dose.taken", medication="\0").split("\0")[0]  # "Noted: … taken"
CHAT_INTERVAL = 1.0        # seconds between two messages to one chat
# How long a patient may wait for the bridges, from the design; the queue of reminders
# takes REMINDERS / RATE = 100 s. A press's answer and edit are not messages: no budget
# holds them, only the trip through the webhook and one transaction (up to 3.6 s measured
# on the loaded 2-core machine). A sticker's answer is a message, and comes that same trip
# plus its pace: the chat's interval after the reminder just sent there, then its turn in
# the bot's budget, where the outbox has at most one send per sender reserved ahead of it
# and at most a second's worth of sends are counted; the chat's waiting reminders do not go
# first (pace.py). That order is asserted as an order (tests/pace_watch.py sees when each
# answer asked for its turn); its pace is printed (0.95 s p99 alone, 2.1 s in the suite).
# Without the order, an answer took its turn among the chat's three other reminders: 4.1 s
# p99, and a third of those that asked with two or more to go let some go first.
PRESS_BOUND = 5.0
PACE_BOUND = CHAT_INTERVAL + 1.0  # what a sticker's answer should wait more than the press


@pytest.fixture
def fleet(pg_db_url: str, redis_url: str, telegram_emulator: Emulator,
          tmp_path: Path) -> Iterator[Fleet]:
    """The patients seeded and the processes started, nothing due yet: scheduler workers,
    senders, and webhook bridges (Rasa down: what patients do here needs none) behind a
    round-robin balancer that Telegram posts to."""
    redis.Redis.from_url(redis_url).flushdb()
    telegram_emulator.limit_per_second, telegram_emulator.chat_interval = RATE, CHAT_INTERVAL
    seed_patients(pg_db_url, CHATS, PER_CHAT)
    env = {"CARELOOP_REDIS_URL": redis_url, "CARELOOP_TELEGRAM_RATE_PER_SECOND": str(RATE),
           "CARELOOP_TELEGRAM_CHAT_INTERVAL_SECONDS": str(CHAT_INTERVAL),
           "CARELOOP_SCHEDULER_SENDS": "false", "CARELOOP_SCHEDULER_TICK_SECONDS": "0.5",
           # A killed sender's messages are sent again after this. A live sender may
           # hold a claim longer than its few seconds in hand: a chat whose send died
           # with the killed sender waits out its place in Redis (pace.HOLD_MS, 30 s).
           "CARELOOP_OUTBOX_LEASE_SECONDS": "40"}
    ports = [free_port() for _ in range(BRIDGES)]
    with Balancer([f"http://127.0.0.1:{port}" for port in ports]) as balancer, \
            Fleet(tmp_path / "logs", env) as processes:
        for role, copies in ROLES.items():
            for n in range(copies):
                processes.start(f"{role}{n}", role)
        for n, port in enumerate(ports):
            processes.start(f"bridge{n}", "bridge", {
                "CARELOOP_WEBHOOK_URL": balancer.url, "CARELOOP_WEBHOOK_SECRET": SECRET,
                "CARELOOP_WEBHOOK_PORT": str(port), "CARELOOP_RASA_HOLD_SECONDS": "0",
                "CARELOOP_RASA_URL": f"http://127.0.0.1:{free_port()}"})  # nothing listens
        processes.wait_started()
        yield processes


def _until(check: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.05)


def _answered(telegram: Emulator, act: Act) -> bool:
    """The press answered and its reminder edited; the sticker, if any, answered."""
    return (act.query in telegram.answered_at
            and (act.chat, act.reminder.message_id) in telegram.edited_at
            and (not act.sticker or bool(_sticker_answers(telegram, act))))


def _sticker_answers(telegram: Emulator, act: Act) -> list[float]:
    return [m.accepted for m in telegram.messages_to(act.chat) if m.text == UNSUPPORTED]


def _ahead_of_replies(telegram: Emulator, acts: list[Act],
                      asked: dict[int, float]) -> list[tuple[int, int]]:
    """For each sticker: how many of its chat's reminders were still to go when its answer
    asked for the chat's turn, and how many of those went before the answer."""
    counts = []
    for act in (a for a in acts if a.sticker):
        answer = _sticker_answers(telegram, act)[0]
        waiting = [m.accepted for m in telegram.messages_to(act.chat)
                   if occurrence_of(m) is not None and m.accepted > asked[act.chat]]
        counts.append((len(waiting), sum(at < answer for at in waiting)))
    return counts


def _waits(telegram: Emulator, acts: list[Act]) -> tuple[list[float], list[float],
                                                         list[float]]:
    """How long each patient waited: for the press's answer and edit; for the sticker's
    answer; and what the sticker waited more than the press beside it (its pace: both
    made the same trip through the webhook at the same moment)."""
    def press(act: Act) -> float:
        return max(telegram.answered_at[act.query],
                   telegram.edited_at[(act.chat, act.reminder.message_id)]) - act.at

    stickers = [a for a in acts if a.sticker]
    answered = [_sticker_answers(telegram, a)[0] - a.at for a in stickers]
    return ([press(a) for a in acts], answered,
            [wait - press(a) for wait, a in zip(answered, stickers, strict=True)])


@pytest.mark.postgres
def test_a_burst_survives_killed_workers_and_keeps_the_bot_s_limits(
        fleet: Fleet, pg_db_url: str, redis_url: str, telegram_emulator: Emulator) -> None:
    telegram = telegram_emulator
    due = utcnow().replace(microsecond=0)
    make_due(pg_db_url, CHATS, PER_CHAT, due)
    started = time.monotonic()

    with ReplyAsks(redis_url) as replies, Patients(telegram, ACT_EVERY) as patients:
        # A scheduler worker dies while the workers are still queuing the burst (or, on a
        # fast machine, just after), a sender when a third has gone out; both come back at
        # once.
        _until(lambda: queued(pg_db_url) >= REMINDERS // 3, "a third queued", timeout=60)
        fleet.kill("scheduler0")
        queued_at_kill = queued(pg_db_url)
        fleet.start("scheduler0", "scheduler")
        _until(lambda: len(telegram.sent) >= REMINDERS // 3, "a third sent",
               timeout=2 * REMINDERS / RATE)
        fleet.kill("sender0")
        fleet.start("sender0", "sender")

        _until(lambda: len(reminders(telegram)) == REMINDERS and not unsent(pg_db_url),
               "every reminder delivered and recorded", timeout=5 * REMINDERS / RATE)
        elapsed = time.monotonic() - started
    acts = patients.acts
    _until(lambda: all(_answered(telegram, act) for act in acts), "every patient answered",
           timeout=60)
    seen = reminders(telegram)
    duplicates = sum(count - 1 for count in seen.values())
    sent = list(telegram.sent)
    stickers = sum(act.sticker for act in acts)
    pressed, answered, paced = _waits(telegram, acts)
    ahead = _ahead_of_replies(telegram, acts, replies.asked)
    raced = [went for waiting, went in ahead if waiting >= 2]
    print(f"{REMINDERS} reminders in {elapsed:.0f} s: {REMINDERS / elapsed:.1f}/s against "
          f"{RATE}/s; {duplicates} duplicates; busiest second {busiest_second(sent)}; a "
          f"worker killed with {queued_at_kill} queued; {len(acts)} presses, {stickers} "
          f"stickers through {BRIDGES} bridges: press answered and edited in p50 "
          f"{percentile(pressed, 0.5):.2f} s, p99 {percentile(pressed, 0.99):.2f} s, max "
          f"{max(pressed):.2f} s; sticker answered in p50 {percentile(answered, 0.5):.2f} s, "
          f"p99 {percentile(answered, 0.99):.2f} s, max {max(answered):.2f} s, of which its "
          f"pace p50 {percentile(paced, 0.5):.2f} s, p99 {percentile(paced, 0.99):.2f} s; "
          f"{len(raced)} answers asked with 2 or more of the chat's reminders to go, and "
          f"let {Counter(raced)} of them go first")
    assert duplicates <= KILLS, f"{duplicates} duplicates after {KILLS} kills"
    assert telegram.too_many_requests == 0
    assert busiest_second(sent) <= RATE
    assert closest_in_a_chat(sent) >= CHAT_INTERVAL
    assert len(sent) == REMINDERS + duplicates + stickers  # nothing else went out
    # Every press recorded once (a second handling would say "already recorded") and
    # answered once; every sticker answered once.
    assert len(acts) >= elapsed / ACT_EVERY / 4
    for act in acts:
        assert telegram.answered.count(act.query) == 1
        edits = [e for e in telegram.edits if (int(e["chat_id"]), int(e["message_id"]))
                 == (act.chat, act.reminder.message_id)]
        assert len(edits) == 1 and TAKEN in edits[0]["text"], edits
        assert len(_sticker_answers(telegram, act)) == act.sticker
    assert taken(pg_db_url, [occurrence_of(act.reminder) for act in acts]) == len(acts)
    # Neither waited behind the reminders queued (REMINDERS / RATE seconds of them). A chat
    # whose turn a killed sender held is freed only after pace.HOLD_MS: hence p99.
    assert percentile(pressed, 0.99) <= PRESS_BOUND
    # The sticker's answer went before its chat's reminders still waiting when it asked,
    # but the one that may already have had the chat's turn.
    assert max(went for _, went in ahead) <= 1, ahead
    assert len(raced) >= stickers // 4  # and many did wait, or this proves little
    assert percentile(answered, 0.99) <= PRESS_BOUND + PACE_BOUND
    assert max(answered) <= HOLD_MS / 1000 + PRESS_BOUND + PACE_BOUND
