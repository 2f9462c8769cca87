"""The device hub's live state as the other parts see it (issue 11: parts meet through interfaces).

The hub (``appliance/hub``) owns the connected cameras, the live streams and the live positions.
The cloud's API (viewers, Active streams, acknowledge, remote start, camera users, licences, the
system list, the map, SOC notifications) and the lab (status, blocked host names) need that live
state; they reach it through the protocols below, under the ``DEVICE_HUB`` app key the hub
registers at start-up (``hub.api.setup_hub``, called by ``app.py``), never through the hub's modules.
The hub's tables are read through ``appliance.hub.store``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from aiohttp import web

from .db import Database
from .fanout import Fanout, Subscriber

CLOSE_REFUSED = 4403  # the WebSocket close code of a camera the hub refuses
FEED_WINDOW = 30.0  # seconds of recent positions a joining map receives (D9: trails of 20–30 s)


@dataclass(frozen=True)
class DeviceId:
    """A camera as the cloud knows it: the system whose device CA signed its certificate, and its
    serial. Two systems may each have a camera with the same serial; neither sees, stops or
    writes into the other's streams (issue 10)."""

    system_id: str
    serial: str


class ConnectedCamera(Protocol):
    """A camera connected to the hub now (its session)."""

    @property
    def device(self) -> DeviceId: ...
    @property
    def serial(self) -> str: ...
    @property
    def cloud_system_id(self) -> str: ...
    @property
    def org_id(self) -> str: ...
    @property
    def ws(self) -> web.WebSocketResponse: ...
    @property
    def state(self) -> dict: ...


class LiveStreamView(Protocol):
    @property
    def meta(self) -> dict: ...


StreamObserver = Callable[[str, dict], Awaitable[None]]


class LiveStreams(Protocol):
    """The streams: live fan-out to viewers, the Active streams events, stored chunks (D3–D8)."""

    @property
    def live(self) -> Mapping[str, LiveStreamView]: ...
    @property
    def changes(self) -> Fanout[dict]: ...
    @property
    def observers(self) -> list[StreamObserver]: ...
    def subscribe(
        self, stream_id: str, *, low_latency: bool = False
    ) -> tuple[Subscriber[bytes], list[bytes]] | None: ...
    def unsubscribe(self, stream_id: str, sub: Subscriber[bytes]) -> None: ...
    async def chunk_frames(self, stream_id: str, after_seq: int = -1, limit: int = 500) -> list[bytes]: ...
    async def metadata(self, stream_id: str) -> dict: ...
    async def acknowledge(self, stream_id: str, operator: str, now: float) -> None: ...


class LivePositions(Protocol):
    """The live positions feed and the location tracks (D9)."""

    def subscribe(self, org_id: str) -> tuple[Subscriber[dict | bytes], list]: ...
    def unsubscribe(self, org_id: str, q: Subscriber[dict | bytes]) -> None: ...
    async def track_metadata(self, org_id: str, *, live_only: bool = False) -> list[dict]: ...
    async def track_frames(self, track_id: str) -> list[bytes]: ...


class HelpRequests(Protocol):
    """The camera users' help requests (issue 16 item 2; the hub's ``help.HelpDesk``)."""

    @property
    def observers(self) -> list[StreamObserver]: ...
    async def of_org(self, org_id: str, *, open_only: bool) -> list[dict[str, Any]]: ...
    async def metadata(self, help_id: str) -> dict[str, Any]: ...
    async def acknowledge(self, help_id: str, operator: str, now: float) -> dict[str, Any]: ...
    async def created_since(self, org_id: str, since: float) -> list[dict[str, Any]]: ...


AckKind = Literal["stream", "help"]  # what an operator acknowledged: a stream (D6) or a help request (issue 16)


class CameraAcknowledgements(Protocol):
    """Acknowledgements owed to cameras, delivered now or on the camera's next connection (D6,
    issue 16; the hub's ``acknowledgements.AckOutbox``)."""

    async def send(self, device: DeviceId, kind: AckKind, ref: str, operator: str, now: float) -> bool: ...


class DeviceHub(Protocol):
    """The hub's live registry: connected cameras, the sockets to close at shutdown, the answers
    to remote starts awaited, the streams and positions."""

    @property
    def sessions(self) -> Mapping[DeviceId, ConnectedCamera]: ...
    @property
    def remote_results(self) -> dict[str, tuple[DeviceId, asyncio.Future[Any]]]: ...
    @property
    def live_streams(self) -> LiveStreams: ...
    @property
    def live_positions(self) -> LivePositions: ...
    @property
    def help_desk(self) -> HelpRequests: ...
    @property
    def camera_acks(self) -> CameraAcknowledgements: ...
    def track_socket(self, ws: web.WebSocketResponse) -> None: ...
    def by_user(self, org_id: str, user_id: str) -> ConnectedCamera | None: ...
    async def drop_unregistered(self, system_id: str, serials: set[str]) -> None: ...
    async def push_licence(self, db: Database, org_id: str, now: float) -> int: ...


DEVICE_HUB: web.AppKey[DeviceHub] = web.AppKey("device_hub")
