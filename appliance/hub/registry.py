"""The device hub's live registry: the cameras connected now, by (system, serial), their
sessions, and what the cloud's handlers and the lab ask of them (push a licence change, S15;
drop a camera its system no longer lists, issue 10; close every hub socket). Kept under the
``HUB`` app key; the hub's WebSocket handler (``routes.py``) fills it.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field

from aiohttp import web

from bwlab.wire import messages as m

from ..cloud.store import organization_standing
from .help import HelpDesk
from .positions import PositionHub
from .streams import DeviceId, StreamHub

CLOSE_REFUSED = 4403


@dataclass
class DeviceSession:
    device: DeviceId
    org_id: str
    not_after: float
    ws: web.WebSocketResponse
    state: dict = field(default_factory=dict)
    streams: set[str] = field(default_factory=set)  # streams started or resumed in this session
    reconciled: bool = False  # the first state told which stream the camera has

    @property
    def serial(self) -> str:
        return self.device.serial

    @property
    def cloud_system_id(self) -> str:
        return self.device.system_id


class HubRegistry:
    """The cameras connected now, by (system, serial), and the answers to remote starts awaited."""

    def __init__(self) -> None:
        self.sessions: dict[DeviceId, DeviceSession] = {}
        self.sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.remote_results: dict[str, tuple[DeviceId, asyncio.Future]] = {}  # request id → (asked camera, answer)
        self.streams: StreamHub | None = None
        self.positions: PositionHub | None = None  # location tracks and the live positions feed (D9)
        self.help: HelpDesk | None = None  # help requests (issue 16)

    def by_user(self, org_id: str, user_id: str) -> DeviceSession | None:
        for session in self.sessions.values():
            if session.org_id == org_id and (session.state.get("user") or {}).get("id") == user_id:
                return session
        return None

    async def drop_unregistered(self, system_id: str, serials: set[str]) -> None:
        """A system's list no longer names these connected cameras: disconnect them."""
        for device, session in list(self.sessions.items()):
            if device.system_id == system_id and device.serial not in serials and not session.ws.closed:
                await session.ws.send_str(m.encode(m.Error(code="certificate_refused",
                                                           message="the camera is no longer registered in its system")))
                await session.ws.close(code=CLOSE_REFUSED, message=b"certificate_refused")


HUB = web.AppKey("hub", HubRegistry)


async def licence_message(db, org_id: str, now: float) -> m.Licence:
    standing = await organization_standing(db, org_id, now)
    return m.Licence(valid=standing.valid, until=standing.covered_until)


async def push_licence(ctx, registry: HubRegistry, org_id: str) -> int:
    """S15: the organization's licences changed (an order, a renewal): tell its connected cameras."""
    message = m.encode(await licence_message(ctx.db, org_id, ctx.clock.now()))
    sent = 0
    for session in list(registry.sessions.values()):
        if session.org_id == org_id and not session.ws.closed:
            try:
                await session.ws.send_str(message)
                sent += 1
            except ConnectionError:
                pass
    return sent
