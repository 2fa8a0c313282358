"""Shared fixtures: isolated settings, migrated databases (SQLite and PostgreSQL), and
the Rasa engine (a model trained once per session, cached by the hash of its data).

PostgreSQL: `CARELOOP_TEST_POSTGRES_URL` (a server where the tests may create
databases) or, when unset, a private server started here with the machine's `initdb`
and `pg_ctl` (as the `postgres` user when the tests run as root).

Processes: every process a test starts carries the test's mark in its environment (and
the session's mark); a test that leaves one running fails at teardown, and the session
fails if any is left at its end. The leftovers are killed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from assistant.config import PROJECT_DIR, Settings, get_settings
from assistant.conversation import rasa_engine
from assistant.storage import db as dbmod
from assistant.storage.migrate import upgrade
from tests import processes

REPO = PROJECT_DIR
RASA_TOKEN = "-t-starts-like-an-option"
pytest_plugins = ["tests.telegram_fixtures"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- processes the tests start -----------------------------------------------------------

SESSION_MARK, TEST_MARK = "PYTEST_CARELOOP_SESSION", "PYTEST_CARELOOP_TEST"
os.environ[SESSION_MARK] = uuid.uuid4().hex  # not CARELOOP_*: isolated_settings keeps it


def _mark(item: pytest.Item) -> str:
    return f"{os.environ[SESSION_MARK]}-{hashlib.sha256(item.nodeid.encode()).hexdigest()[:16]}"


def _report(left: list[int]) -> str:
    return "; ".join(f"{pid}: {processes.command_line(pid)}" for pid in left)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """What the test body starts carries its mark (fixtures stop what they start)."""
    os.environ[TEST_MARK] = _mark(item)
    try:
        return (yield)
    finally:
        os.environ.pop(TEST_MARK, None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    """After a test and its fixtures: nothing it started may still run."""
    result = yield
    left = processes.still_alive(processes.marked(TEST_MARK, _mark(item)), timeout=5)
    if left:
        processes.kill(left)
        pytest.fail(f"the test left {len(left)} processes running (now killed): "
                    f"{_report(left)}", pytrace=False)
    return result


RASA_FIXTURES = {"rasa_stack", "trained_model", "rasa_cli"}


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test that uses the Rasa engine is marked `rasa`, and every test that drives
    Chromium `browser`, however it gets them: `./careloop test` runs them beside the rest."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if RASA_FIXTURES & fixtures:
            item.add_marker(pytest.mark.rasa)
        if "browser" in fixtures:
            item.add_marker(pytest.mark.browser)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Nothing the session started (servers included) outlives it."""
    left = processes.still_alive(processes.marked(SESSION_MARK, os.environ[SESSION_MARK]),
                                 timeout=5)
    if left:
        processes.kill(left)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(f"processes left running by the tests (now killed): "
                                f"{_report(left)}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
# A place for each offset from UTC whose clocks never change (-12: Tarawa's clock shows
# the same hour, a day ahead).
_STEADY_ZONES = {
    -12: "Pacific/Tarawa", -11: "Pacific/Pago_Pago", -10: "Pacific/Honolulu",
    -9: "Pacific/Gambier", -8: "Pacific/Pitcairn", -7: "America/Phoenix",
    -6: "America/Regina", -5: "America/Bogota", -4: "America/La_Paz",
    -3: "America/Argentina/Buenos_Aires", -2: "America/Noronha", -1: "Atlantic/Cape_Verde",
    0: "UTC", 1: "Africa/Lagos", 2: "Africa/Johannesburg", 3: "Europe/Moscow",
    4: "Asia/Dubai", 5: "Asia/Karachi", 6: "Asia/Dhaka", 7: "Asia/Bangkok",
    8: "Asia/Singapore", 9: "Asia/Tokyo", 10: "Australia/Brisbane", 11: "Pacific/Guadalcanal",
}


def noon_zone() -> str:
    """A patient's zone (a place, without daylight saving) where it is about noon now: a
    test that asks about "today" or "tomorrow" there cannot straddle the patient's
    midnight."""
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12  # -12 .. +11 hours from UTC
    return _STEADY_ZONES[offset]


def reset_caches() -> None:
    get_settings.cache_clear()
    dbmod._engine_for.cache_clear()


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts from defaults: no CARELOOP_* from the machine, no .env."""
    for name in list(os.environ):
        if name.startswith("CARELOOP_") and name != "CARELOOP_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("CARELOOP_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("CARELOOP_ENVIRONMENT", "test")
    monkeypatch.chdir(tmp_path)
    reset_caches()
    yield
    reset_caches()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


# --- databases ---------------------------------------------------------------------------

@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    engine = dbmod.make_engine(f"sqlite:///{path}")
    upgrade(engine=engine)
    engine.dispose()
    return path


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)
    return str(candidates[0]) if candidates else None


class PrivatePostgres:
    """A PostgreSQL server of our own (`initdb`, `pg_ctl`) on a free port, which a test may
    stop and start again. Its folder lies outside pytest's temporary folders: another
    pytest run prunes those, and PostgreSQL shuts down when its data directory goes."""

    def __init__(self, missing: str = "PostgreSQL not found: install it or set "
                                          "CARELOOP_TEST_POSTGRES_URL") -> None:
        initdb, self._pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
        if not (initdb and self._pg_ctl):
            if os.environ.get("CI"):
                pytest.fail(missing)
            pytest.skip(missing)
        # initdb refuses root: run the private server as `postgres`
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self._reap_orphans()
        self.root = Path(tempfile.mkdtemp(prefix="careloop-pg-"))
        (self.root / "owner").write_text(str(os.getpid()))
        if self._as_user:
            shutil.chown(self.root, "postgres")
            self.root.chmod(0o755)
            for parent in self.root.parents:  # let `postgres` reach its own folder
                if parent == Path("/"):
                    break
                parent.chmod(parent.stat().st_mode | 0o011)
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        subprocess.run([*self._as_user, initdb, "-D", str(self.root / "data"), "-U",
                        "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
                       check=True, capture_output=True)

    def _ctl(self, *args: str, check: bool = True, root: Path | None = None) -> None:
        assert self._pg_ctl is not None
        data = (root or self.root) / "data"
        subprocess.run([*self._as_user, self._pg_ctl, "-D", str(data), *args],
                       check=check, capture_output=True)

    def _reap_orphans(self) -> None:
        """`pg_ctl` daemonizes the server, so a pytest killed hard leaves it running: stop
        the servers whose pytest is gone before starting another."""
        for root in Path(tempfile.gettempdir()).glob("careloop-pg-*"):
            try:
                owner = int((root / "owner").read_text())
            except (OSError, ValueError):
                continue
            if not Path(f"/proc/{owner}").exists():
                self._ctl("-m", "immediate", "-w", "stop", check=False, root=root)
                shutil.rmtree(root, ignore_errors=True)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off")
        self._ctl("-o", options, "-w", "-l", str(self.root / "log"), "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: clients are disconnected and the server shuts down cleanly."""
        self._ctl("-m", mode, "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server URL (database `postgres`) where tests may create databases."""
    with running_postgres() as url:
        yield url


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """`CARELOOP_TEST_POSTGRES_URL`, else a private server for the time of the block."""
    given = os.environ.get("CARELOOP_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    server = PrivatePostgres()
    server.start()
    try:
        yield server.url
    finally:
        server.remove()


def _pg_admin(server: str, sql: str) -> None:
    engine = dbmod.make_engine(server)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(sql))
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_template(postgres_server: str) -> str:
    name = f"careloop_tpl_{uuid.uuid4().hex[:8]}"
    _pg_admin(postgres_server, f'CREATE DATABASE "{name}"')
    url = make_url(postgres_server).set(database=name).render_as_string(hide_password=False)
    engine = dbmod.make_engine(url)
    upgrade(engine=engine)
    engine.dispose()
    return name


def new_postgres_db(server: str, template: str) -> str:
    name = f"careloop_test_{uuid.uuid4().hex[:10]}"
    _pg_admin(server, f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return make_url(server).set(database=name).render_as_string(hide_password=False)


def _use(url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CARELOOP_DATABASE_URL", url)
    reset_caches()
    return url


@pytest.fixture
def db_url(sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, migrated SQLite database, made the application's database."""
    path = tmp_path / "careloop.db"
    shutil.copy(sqlite_template, path)
    return _use(f"sqlite:///{path}", monkeypatch)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> str:
    """The same test on a fresh SQLite database and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "careloop.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return _use(f"sqlite:///{path}", monkeypatch)
    server = request.getfixturevalue("postgres_server")
    url = new_postgres_db(server, request.getfixturevalue("postgres_template"))
    return _use(url, monkeypatch)


@pytest.fixture
def pg_db_url(postgres_server: str, postgres_template: str,
              monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, migrated PostgreSQL database only (for what SQLite cannot do: row locks)."""
    return _use(new_postgres_db(postgres_server, postgres_template), monkeypatch)


@pytest.fixture
def own_postgres(monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of the test's own, which it may stop and start, with a migrated
    `careloop` database made the application's (CARELOOP_TEST_POSTGRES_URL cannot serve:
    this server is stopped)."""
    server = PrivatePostgres("PostgreSQL's initdb and pg_ctl not found: this test stops a "
                             "server of its own (install Debian's postgresql)")
    try:
        server.start()
        _pg_admin(server.url, "CREATE DATABASE careloop")
        url = make_url(server.url).set(database="careloop").render_as_string(
            hide_password=False)
        _use(url, monkeypatch)
        upgrade(url)
        yield server
    finally:
        server.remove()


@pytest.fixture
def db(db_url: str) -> Iterator[Session]:
    """A session on `db_url`; what the test does not commit is rolled back."""
    with Session(dbmod.get_engine(), expire_on_commit=False) as session:
        yield session


@pytest.fixture
def any_db(any_db_url: str) -> Iterator[Session]:
    with Session(dbmod.get_engine(), expire_on_commit=False) as session:
        yield session


# --- the Rasa engine ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def rasa_cli() -> Path:
    return rasa_engine.rasa_executable(Settings())


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """Trained once per data change: cached in the repository's var/models by hash."""
    return rasa_engine.train(Settings(), models_dir=REPO / "var" / "models")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A private Redis server on a free port (`.ci/run` installs redis-server)."""
    port = free_port()
    server = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port),
                               "--save", "", "--appendonly", "no"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                         text=True).stdout.strip() != "PONG":
        assert time.monotonic() < deadline and server.poll() is None, "redis-server did not start"
        time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="session")
def rasa_stack(trained_model: Path, sqlite_template: Path, redis_url: str,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    """The real Rasa server (its lock store in Redis, as with several Rasa instances; its
    HTTP API behind `RASA_TOKEN`) and action server, started once per session on free
    ports, sharing one SQLite database (`stack_db_url`)."""
    import asyncio
    import threading

    from assistant.interfaces.supervisor import Stack, services

    folder = tmp_path_factory.mktemp("stack")
    shutil.copy(sqlite_template, folder / "careloop.db")
    env = {"CARELOOP_DATABASE_URL": f"sqlite:///{folder / 'careloop.db'}",
           "CARELOOP_DATA_DIR": str(folder / "var"),
           "CARELOOP_RASA_URL": f"http://127.0.0.1:{free_port()}",
           "CARELOOP_ACTION_PORT": str(free_port()), "CARELOOP_REDIS_URL": redis_url,
           # A token that looks like an option: any token must work.
           "CARELOOP_RASA_TOKEN": RASA_TOKEN}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        settings = Settings()
        items = services(settings, ("actions", "rasa"))
    loop = asyncio.new_event_loop()
    stack = Stack(items, log_dir=folder / "logs")
    loop.run_until_complete(stack.__aenter__())
    try:
        loop.run_until_complete(stack.wait_healthy(timeout=240))
    except BaseException:
        loop.run_until_complete(stack.__aexit__(None, None, None))
        raise
    # Keep pumping the children's output while the tests run.
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    yield settings
    loop.call_soon_threadsafe(loop.stop)
    runner.join()
    loop.run_until_complete(stack.__aexit__(None, None, None))
    loop.close()


@pytest.fixture
def stack_db_url(rasa_stack: Settings, monkeypatch: pytest.MonkeyPatch) -> str:
    """Make this test's application database the one the running stack uses."""
    monkeypatch.setenv("CARELOOP_DATABASE_URL", rasa_stack.db_url)
    monkeypatch.setenv("CARELOOP_RASA_URL", rasa_stack.rasa_url)
    reset_caches()
    return rasa_stack.db_url
