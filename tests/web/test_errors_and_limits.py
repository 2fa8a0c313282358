"""What the web application does with its own failures: an unexpected error is a plain
500 whose log names the error and the route, never the values (no SQL parameters, no
health data)."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy.engine import make_url

from assistant.settings import get_settings
from tests.web.conftest import Team


class _Collected(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(("httpx", "httpcore")):  # the test's own client
            self.lines.append(self.format(record))  # with the traceback, if any

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def server_log() -> Iterator[_Collected]:
    """Everything the web server logs, from INFO up, uvicorn's own loggers (which do not
    propagate to the root logger) included."""
    collected = _Collected()
    loggers = [logging.getLogger(name) for name in ("", "uvicorn", "uvicorn.access")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(collected)
    logging.getLogger().setLevel(logging.INFO)
    try:
        yield collected
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(collected)
            logger.setLevel(level)


def _once_logged(log: _Collected, word: str) -> str:
    """The log once `word` is in it (a server may log an error after it has answered)."""
    deadline = time.monotonic() + 10
    while word not in log.text:
        assert time.monotonic() < deadline, f"{word!r} never logged"
        time.sleep(0.05)
    return log.text


def test_a_500_logs_neither_values_nor_parameters(console_url: str, teams: tuple[Team, Team],
                                                  server_log: _Collected) -> None:
    north, _ = teams
    # The database itself refuses the reading: a failure inside the database, mid-route.
    with sqlite3.connect(str(make_url(get_settings().db_url).database)) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE INSERT ON readings "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    answer = httpx.post(f"{console_url}/api/v1/patients/{north.patient_id}/readings",
                        headers=north.admin.headers,
                        json={"kind": "glucose", "value": 23.456, "source": "meter-7731"})
    assert answer.status_code == 500
    assert "23.456" not in answer.text and "INSERT" not in answer.text
    logged = _once_logged(server_log, "IntegrityError")
    for secret in ("23.456", "meter-7731", "[parameters", "Patient of North Clinic",
                   f"/patients/{north.patient_id}/"):
        assert secret not in logged, f"{secret!r} in the log"
    assert "/api/v1/patients/{patient_id}/readings" in logged


def test_a_console_500_is_a_plain_page(console_url: str, teams: tuple[Team, Team],
                                       server_log: _Collected) -> None:
    north, _ = teams
    with sqlite3.connect(str(make_url(get_settings().db_url).database)) as conn:
        conn.execute("CREATE TRIGGER refuse BEFORE UPDATE ON patients "
                     "BEGIN SELECT RAISE(ABORT, 'refused by the test'); END")
    with httpx.Client(base_url=console_url) as browser:
        page = browser.get("/login").text
        csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        browser.post("/login", data={"email": north.admin.email,
                                     "password": "correct horse battery", "csrf": csrf})
        csrf = browser.get("/patients").text.split('name="csrf" value="', 1)[1].split('"')[0]
        answer = browser.post(f"/patients/{north.patient_id}/profile", data={
            "csrf": csrf, "display_name": "Secret Name 9", "timezone": "UTC",
            "language": "en"})
    assert answer.status_code == 500
    assert "Secret Name 9" not in answer.text and "Traceback" not in answer.text
    assert "Secret Name 9" not in _once_logged(server_log, "IntegrityError")
