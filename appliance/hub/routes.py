"""The cloud's device hub: cameras connect over WebSocket with their certificate (D1, T2).

``/hub/v1/devices``: challenge → hello (certificate + proof of possession) → welcome, then the
camera reports its state. The hub refuses a camera whose certificate has expired (not docked
for six days, D1), was not issued by a connected system's device CA, or whose proof does not
verify; it records every refusal so that the UI and the diagnosis can name the cause. A camera
whose certificate expires while connected is disconnected at the next message or clock jump.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import weakref
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from bwlab.clock import run_every
from bwlab.wire import chunk as wire_chunk
from bwlab.wire import messages as m
from bwlab.wire import positions as wire_positions

from .. import pki
from ..cloud.routes import licence_valid
from ..context import APPLIANCE
from ..http import DEVICE, access
from ..lab.hostnames import blocked_camera_host
from ..storage import HUB_SOCKET, refuse_when_disk_full
from .positions import PositionHub, on_track_message, positions_ctx
from .streams import ChunkRejected, EvidenceStore, StreamHub

log = logging.getLogger(__name__)

CLOSE_REFUSED = 4403
CLOSE_PROTOCOL = 4400


@dataclass
class DeviceSession:
    serial: str
    cloud_system_id: str
    org_id: str
    not_after: float
    ws: web.WebSocketResponse
    state: dict = field(default_factory=dict)


class HubRegistry:
    """The cameras connected now, by serial, and the answers to remote starts awaited."""

    def __init__(self) -> None:
        self.sessions: dict[str, DeviceSession] = {}
        self.sockets: weakref.WeakSet[web.WebSocketResponse] = weakref.WeakSet()
        self.remote_results: dict[str, asyncio.Future] = {}
        self.streams: StreamHub | None = None
        self.positions: PositionHub | None = None  # location tracks and the live positions feed (D9)

    def by_user(self, org_id: str, user_id: str) -> DeviceSession | None:
        for session in self.sessions.values():
            if session.org_id == org_id and (session.state.get("user") or {}).get("id") == user_id:
                return session
        return None


HUB = web.AppKey("hub", HubRegistry)
PURGE_INTERVAL = 30.0
DEVICE_EVENTS_KEEP = 7 * 24 * 3600.0  # the hub's event log (refusals, connections) is kept a week of lab time


def setup_hub(app: web.Application) -> None:
    app[HUB] = HubRegistry()
    app.router.add_get("/hub/v1/devices", device_socket)
    app.on_shutdown.append(_close_sockets)
    app.cleanup_ctx.append(_streams_ctx)
    app.cleanup_ctx.append(positions_ctx)


async def _streams_ctx(app: web.Application):
    """The stream hub over the database and evidence store, and its housekeeping: retention (D8,
    and a week for the hub's event log) and certificate expiry of connected cameras (D1), every
    30 s and at once after time travel."""
    ctx = app[APPLIANCE]
    hub = StreamHub(ctx.db, EvidenceStore(ctx.config.data_dir / "evidence"))
    await hub.recover()
    app[HUB].streams = hub

    async def housekeeping() -> None:
        await expire_sessions(ctx, app[HUB])  # D1 at once after a time jump
        purged = await hub.purge(ctx.clock.now())
        if purged:
            log.info("retention: purged %d recordings older than 24 h", purged)
            ctx.count("recordings_purged_total", purged)
        await purge_device_events(ctx.db, ctx.clock.now())

    task = asyncio.create_task(run_every(ctx.clock, PURGE_INTERVAL, housekeeping), name="retention")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _close_sockets(app: web.Application) -> None:
    for ws in list(app[HUB].sockets):
        await ws.close(code=1001, message=b"appliance shutting down")


async def purge_device_events(db, now: float) -> int:
    """Retention of the hub's event log: rows older than ``DEVICE_EVENTS_KEEP`` of lab time go."""
    return await db.execute("DELETE FROM device_events WHERE at < ?", (now - DEVICE_EVENTS_KEEP,))


async def record_event(db, serial: str | None, at: float, kind: str, detail: str) -> None:
    await db.execute("INSERT INTO device_events (serial, at, kind, detail) VALUES (?, ?, ?, ?)",
                     (serial, at, kind, detail))


async def _refuse(ws: web.WebSocketResponse, ctx, serial: str | None, code: str, message: str, *,
                  authentic: bool = False) -> web.WebSocketResponse:
    """Refuse a camera with an error and close. The refusal is logged under the serial the
    camera claims; it is kept as the camera's ``last_refusal`` only when the camera proved who it
    is (``authentic``), so a forged hello cannot change a real camera's record. Whether a camera
    is online is the business of its own session alone."""
    now = ctx.clock.now()
    if serial is not None:  # a socket that never named a camera leaves no row (docs/security.md, item 10)
        await record_event(ctx.db, serial, now, code, message)
    if serial and authentic:
        await ctx.db.execute(
            "INSERT INTO device_state (serial, cloud_system_id, last_seen_at, last_refusal) VALUES (?, '', ?, ?) "
            "ON CONFLICT(serial) DO UPDATE SET last_seen_at = excluded.last_seen_at, last_refusal = excluded.last_refusal",
            (serial, now, json.dumps({"code": code, "message": message, "at": now})))
    ctx.count("hub_refusals_total")
    await ws.send_str(m.encode(m.Error(code=code, message=message)))
    await ws.close(code=CLOSE_REFUSED, message=code.encode()[:120])
    return ws


@access(DEVICE)
@refuse_when_disk_full  # a full disk: insufficient_storage, close 4507; the camera keeps and resends (item 8)
async def device_socket(request: web.Request) -> web.WebSocketResponse:
    ctx = request.config_dict[APPLIANCE]
    registry = request.config_dict[HUB]
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=ctx.config.max_chunk + 4096)
    await ws.prepare(request)
    request[HUB_SOCKET] = ws
    registry.sockets.add(ws)
    nonce = os.urandom(32)
    await ws.send_str(m.encode(m.Challenge(nonce=base64.urlsafe_b64encode(nonce).decode().rstrip("="),
                                           server_time=ctx.clock.now())))
    try:
        msg = await ws.receive(timeout=ctx.config.handshake_timeout)
    except asyncio.TimeoutError:
        return await _refuse(ws, ctx, None, "hello_timeout", "no hello within the time allowed")
    if msg.type != WSMsgType.TEXT:
        return await _refuse(ws, ctx, None, "bad_message", "expected a hello text frame")
    try:
        hello = m.decode(msg.data, (m.Hello,))
        signature = base64.urlsafe_b64decode(hello.signature + "=" * (-len(hello.signature) % 4))
    except m.ProtocolError as exc:
        return await _refuse(ws, ctx, None, exc.code, str(exc))
    except ValueError:
        return await _refuse(ws, ctx, None, "bad_message", "hello.signature is not base64url")
    systems = await ctx.db.fetchall("SELECT id, org_id, device_ca_pem, region FROM cloud_systems")
    now = ctx.clock.now()
    try:
        verified = pki.verify_device(hello.certificate, [s["device_ca_pem"] for s in systems],
                                     m.CHALLENGE_PREFIX + nonce, signature, now)
    except pki.CertificateRefused as exc:
        return await _refuse(ws, ctx, hello.serial, exc.code, str(exc), authentic=exc.authentic)
    if verified.serial != hello.serial:
        return await _refuse(ws, ctx, hello.serial, "certificate_refused",
                             f"the certificate names camera {verified.serial}, not {hello.serial}")
    system = next(s for s in systems if s["device_ca_pem"] == verified.ca_pem)
    blocked = await blocked_camera_host(ctx.db, system["region"])
    if blocked is not None:  # T2 row 5, T5: the lab blocks a host name this camera needs
        return await _refuse(ws, ctx, verified.serial, "service_unreachable",
                             f"the camera cannot reach {blocked}:443 (blocked host name, T5)", authentic=True)
    session = DeviceSession(verified.serial, system["id"], system["org_id"], verified.not_after, ws)
    previous = registry.sessions.get(session.serial)
    if previous is not None:
        await previous.ws.close(code=4409, message=b"replaced by a newer connection")
    registry.sessions[session.serial] = session
    await ctx.db.execute(
        "INSERT INTO device_state (serial, cloud_system_id, online, cert_not_after, last_seen_at) VALUES (?, ?, 1, ?, ?) "
        "ON CONFLICT(serial) DO UPDATE SET cloud_system_id = excluded.cloud_system_id, online = 1, "
        "cert_not_after = excluded.cert_not_after, last_seen_at = excluded.last_seen_at, last_refusal = NULL",
        (session.serial, session.cloud_system_id, session.not_after, now))
    await record_event(ctx.db, session.serial, now, "connected", "certificate accepted")
    await ws.send_str(m.encode(m.Welcome(serial=session.serial, system_id=session.cloud_system_id,
                                         not_after=session.not_after, server_time=now)))
    try:
        await _serve(ws, ctx, session, registry)
    finally:
        if registry.sessions.get(session.serial) is session:
            del registry.sessions[session.serial]
            await ctx.db.execute("UPDATE device_state SET online = 0, last_seen_at = ? WHERE serial = ?",
                                 (ctx.clock.now(), session.serial))
    return ws


_CAMERA_MESSAGES = (m.State, m.Ping, m.StreamStart, m.StreamStop, m.RemoteStartResult, m.Log,
                    wire_positions.TrackStart, wire_positions.TrackStop)


async def _serve(ws: web.WebSocketResponse, ctx, session: DeviceSession, registry: HubRegistry) -> None:
    streams = registry.streams
    assert streams is not None
    async for msg in ws:
        now = ctx.clock.now()
        if now > session.not_after:
            await _expire(ctx, streams, session, now)
            return
        if msg.type == WSMsgType.TEXT:
            try:
                message = m.decode(msg.data, _CAMERA_MESSAGES)
            except m.ProtocolError as exc:
                await ws.send_str(m.encode(m.Error(code=exc.code, message=str(exc))))
                continue
            await _on_message(ws, ctx, session, registry, message, now)
        elif msg.type == WSMsgType.BINARY:
            try:
                store = registry.positions if registry.positions.owns(msg.data) else streams
                c = await store.store_chunk(msg.data, session.serial, ctx.config.max_chunk, now)
            except ChunkRejected as exc:
                ctx.count("chunks_refused_total")
                await ws.send_str(m.encode(m.ChunkRefused(code=exc.code, message=exc.message, stream_id=exc.stream_id,
                                                          seq=exc.seq)))
                continue
            ctx.count("chunks_stored_total")
            ctx.count("chunk_bytes_total", len(msg.data))
            await ws.send_str(m.encode(m.ChunkAck(stream_id=c.stream_id, seq=c.seq)))
            if c.kind == wire_chunk.KIND_POSITION:
                registry.positions.on_position(session.org_id, session.serial, c, msg.data)
        elif msg.type == WSMsgType.ERROR:
            log.info("device %s socket error: %s", session.serial, ws.exception())
            return


_LOCATION_KEYS = frozenset({"position", "lat", "lon", "latitude", "longitude", "coordinates"})


def without_locations(value):
    """A camera state with every location-like field removed at any depth: the cloud keeps no
    plaintext position (S17, DESIGN "Trust and encryption"), even if a camera reports one."""
    if isinstance(value, dict):
        return {k: without_locations(v) for k, v in value.items() if k not in _LOCATION_KEYS}
    if isinstance(value, list):
        return [without_locations(v) for v in value]
    return value


async def _expire(ctx, streams: StreamHub, session: DeviceSession, now: float) -> None:
    """D1: the camera's certificate has expired while connected: end its streams, refuse, close."""
    for stream_id, live in list(streams.live.items()):
        if live.meta.get("serial") == session.serial:
            await streams.end_stream(stream_id, session.serial, "certificate_expired", None, now)
    await ctx.db.execute("UPDATE device_state SET online = 0 WHERE serial = ?", (session.serial,))
    await _refuse(session.ws, ctx, session.serial, "certificate_expired",
                  "the certificate expired: the camera has not been docked for more than six days (D1)",
                  authentic=True)


async def expire_sessions(ctx, registry: HubRegistry) -> int:
    """Drop every connected camera whose certificate lab time has passed (after a time jump)."""
    now = ctx.clock.now()
    expired = [s for s in list(registry.sessions.values()) if now > s.not_after and not s.ws.closed]
    for session in expired:
        await _expire(ctx, registry.streams, session, now)
    return len(expired)


async def _on_message(ws, ctx, session: DeviceSession, registry: HubRegistry, message, now: float) -> None:
    streams = registry.streams
    if isinstance(message, m.State):
        state = without_locations(message.state)
        session.state = state
        await ctx.db.execute("UPDATE device_state SET state = ?, last_seen_at = ? WHERE serial = ?",
                             (json.dumps(state), now, session.serial))
    elif isinstance(message, m.StreamStart):
        await _start_stream(ws, ctx, session, streams, message, now)
    elif isinstance(message, m.StreamStop):
        if message.stream_id is not None:
            try:
                await streams.end_stream(message.stream_id, session.serial, message.reason, message.last_seq,
                                         message.ended_at if message.ended_at is not None else now)
            except ChunkRejected as exc:
                await ws.send_str(m.encode(m.Error(code=exc.code, message=exc.message, ref=message.stream_id)))
    elif isinstance(message, m.RemoteStartResult):
        future = registry.remote_results.pop(message.request_id, None)
        if future is not None and not future.done():
            future.set_result(message)
    elif isinstance(message, (wire_positions.TrackStart, wire_positions.TrackStop)):
        await on_track_message(ws, ctx, session, registry.positions, message, now)
    elif isinstance(message, m.Log):
        await record_event(ctx.db, session.serial, now, f"camera:{message.code}", message.message)


async def _start_stream(ws, ctx, session: DeviceSession, streams: StreamHub, message: m.StreamStart, now: float) -> None:
    """D3, D4: open a stream, unless the organization's licence has expired (S15, T2)."""
    if not message.resume and not await licence_valid(ctx.db, session.org_id, now):
        await record_event(ctx.db, session.serial, now, "licence_expired", "stream refused: the licence has expired")
        await ws.send_str(m.encode(m.StreamRefused(stream_id=message.stream_id, code="licence_expired",
                                                   message="the organization's licence has expired (S15)")))
        return
    try:
        upload_key = wire_chunk.decode_upload_key(message.upload_key)
    except ValueError:
        await ws.send_str(m.encode(m.StreamRefused(stream_id=message.stream_id, code="invalid_message",
                                                   message="upload_key must be 32 bytes, base64url")))
        return
    system = await ctx.db.fetchone("SELECT region FROM cloud_systems WHERE id = ?", (session.cloud_system_id,))
    try:
        next_seq = await streams.open_stream(
            stream_id=message.stream_id, org_id=session.org_id, cloud_system_id=session.cloud_system_id,
            serial=session.serial, user_id=message.user_id, user_name=message.user_name, reason=message.reason,
            request_id=message.request_id, region=system["region"], mime=message.mime,
            wrapped_key=message.wrapped_key, upload_key=upload_key, started_at=message.started_at, now=now,
            resume=message.resume)
    except ChunkRejected as exc:
        await ws.send_str(m.encode(m.StreamRefused(stream_id=message.stream_id, code=exc.code, message=exc.message)))
        return
    await ws.send_str(m.encode(m.StreamAccepted(stream_id=message.stream_id, next_seq=next_seq)))
