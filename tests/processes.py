"""Processes the tests start: their output read line by line, and their process trees
(Linux `/proc`), so that a test can prove which processes are left and stop them."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path


class Terminal:
    """A process's terminal (stdout and stderr), read line by line in a thread."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def type(self, text: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()

    def _take(self, timeout: float) -> bool:
        try:
            self.seen.append(self.lines.get(timeout=timeout))
        except queue.Empty:
            return False
        return True

    def wait_for(self, *words: str, timeout: float, count: int = 1) -> str:
        """The `count`-th line, printed so far or within `timeout`, with all the words."""

        def fits(line: str) -> bool:
            return all(word.lower() in line.lower() for word in words)

        deadline = time.monotonic() + timeout
        while True:
            found = [line for line in self.seen if fits(line)]
            if len(found) >= count:
                return found[count - 1]
            if time.monotonic() > deadline:
                break
            if not self._take(timeout=0.2) and self.process.poll() is not None:
                while self._take(timeout=0.2):  # what it printed before it ended
                    pass
                if len([line for line in self.seen if fits(line)]) < count:
                    break
        raise AssertionError(f"no line with {words!r} (×{count}); the process printed:\n"
                             f"{''.join(self.seen)}")

    def output(self, timeout: float = 5.0) -> str:
        """Everything printed so far (and until the process ends, within `timeout`)."""
        deadline = time.monotonic() + timeout
        while self._take(timeout=0.1) or (self.process.poll() is None
                                          and time.monotonic() < deadline):
            pass
        return "".join(self.seen)


def descendants(pid: int) -> list[int]:
    """The process's children, their children, and so on."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found += [int(child), *descendants(int(child))]
    return found


def alive(pid: int) -> bool:
    """Running (a zombie, dead and waiting for its parent to read its status, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def command_line(pid: int) -> str:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:200]
    return "?"


def still_alive(pids: list[int], timeout: float) -> list[int]:
    """The processes still running after up to `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (left := [pid for pid in pids if alive(pid)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def marked(name: str, value: str) -> list[int]:
    """Running processes (other than this one) with NAME=VALUE in their environment."""
    needle, found = f"{name}={value}".encode(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return [pid for pid in found if alive(pid)]
