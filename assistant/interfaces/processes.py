"""The plumbing of a child process: it dies with its parent, its output lines go out
prefixed, and its exit status is said in words."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Callable
from typing import IO

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent() -> Callable[[], None] | None:
    """For `preexec_fn`: the child is SIGKILLed when this process dies, however it dies.
    Runs in the child between fork and exec, so it only makes one system call; libc's
    `prctl` is looked up here, in the parent. None where Linux's prctl is missing."""
    if not sys.platform.startswith("linux"):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def child() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before prctl: nobody would stop us
            os._exit(1)

    return child


async def pump_lines(stream: asyncio.StreamReader, prefix: str, out: IO[str]) -> None:
    while True:
        try:
            line = await stream.readline()
        except ValueError:  # longer than the stream's limit (64 KiB): asyncio dropped it
            line = b"(a line too long to show was left out)\n"
        if not line:
            return
        out.write(f"{prefix}{line.decode(errors='replace')}")
        out.flush()


async def exit_of(process: asyncio.subprocess.Process) -> int:
    """Its exit status, as soon as it ends. (`wait()` also waits for its output pipe to
    close, which a process it started may keep open.)"""
    while process.returncode is None:
        await asyncio.sleep(0.2)
    return process.returncode


def exit_status(returncode: int) -> str:
    """'status 1', or the signal that ended it: 'SIGKILL'."""
    if returncode < 0:
        with contextlib.suppress(ValueError):
            return signal.Signals(-returncode).name
    return f"status {returncode}"
