"""Claims on webhook updates, on SQLite and PostgreSQL: each update handled once by
whichever bridge claims it first, taken over when its holder's lease runs out."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from assistant.services import update_claims as claims
from assistant.services.update_claims import Outcome
from assistant.storage.db import session, utcnow
from assistant.storage.models import ChannelUpdate

LEASE = timedelta(seconds=60)


def _claim(update_id: int = 1, **kwargs: object) -> claims.Claim:
    with session() as db:
        return claims.claim(db, channel="telegram", update_id=update_id, lease=LEASE,
                            **kwargs)  # type: ignore[arg-type]


def test_the_first_claim_takes_an_update_and_a_second_finds_it_busy(any_db_url: str) -> None:
    first = _claim()
    assert first.outcome == Outcome.taken and first.holder
    second = _claim()
    assert second.outcome == Outcome.busy
    assert second.leased_until is not None and second.leased_until > utcnow()
    assert _claim(update_id=2).outcome == Outcome.taken  # another update is free


def test_a_done_update_is_answered_at_once_however_often_it_comes_again(
        any_db_url: str) -> None:
    _claim()
    with session() as db:
        claims.finish(db, channel="telegram", update_id=1)
    assert [_claim().outcome for _ in range(3)] == [Outcome.done] * 3


def test_an_expired_lease_is_taken_over_and_the_old_holder_can_no_longer_renew(
        any_db_url: str) -> None:
    old = _claim(now=utcnow() - timedelta(seconds=61))  # its holder died a minute ago
    new = _claim()
    assert new.outcome == Outcome.taken and new.holder != old.holder
    with session() as db:
        assert not claims.renew(db, channel="telegram", update_id=1, holder=old.holder,
                                lease=LEASE)
        assert claims.renew(db, channel="telegram", update_id=1, holder=new.holder,
                            lease=LEASE)
        # The old holder's failure does not free the update the new one is handling.
        claims.release(db, channel="telegram", update_id=1, holder=old.holder)
    assert _claim().outcome == Outcome.busy


def test_a_renewed_lease_keeps_the_update_from_others(any_db_url: str) -> None:
    taken = _claim(now=utcnow() - timedelta(seconds=50))
    with session() as db:
        assert claims.renew(db, channel="telegram", update_id=1, holder=taken.holder,
                            lease=LEASE)
    assert _claim(now=utcnow() + timedelta(seconds=30)).outcome == Outcome.busy


def test_a_released_claim_lets_the_next_delivery_handle_the_update(any_db_url: str) -> None:
    taken = _claim()
    with session() as db:
        claims.release(db, channel="telegram", update_id=1, holder=taken.holder)
    assert _claim().outcome == Outcome.taken


def test_old_updates_are_pruned_and_new_ones_kept(any_db_url: str) -> None:
    _claim(update_id=1, now=utcnow() - timedelta(hours=49))
    _claim(update_id=2)
    with session() as db:
        assert claims.prune(db) == 1
        assert [row.update_id for row in db.exec(select(ChannelUpdate))] == [2]


def test_only_ids_and_times_are_kept(any_db_url: str) -> None:
    _claim(update_id=2**40)  # Telegram's ids need more than 32 bits one day
    with session() as db:
        [row] = db.exec(select(ChannelUpdate)).all()
    assert row.update_id == 2**40
    assert set(ChannelUpdate.model_fields) == {"id", "channel", "update_id", "holder",
                                               "leased_until", "done_at", "received_at"}


@pytest.mark.parametrize("bridges", [8])
def test_bridges_claiming_the_same_update_at_once_take_it_once(any_db_url: str,
                                                               bridges: int) -> None:
    outcomes: list[Outcome] = []
    start = threading.Barrier(bridges)

    def bridge() -> None:
        start.wait()
        outcomes.append(_claim(update_id=7).outcome)

    threads = [threading.Thread(target=bridge) for _ in range(bridges)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(o.value for o in outcomes) == ["busy"] * (bridges - 1) + ["taken"]
