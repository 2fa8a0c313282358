"""`careloop run`: start CareLoop's processes, watch their health, stop them cleanly.

Each service is its own process (the Rasa server even in its own Python). All of them:
output prefixed with the service's name (or written to a log file), health checks
before "ready", and on Ctrl-C a polite SIGTERM, then SIGKILL after a timeout. A
supervisor that dies without stopping them (SIGKILL, a crash, the OOM killer) takes them
along: on Linux each child asks the kernel for SIGKILL when its parent dies.

Once the stack is ready, a service that exits (a crash, the OOM killer) is started again
after a pause, with what is left of its process group killed first; the pause doubles
while it keeps crashing soon after each start, and after `CRASHES_BEFORE_GIVING_UP` such
crashes in a row the whole stack stops. The other services run on meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from assistant.channels import registry
from assistant.config import Settings
from assistant.conversation import rasa_engine as engine
from assistant.interfaces import probes
from assistant.interfaces.processes import die_with_parent, exit_of, exit_status, pump_lines
from assistant.logs import setup_logging
from assistant.scheduling.service import run_scheduler, run_sender

log = logging.getLogger("careloop")

RESTART_PAUSE_SECONDS = 1.0  # before a crashed service starts again; doubled ...
STEADY_SECONDS = 120.0  # ... after each crash this soon after its start (Rasa loads ~30 s)
CRASHES_BEFORE_GIVING_UP = 5  # such crashes in a row: restarting is no use
IN_PROCESS = ("scheduler", "sender", "bridge")
SERVICES = ("rasa", "actions", *IN_PROCESS, "web")


@dataclass
class Service:
    name: str
    command: list[str]
    env: dict[str, str]
    health_url: str | None = None
    process: asyncio.subprocess.Process | None = field(default=None, repr=False)
    started_at: float = 0.0  # monotonic


def services(settings: Settings, names: tuple[str, ...]) -> list[Service]:
    """The services to start, in order; the Rasa model is trained first if missing."""
    me = [sys.executable, "-m", "assistant", "run", "--only"]
    found: list[Service] = []
    for name in names:
        if name == "rasa":
            model = engine.train(settings)
            found.append(Service("rasa", engine.rasa_command(settings, model),
                                 engine.quiet_env(settings), f"{settings.rasa_url}/"))
        elif name == "actions":
            found.append(Service("actions", engine.action_server_command(settings),
                                 engine.action_server_env(settings),
                                 engine.action_health_url(settings)))
        elif name == "web":
            found.append(Service("web", [
                sys.executable, "-m", "uvicorn", "--factory",
                "assistant.interfaces.web.app:server_app",
                "--host", settings.web_host, "--port", str(settings.web_port),
                # paths name patients: keep them out of the logs; X-Forwarded-For is the
                # app's to judge (CARELOOP_TRUSTED_PROXIES), not uvicorn's
                "--no-access-log", "--no-proxy-headers"],
                dict(os.environ), f"http://127.0.0.1:{settings.web_port}/healthz"))
        else:
            found.append(Service(name, [*me, name], dict(os.environ)))
    return found


def default_names(settings: Settings) -> tuple[str, ...]:
    """Everything the chat needs (the bridge only when the settings enable a channel)."""
    return ("rasa", "actions", "scheduler", "bridge") if registry.enabled(settings) else (
        "rasa", "actions", "scheduler")


def run_names(settings: Settings) -> tuple[str, ...]:
    """`careloop run`: the chat's services and the care-team console."""
    return (*default_names(settings), "web")


class Stack:
    """Running services; `async with Stack(...)` stops them all on the way out."""

    def __init__(self, items: list[Service], log_dir: Path | None = None) -> None:
        self.items = items
        self.log_dir = log_dir
        self._pumps: list[asyncio.Task[None]] = []
        self._files: dict[str, IO[str]] = {}  # a service's log, kept across its restarts
        self._width = max((len(s.name) for s in items), default=0)

    async def __aenter__(self) -> Stack:
        for item in self.items:
            await self._start(item)
        return self

    async def _start(self, item: Service) -> None:
        item.process = await asyncio.create_subprocess_exec(
            *item.command, env=item.env, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent())
        item.started_at = time.monotonic()
        if self.log_dir is not None:
            if item.name not in self._files:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                self._files[item.name] = open(self.log_dir / f"{item.name}.log", "a")  # noqa: SIM115
            out: IO[str] = self._files[item.name]
            prefix = ""
        else:
            out, prefix = sys.stdout, f"{item.name:<{self._width}} | "
        assert item.process.stdout is not None
        self._pumps.append(asyncio.create_task(pump_lines(item.process.stdout, prefix, out)))

    async def wait_healthy(self, timeout: float = 180.0,
                           progress: Callable[[str], None] | None = None) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            for item in self.items:
                while item.health_url:
                    self._check_alive(item)
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(item.health_url)).status_code == 200:
                            break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{item.name} did not become healthy in {timeout:.0f} s")
                    await asyncio.sleep(0.5)
                if progress:
                    progress(item.name)

    def _check_alive(self, item: Service) -> None:
        if item.process and item.process.returncode is not None:
            where = f" (see {self.log_dir / item.name}.log)" if self.log_dir else ""
            raise RuntimeError(f"{item.name} exited with status {item.process.returncode}{where}")

    async def supervise(self) -> Service:
        """Keep every service running, starting again those that exit; returns the first
        that crashed too often, soon after each start, to be worth starting again."""
        watchers = {asyncio.create_task(self._keep_running(item)): item
                    for item in self.items}
        try:
            done, _ = await asyncio.wait(watchers, return_when=asyncio.FIRST_COMPLETED)
            task = done.pop()
            task.result()  # a bug in the watcher is raised here, not swallowed
            return watchers[task]
        finally:
            for task in watchers:
                task.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)

    async def _keep_running(self, item: Service) -> None:
        """Start `item` again whenever it exits; returns when it crashed too often."""
        crashes = 0
        while True:
            assert item.process is not None
            status = await exit_of(item.process)
            soon = time.monotonic() - item.started_at < STEADY_SECONDS
            crashes = crashes + 1 if soon else 1
            if crashes >= CRASHES_BEFORE_GIVING_UP:
                log.error("%s exited (%s), %d times in a row soon after starting; giving up",
                          item.name, exit_status(status), crashes)
                return
            pause = RESTART_PAUSE_SECONDS * 2 ** (crashes - 1)
            log.warning("%s exited (%s); starting it again in %g s", item.name,
                        exit_status(status), pause)
            # What it started may still run (and hold its port): its process group goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(item.process.pid, signal.SIGKILL)
            await asyncio.sleep(pause)
            await self._start(item)
            if not item.health_url:
                log.info("%s started again", item.name)
            elif await self._healthy(item):
                log.info("%s is up again", item.name)

    async def _healthy(self, item: Service) -> bool:
        """Wait for a started service's health check; False if it exits first."""
        async with httpx.AsyncClient(timeout=2.0) as client:
            while item.health_url and item.process and item.process.returncode is None:
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(item.health_url)).status_code == 200:
                        return True
                await asyncio.sleep(0.5)
        return item.process is not None and item.process.returncode is None

    async def __aexit__(self, *exc: object) -> None:
        for item in reversed(self.items):
            if item.process and item.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(item.process.pid, signal.SIGTERM)
        for item in self.items:
            if item.process is None:
                continue
            try:
                await asyncio.wait_for(item.process.wait(), timeout=15)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(item.process.pid, signal.SIGKILL)
                await item.process.wait()
        for pump in self._pumps:
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        for out in self._files.values():
            out.close()


def stop_on_signals() -> None:
    """SIGTERM (and SIGINT) end the current task, so `async with Stack` stops the children."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)


async def _serve(settings: Settings, names: tuple[str, ...]) -> int:
    stop_on_signals()
    async with Stack(services(settings, names)) as stack:
        await stack.wait_healthy()
        log.info("ready: %s", ", ".join(names))
        stopped = await stack.supervise()
        log.error("stopping the others: %s keeps crashing (see its lines above)",
                  stopped.name)
        return 1


async def scheduler(settings: Settings, stop: asyncio.Event) -> None:
    """The scheduler service, delivering the outbox of every channel the settings enable
    unless `--only sender` processes do (CARELOOP_SCHEDULER_SENDS=false)."""
    await run_scheduler(settings, stop, [channel.drain for channel in registry.enabled(settings)]
                        if settings.scheduler_sends else [])


async def sender(settings: Settings, stop: asyncio.Event) -> None:
    """The sender service: the outbox of every channel the settings enable, nothing else."""
    await run_sender(stop, [channel.drain for channel in registry.enabled(settings)])


async def bridge(settings: Settings, stop: asyncio.Event) -> None:
    """The bridge service: every channel the settings enable, served until `stop`."""
    await asyncio.gather(*(channel.serve(stop) for channel in registry.enabled(settings)))


async def _in_process(settings: Settings, name: str) -> None:
    """Run the scheduler, a sender or the bridge in this process until SIGINT or SIGTERM."""
    runner = {"scheduler": scheduler, "sender": sender, "bridge": bridge}[name]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with probes.serving(settings, name):  # /healthz, /readyz, /metrics on its port
        await runner(settings, stop)


def run(settings: Settings, only: str | None) -> int:
    """Run one service (`only`) or all of them; returns the exit status."""
    setup_logging(settings.log_level, json_lines=settings.log_format == "json")
    if only is not None and only not in SERVICES:
        log.error("unknown service %r: choose one of %s", only, ", ".join(SERVICES))
        return 2
    if only in ("bridge", "sender") and not registry.enabled(settings):
        log.error("no channel to serve: set CARELOOP_TELEGRAM_TOKEN")
        return 2
    if only in IN_PROCESS:
        asyncio.run(_in_process(settings, only))
        return 0
    if only is not None:
        item = services(settings, (only,))[0]
        os.execve(item.command[0], item.command, item.env)
    try:
        return asyncio.run(_serve(settings, run_names(settings)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0
