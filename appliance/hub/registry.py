"""The device hub's live registry: the cameras connected now, by (system, serial), their
sessions, and what the cloud's handlers and the lab ask of them (push a licence change, S15;
drop a camera its system no longer lists, issue 10; close every hub socket). Kept under the
``HUB`` app key (and ``devices.DEVICE_HUB`` for the other parts); the hub's WebSocket handler
(``api/devices.py``) fills it.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field

from aiohttp import web

from bwlab.wire import messages as m

from ..cloud.store import organization_standing
from ..db import Database
from ..devices import CLOSE_REFUSED, DeviceId
from .acknowledgements import AckOutbox
from .help import HelpDesk
from .positions import PositionHub
from .streams import StreamHub


@dataclass
class DeviceSession:
    device: DeviceId
    org_id: str
    not_after: float
    ws: web.WebSocketResponse
    state: dict = field(default_factory=dict)
    streams: set[str] = field(default_factory=set)  # streams started or resumed in this session
    reconciled: bool = False  # the first state told which stream the camera has
    welcomed: bool = False  # the welcome is sent: other messages may follow

    @property
    def serial(self) -> str:
        return self.device.serial

    @property
    def cloud_system_id(self) -> str:
        return self.device.system_id


class HubRegistry:
    """The cameras connected now, by (system, serial), and the answers to remote starts awaited
    (the other parts see it as ``devices.DeviceHub``)."""

    def __init__(self) -> None:
        self.sessions: dict[DeviceId, DeviceSession] = {}
        self.sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.remote_results: dict[str, tuple[DeviceId, asyncio.Future]] = {}  # request id → (asked camera, answer)
        self.streams: StreamHub | None = None
        self.positions: PositionHub | None = None  # location tracks and the live positions feed (D9)
        self.help: HelpDesk | None = None  # help requests (issue 16)
        self._sends: set[asyncio.Task] = set()
        self.acks: AckOutbox | None = None  # acknowledgements owed to cameras (D6, issue 16)

    @property
    def live_streams(self) -> StreamHub:
        assert self.streams is not None, "the stream hub starts with the appliance"
        return self.streams

    @property
    def live_positions(self) -> PositionHub:
        assert self.positions is not None, "the position hub starts with the appliance"
        return self.positions

    @property
    def help_desk(self) -> HelpDesk:
        assert self.help is not None, "the help desk starts with the appliance"
        return self.help

    @property
    def camera_acks(self) -> AckOutbox:
        assert self.acks is not None, "the acknowledgements outbox starts with the appliance"
        return self.acks

    def welcomed_socket(self, device: DeviceId) -> web.WebSocketResponse | None:
        """The socket of the camera connected now, once it has been welcomed (else None)."""
        session = self.sessions.get(device)
        return session.ws if session is not None and session.welcomed and not session.ws.closed else None

    def track_socket(self, ws: web.WebSocketResponse) -> None:
        """A socket closed at shutdown (a camera's, a viewer's, a map's)."""
        self.sockets.add(ws)

    def by_user(self, org_id: str, user_id: str) -> DeviceSession | None:
        for session in self.sessions.values():
            if session.org_id == org_id and (session.state.get("user") or {}).get("id") == user_id:
                return session
        return None

    def send_soon(self, device: DeviceId, message: object) -> None:
        """Send a hub message to a connected camera without waiting (from synchronous code); a
        camera not connected, or gone meanwhile, does not get it."""
        session = self.sessions.get(device)
        if session is None or session.ws.closed:
            return
        task = asyncio.create_task(_send(session.ws, m.encode(message)), name=f"hub send {device.serial}")
        self._sends.add(task)
        task.add_done_callback(self._sends.discard)

    def tell_viewer_latency(self, stream_id: str, device: DeviceId, low: bool) -> None:
        """A stream gained its first low-latency viewer or lost its last (issue 16 item 6)."""
        self.send_soon(device, m.ViewerLatency(stream_id=stream_id, low=low))

    async def drop_unregistered(self, system_id: str, serials: set[str]) -> None:
        """A system's list no longer names these connected cameras: disconnect them."""
        for device, session in list(self.sessions.items()):
            if device.system_id == system_id and device.serial not in serials and not session.ws.closed:
                await session.ws.send_str(
                    m.encode(
                        m.Error(code="certificate_refused", message="the camera is no longer registered in its system")
                    )
                )
                await session.ws.close(code=CLOSE_REFUSED, message=b"certificate_refused")

    async def push_licence(self, db: Database, org_id: str, now: float) -> int:
        """S15: the organization's licences changed (an order, a renewal): tell its connected cameras."""
        message = m.encode(await licence_message(db, org_id, now))
        sent = 0
        for session in list(self.sessions.values()):
            if session.org_id == org_id and not session.ws.closed:
                try:
                    await session.ws.send_str(message)
                    sent += 1
                except ConnectionError:
                    pass
        return sent


HUB = web.AppKey("hub", HubRegistry)


async def _send(ws: web.WebSocketResponse, text: str) -> None:
    try:
        await ws.send_str(text)
    except ConnectionError:
        pass  # the camera went away; it is told again when it resumes its stream


async def licence_message(db: Database, org_id: str, now: float) -> m.Licence:
    standing = await organization_standing(db, org_id, now)
    return m.Licence(valid=standing.valid, until=standing.covered_until)
