"""A full disk under the data directory (docs/security.md, issue 10 item 8).

When a write fails because the disk is full (``ENOSPC``/``EDQUOT`` from a file, ``SQLITE_FULL``
from a database), the appliance says so instead of failing anyhow:

* to clients: ``507 insufficient_storage`` (``storage_middleware``), and nothing was changed —
  the database rolls the statement back (appliance/db.py) and the evidence store removes its
  partial file (appliance/hub/streams.py);
* to cameras: an ``insufficient_storage`` error and the socket closed with code ``4507``
  (``refuse_when_disk_full``); the camera keeps its unacknowledged chunks and sends them again
  when it reconnects, which it does at once, so nothing is lost once space is freed;
* to monitors: ``/healthz`` says ``"status": "degraded"`` with the problem
  ``insufficient_storage`` while the last write found the disk full or less than
  ``RESERVE_BYTES`` are free, and ``ok`` again once there is room (it stays a ``200``: the web
  client reads its lab clock there).
"""

from __future__ import annotations

import errno
import functools
import logging
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from bwlab.wire import messages as m

from .context import APPLIANCE
from .errors import InsufficientStorage
from .http import Handler

log = logging.getLogger(__name__)

RESERVE_BYTES = 1024 * 1024
CLOSE_INSUFFICIENT_STORAGE = 4507
_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the disk is full."""
    seen = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, OSError) and cause.errno in _FULL_ERRNOS:
            return True
        if isinstance(cause, sqlite3.Error) and getattr(cause, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        cause = cause.__cause__ or cause.__context__
    return False


@dataclass
class DiskSpace:
    """Whether the data directory's disk can take writes."""

    path: Path
    reserve: int = RESERVE_BYTES
    full: bool = False

    def note_full(self) -> None:
        if not self.full:
            log.error("the disk of %s is full: writes are refused with 507 until space is freed", self.path)
        self.full = True

    def status(self) -> dict:
        """``{"free_bytes", "full"}``; a full disk that has room again is no longer full."""
        try:
            free = shutil.disk_usage(self.path).free
        except OSError:
            free = 0
        if self.full and free >= self.reserve:
            log.info("the disk of %s has room again (%d bytes free)", self.path, free)
            self.full = False
        return {"free_bytes": free, "full": self.full or free < self.reserve}


STORAGE = web.AppKey("storage", DiskSpace)


def setup_storage(app: web.Application, data_dir: Path) -> None:
    app[STORAGE] = DiskSpace(data_dir)


def _refusal() -> InsufficientStorage:
    return InsufficientStorage(
        "the appliance's disk is full: nothing was changed; retry once space is freed", headers={"Retry-After": "60"}
    )


@web.middleware
async def storage_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A write that found the disk full becomes ``507 insufficient_storage``."""
    try:
        return await handler(request)
    except Exception as exc:
        if not is_disk_full(exc):
            raise
        request.config_dict[STORAGE].note_full()
        raise _refusal() from None


HUB_SOCKET = web.RequestKey("hub_socket", web.WebSocketResponse)


def refuse_when_disk_full(handler: Handler) -> Handler:
    """For the device hub's socket handler (which sets ``request[HUB_SOCKET]`` once prepared): a
    full disk ends the session with an ``insufficient_storage`` error and close code 4507."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except Exception as exc:
            ws = request.get(HUB_SOCKET)
            if not is_disk_full(exc) or ws is None:
                raise
            request.config_dict[STORAGE].note_full()
            request.config_dict[APPLIANCE].count("hub_refusals_total")
            if not ws.closed:
                await ws.send_str(m.encode(m.Error(code="insufficient_storage", message=_refusal().message)))
                await ws.close(code=CLOSE_INSUFFICIENT_STORAGE, message=b"insufficient_storage")
            return ws

    return guarded
