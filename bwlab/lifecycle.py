"""How `bwlab up` and its fleet live and die (issue 12).

* One of each per data directory: ``hold(data_dir, name)`` takes an exclusive ``flock`` on
  ``<data_dir>/<name>.lock`` (the holder's pid written in it) for as long as the process runs; the
  kernel releases it when the process ends, however it ends (SIGKILL included), so a stale file
  never blocks. ``holder(data_dir, name)`` says which process holds it, without taking it.
* A fleet started by `bwlab up` ends with it: ``exit_with_parent(pid)`` asks Linux to send the
  fleet SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``), so `bwlab up` killed with
  SIGKILL leaves no camera running; if the parent is already gone, the fleet stops at once.
"""

from __future__ import annotations

import asyncio
import ctypes
import fcntl
import os
import signal
from pathlib import Path
from typing import IO

from bwlab.errors import Unavailable

PR_SET_PDEATHSIG = 1


def stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM: a long-running command waits on it, then cleans up."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


class AlreadyRunning(Unavailable):
    """Another process holds the lock: ``pid`` is its process id (None when unknown)."""

    def __init__(self, path: Path, pid: int | None):
        super().__init__(f"{path} is held by process {pid if pid is not None else '(unknown)'}")
        self.path = path
        self.pid = pid


def _pid_in(handle: IO[str]) -> int | None:
    handle.seek(0)
    text = handle.read().strip()
    return int(text) if text.isdigit() else None


def hold(data_dir: Path, name: str) -> IO[str]:
    """Hold ``<data_dir>/<name>.lock`` until the returned file is closed or the process ends;
    ``AlreadyRunning`` when another process holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"{name}.lock"
    handle = open(path, "a+")  # noqa: SIM115 -- the lock is held as long as the handle stays open
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = _pid_in(handle)
        handle.close()
        raise AlreadyRunning(path, pid) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


def holder(data_dir: Path, name: str) -> int | None:
    """The pid of the process holding ``<data_dir>/<name>.lock`` now, or None if nobody does."""
    path = data_dir / f"{name}.lock"
    if not path.exists():
        return None
    try:
        hold(data_dir, name).close()
    except AlreadyRunning as exc:
        return exc.pid if exc.pid is not None else -1
    return None


def exit_with_parent(parent_pid: int) -> None:
    """Get SIGTERM when the parent process dies (Linux); SIGTERM now if it has died already."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)
