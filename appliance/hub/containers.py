"""What a stream and a location track share at the device hub (D3, D5, S11): the checks a
``stream_start`` or ``track_start`` passes before the hub opens it, and a camera's stop. A refusal
is a ChunkRejected; its code and message reach the camera unchanged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bwlab.wire import chunk as wire_chunk
from bwlab.wire import messages as m
from bwlab.wire import positions as wire_positions

from ..cloud.store import system_region
from ..db import Database
from ..devices import DeviceId
from .streams import ChunkRejected


async def upload_target(db: Database, cloud_system_id: str, upload_key: str) -> tuple[bytes, str]:
    """What a ``stream_start`` or ``track_start`` needs before the hub opens it (D3, S11): its
    upload key, decoded, and the region of the camera's system; raises ChunkRejected."""
    try:
        key = wire_chunk.decode_upload_key(upload_key)
    except ValueError:
        raise ChunkRejected("invalid_message", "upload_key must be 32 bytes, base64url") from None
    region = await system_region(db, cloud_system_id)
    if region is None:  # the system was disconnected from the cloud while its camera was connected
        raise ChunkRejected("system_unknown", "the camera's system is no longer connected")
    return key, region


async def end_from_camera(
    ws: web.WebSocketResponse,
    end: Callable[[str, DeviceId, str, int | None, float], Awaitable[None]],
    container_id: str,
    device: DeviceId,
    message: m.StreamStop | wire_positions.TrackStop,
    now: float,
) -> None:
    """A camera's ``stream_stop`` or ``track_stop`` (D5, S11): ``end`` the stream or track as of
    the camera's time (else now); a refusal is answered with an error naming it."""
    try:
        await end(
            container_id,
            device,
            message.reason,
            message.last_seq,
            message.ended_at if message.ended_at is not None else now,
        )
    except ChunkRejected as exc:
        await ws.send_str(m.encode(m.Error(code=exc.code, message=exc.message, ref=container_id)))
