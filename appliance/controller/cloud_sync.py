"""A connected controller keeps the cloud's list of its camera users current.

Whenever something the list depends on may have changed — a camera user, a profile, a camera,
a dock (a self-assigned camera takes its user there), or the connection itself (the last step of
S3) — the controller sends the cloud its whole list again (``cloud/system_sync.py``): each camera
user's id and name, whether their profile streams and with which remote activation (S7), and
their cameras; and every camera registered in the system, assigned or not (the device hub accepts
a camera only once its system has told the cloud about it, issue 10). Docking a camera the cloud
has not heard of yet sends the list at once, before the camera can reach the hub. It goes over
the controller's own network settings (proxy) with the token the cloud gave it, like every other
call of the Manager to the cloud. One system's lists are sent one at a time, each read when its
turn comes, so an older list never lands after a newer one.

A change marks the system; a single task sends the marked systems after a short debounce (a
scenario or the Manager changes many things in a row) and, when the cloud cannot be reached,
tries again with a growing pause (1 s up to 60 s on the event loop's clock: a network retry,
not a lab-time rule); a new change tries at once. The Manager shows the outcome (``cloud_sync`` in the system overview).
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from ..context import APPLIANCE
from ..errors import ClientError
from . import store
from .cloud_client import system_client
from .connection import Connection

log = logging.getLogger(__name__)

DEBOUNCE = 0.1
RETRY_FIRST, RETRY_MAX = 1.0, 60.0
STOP_TIMEOUT = 5.0
ENSURE_TIMEOUT = 15.0  # a dock waits at most this long for the cloud to learn of a new camera (ms when idle)


@dataclass
class SyncStatus:
    synced_at: float | None = None  # lab time of the last list the cloud accepted
    camera_users: int | None = None
    error: str | None = None
    pending: bool = False
    serials: frozenset[str] = frozenset()  # the cameras of the last list the cloud accepted

    def as_dict(self) -> dict[str, Any]:
        return {
            "synced_at": self.synced_at,
            "camera_users": self.camera_users,
            "error": self.error,
            "pending": self.pending,
        }


class SystemPusher(ABC):
    """Sends something of each marked system to the cloud (``_push``): one task, after a short
    debounce, one send per system at a time; when the cloud cannot be reached, again after a
    growing pause (1 s up to 60 s, a network retry on the event loop's clock), at once on a new
    change. The camera users' list (below) and the Manager's audit events (``manager_audit.py``)."""

    what = "camera users"  # in the log and the task's name

    def __init__(self, app: web.Application):
        self.app = app
        self._marked: set[str] = set()
        self._sending: dict[str, asyncio.Lock] = {}  # per system: one send on the way at a time
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._retry: asyncio.TimerHandle | None = None
        self._stopping = False

    def changed(self, system_id: str) -> None:
        self._marked.add(system_id)
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.what} sync")

    async def stop(self) -> None:
        # The flag ends the loop even if a library turns the cancel into an error of its own
        # (an HTTP client's timeout can), which push() then reports as a failed send.
        self._stopping = True
        if self._retry is not None:
            self._retry.cancel()
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=STOP_TIMEOUT)

    async def _run(self) -> None:
        pause = RETRY_FIRST
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            if self._retry is not None:
                self._retry.cancel()
                self._retry = None
            await asyncio.sleep(DEBOUNCE)
            failed = False
            for system_id in sorted(self._marked):
                if self._stopping:
                    return
                self._marked.discard(system_id)
                try:
                    sent = await self.push(system_id)
                except Exception:  # a bug must not end the syncing of every system
                    log.exception("%s of system %s: the sync failed", self.what, system_id)
                    sent = False
                if not sent:
                    self._marked.add(system_id)
                    failed = True
            if self._stopping:
                return
            if failed:  # try again after the pause, or at once on a new change
                self._retry = asyncio.get_running_loop().call_later(pause, self._wake.set)
                pause = min(pause * 2, RETRY_MAX)
            else:
                pause = RETRY_FIRST

    async def push(self, system_id: str, timeout: float = 5.0) -> bool:
        """Send one system's now; False if it must be tried again."""
        async with self._sending.setdefault(system_id, asyncio.Lock()):
            return await self._push(system_id, timeout)

    @abstractmethod
    async def _push(self, system_id: str, timeout: float) -> bool:
        """Send what is marked of one system (the camera users, the audit events); False if it
        must be tried again."""


class CameraUserSync(SystemPusher):
    """Sends each connected system's camera users to the cloud when they change."""

    def __init__(self, app: web.Application):
        super().__init__(app)
        self.status: dict[str, SyncStatus] = {}

    def changed(self, system_id: str) -> None:
        self.status.setdefault(system_id, SyncStatus()).pending = True
        super().changed(system_id)

    def describe(self, system_id: str) -> dict[str, Any]:
        return self.status.get(system_id, SyncStatus()).as_dict()

    async def ensure_known(self, system_id: str, serial: str) -> None:
        """Before a docked camera can reach the hub: if the cloud has not been told of it yet, send
        the list now (a failure leaves the system marked, and the camera is refused until then)."""
        if serial in self.status.get(system_id, SyncStatus()).serials and system_id not in self._marked:
            return  # the cloud knows it, and no change since (a removal, say) is waiting to be sent
        try:
            if not await self.push(system_id, timeout=ENSURE_TIMEOUT):
                self.changed(system_id)
        except Exception:
            log.exception("camera users of system %s: the sync failed", system_id)
            self.changed(system_id)

    async def _push(self, system_id: str, timeout: float) -> bool:
        ctx = self.app[APPLIANCE]
        status = self.status.setdefault(system_id, SyncStatus())
        row = await store.system(ctx.controller_db, system_id)
        connection = Connection.from_json(row["connection"]) if row is not None else Connection()
        if row is None or not connection.connected:
            status.pending = False  # nothing to tell: the system is not connected to the cloud
            return True
        users = await store.camera_user_list(ctx.controller_db, system_id)
        cameras = await store.camera_list(ctx.controller_db, system_id)
        client = system_client(ctx, row["settings"], token=connection.system_token, timeout=timeout)
        try:
            await client.request(
                "PUT",
                f"/systems/{connection.cloud_system_id}/camera-users",
                {"camera_users": users, "cameras": cameras},
            )
        except ClientError as exc:
            status.error = exc.message
            log.info("camera users of system %s not sent to the cloud: %s", system_id, exc.message)
            return False
        status.synced_at, status.camera_users, status.error = ctx.clock.now(), len(users), None
        status.serials = frozenset(c["serial"] for c in cameras)
        status.pending = system_id in self._marked
        return True


@web.middleware
async def sync_middleware(request: web.Request, handler):
    """After a change through a system's Manager API, mark the system for a sync."""
    response = await handler(request)
    system_id = request.match_info.get("system_id")
    if (
        request.method not in ("GET", "HEAD", "OPTIONS")
        and system_id
        and response.status < 400
        and not request.path.endswith("/login")
    ):  # signing in to the Manager changes nothing
        request.config_dict[CAMERA_USER_SYNC].changed(system_id)
    return response


def setup_camera_user_sync(app: web.Application) -> None:
    async def ctx(app: web.Application):
        sync = app[CAMERA_USER_SYNC] = CameraUserSync(app)
        sync.start()
        for system_id in await store.system_ids(app[APPLIANCE].controller_db):
            sync.changed(system_id)  # after a restart, whatever changed while the cloud was away
        yield
        await sync.stop()

    app.cleanup_ctx.append(ctx)


CAMERA_USER_SYNC = web.AppKey("camera_user_sync", CameraUserSync)
