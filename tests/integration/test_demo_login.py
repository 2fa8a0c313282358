"""The demo's care-team login: a demo nurse whose one-time password is new each run and
stored only as a hash (the whole demo, console included, is in test_demo.py)."""

from __future__ import annotations

from sqlmodel import select

from assistant.config import get_settings
from assistant.interfaces import demo
from assistant.services import accounts as auth
from assistant.storage.db import session
from assistant.storage.models import TeamMember


def test_the_demo_nurse_gets_a_new_password_each_run_stored_only_as_a_hash(
        db_url: str) -> None:
    demo.seed(get_settings())
    first, second = demo.seed_nurse(), demo.seed_nurse()
    assert first != second and len(second) >= 16
    with session() as db:
        [nurse] = db.exec(select(TeamMember).where(TeamMember.email == demo.NURSE_EMAIL)).all()
        assert nurse.password_hash and second not in nurse.password_hash
    login = {"email": demo.NURSE_EMAIL, "address": "127.0.0.1"}
    with session() as db:  # a login is a unit of work of its own
        assert auth.login(db, get_settings(), password=second, **login) is not None
    with session() as db:
        assert auth.login(db, get_settings(), password=first, **login) is None  # last run's
