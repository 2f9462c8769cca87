"""Help requests on the server (issue 16 item 2; bwlab/wire/help.py).

A camera's ``help_request`` is stored with its metadata in clear and its position only sealed (the
cloud has no key to open it), announced on the organization's events socket (``help_requested``,
with the sealed position and wrapped key for the browsers to open) and to the observers (the SOC
outbox: ``help.requested``). An operator's acknowledgement is stored, announced
(``help_acknowledged``) and sent to the camera, which vibrates with the help pattern. Help
requests are kept 24 hours of lab time, like recordings (D8).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bwlab.clock import run_every
from bwlab.errors import Refused
from bwlab.wire.help import HelpRequest

from ..cloud.store import system_region
from ..context import APPLIANCE
from ..db import Database
from . import store
from .streams import RETENTION, DeviceId

log = logging.getLogger(__name__)

PURGE_INTERVAL = 60.0


class HelpError(Refused):
    """A help request the hub refuses (answered to the camera as an ``error``)."""

    code = "invalid_help"


class HelpDesk:
    """Every organization's help requests: store, announce, acknowledge, purge (SQL: store.py)."""

    def __init__(self, db: Database, publish: Callable[[dict], None]):
        self.db = db
        self.publish = publish  # to the events sockets (the stream hub's Active streams fan-out)
        # Called with ("help.requested", metadata) once the request is committed (the SOC outbox).
        self.observers: list[Callable[[str, dict], Awaitable[None]]] = []

    async def request(self, message: HelpRequest, org_id: str, device: DeviceId, now: float) -> bool:
        """Store a camera's help request; False for a resend of one stored already."""
        owner = await store.help_owner(self.db, message.help_id)
        if owner is not None:
            if DeviceId(*owner) != device:
                raise HelpError("that help id belongs to another camera", code="foreign_help")
            return False
        await store.insert_help(
            self.db,
            {
                "id": message.help_id,
                "org_id": org_id,
                "cloud_system_id": device.system_id,
                "serial": device.serial,
                "user_id": message.user_id,
                "user_name": message.user_name,
                "region": await system_region(self.db, device.system_id) or "",
                "gesture": message.gesture,
                "requested_at": message.requested_at,
                "wrapped_key": None if message.wrapped_key is None else json.dumps(message.wrapped_key),
                "position": message.position,
                "created_lab_at": now,
            },
        )
        meta = await self.metadata(message.help_id)
        self.publish({"type": "help_requested", "help": meta})
        for observer in list(self.observers):
            try:
                await observer("help.requested", meta)
            except Exception:  # an observer's failure must not fail the camera's request
                log.exception("help observer failed on %s", message.help_id)
        return True

    async def acknowledge(self, help_id: str, operator: str, now: float) -> dict[str, Any]:
        await store.acknowledge_help(self.db, help_id, operator, now)
        meta = await self.metadata(help_id)
        self.publish({"type": "help_acknowledged", "help": meta})
        return meta

    async def metadata(self, help_id: str) -> dict[str, Any]:
        row = await store.help_row(self.db, help_id)
        return {} if row is None else _meta(row)

    async def of_org(self, org_id: str, *, open_only: bool) -> list[dict[str, Any]]:
        return [_meta(r) for r in await store.org_help_rows(self.db, org_id, open_only=open_only)]

    async def created_since(self, org_id: str, since: float) -> list[dict[str, Any]]:
        """Help requests the hub received since lab time ``since`` (the SOC outbox's reconciliation)."""
        return [_meta(r) for r in await store.help_rows_since(self.db, org_id, since)]

    async def purge(self, now: float) -> int:
        return await store.purge_help(self.db, now - RETENTION)


def _meta(row) -> dict[str, Any]:
    """What leaves the cloud: metadata in clear, the position sealed (never opened here)."""
    return {
        "id": row["id"],
        "org_id": row["org_id"],
        "system_id": row["cloud_system_id"],
        "serial": row["serial"],
        "user_id": row["user_id"],
        "user_name": row["user_name"],
        "region": row["region"],
        "gesture": row["gesture"],
        "requested_at": row["requested_at"],
        "created_at": row["created_lab_at"],
        "wrapped_key": None if row["wrapped_key"] is None else json.loads(row["wrapped_key"]),
        "position": row["position"],
        "acknowledged_by": row["acknowledged_by"],
        "acknowledged_at": row["acknowledged_at"],
    }


def setup_help(app: web.Application, registry: Any) -> None:
    """The help desk over the database, as ``registry.help`` (the hub's ``HubRegistry``; after its
    stream hub, whose events queues it shares)."""

    async def ctx(app: web.Application):
        appliance = app[APPLIANCE]
        desk = HelpDesk(appliance.db, registry.streams.changes.publish)  # the Active streams fan-out
        registry.help = desk

        async def purge() -> None:
            await desk.purge(appliance.clock.now())

        task = asyncio.create_task(run_every(appliance.clock, PURGE_INTERVAL, purge), name="help retention")
        yield
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    app.cleanup_ctx.append(ctx)
