"""The cloud's device hub: cameras connect over WebSocket with their certificate (D1, T2).

``/hub/v1/devices``: challenge → hello (certificate + proof of possession) → welcome, then the
camera reports its state. The hub refuses a camera whose certificate has expired (not docked
for six days, D1), was not issued by a connected system's device CA, names a camera that system
has not registered, or whose proof does not verify; it records every refusal so that the UI and
the diagnosis can name the cause. A camera whose certificate expires while connected is
disconnected at the next message or clock jump.

A camera is (system, serial) — ``DeviceId``, the system being the one whose device CA signed
its certificate. Sessions, streams, tracks, state and refusals are kept by it, so a camera of
another system with the same serial never displaces a session, sees a stream or touches one
(issue 10; docs/decisions.md "Device identity").
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os

from aiohttp import WSCloseCode, WSMsgType, web

from bwlab.clock import run_every
from bwlab.wire import chunk as wire_chunk
from bwlab.wire import health as wire_health
from bwlab.wire import messages as m
from bwlab.wire import positions as wire_positions
from bwlab.wire.help import HelpRequest

from ... import pki, quarantine
from ...cloud.store import cloud_systems, licence_valid, system_camera_registered
from ...context import APPLIANCE
from ...devices import CLOSE_REFUSED, DEVICE_HUB, DeviceId
from ...http import DEVICE, access
from ...lab.store import blocked_camera_host
from ...storage import HUB_SOCKET, refuse_when_disk_full
from .. import store
from ..acknowledgements import AckOutbox
from ..chunk_pipeline import ChunkPipeline, Job
from ..containers import end_from_camera, upload_target
from ..help import HelpError, setup_help
from ..positions import PositionHub, on_track_message
from ..registry import HUB, DeviceSession, HubRegistry, licence_message
from ..streams import ChunkRejected, EvidenceStore, StreamHub

log = logging.getLogger(__name__)

PURGE_INTERVAL = 30.0


def setup_hub(app: web.Application) -> None:
    app[HUB] = registry = HubRegistry()
    app[DEVICE_HUB] = registry  # what the cloud and the lab see of it (appliance/devices.py)
    app.router.add_get("/hub/v1/devices", device_socket)
    app.on_shutdown.append(_close_sockets)
    app.cleanup_ctx.append(_streams_ctx)
    app.cleanup_ctx.append(positions_ctx)
    setup_help(app, app[HUB])


async def _streams_ctx(app: web.Application):
    """The stream hub over the database and evidence store, and its housekeeping: retention (D8,
    and a week for the hub's event log) and certificate expiry of connected cameras (D1), every
    30 s and at once after time travel."""
    ctx = app[APPLIANCE]
    hub = StreamHub(ctx.db, EvidenceStore(ctx.config.data_dir / "evidence"))
    await hub.quarantine_bad_rows(ctx.clock.now())  # a bad stored row never stops a restart
    await hub.recover(ctx.clock.now())
    app[HUB].streams = hub
    hub.latency_listeners.append(app[HUB].tell_viewer_latency)
    app[HUB].acks = acks = AckOutbox(ctx.db, app[HUB].welcomed_socket)  # D6, issue 16: owed while offline

    async def housekeeping() -> None:
        await expire_sessions(ctx, app[HUB])  # D1 at once after a time jump
        await hub.end_unresumed(ctx.clock.now())  # streams live at the last stop, not resumed
        purged = await hub.purge(ctx.clock.now())
        if purged:
            log.info("retention: purged %d recordings older than 24 h", purged)
            ctx.count("recordings_purged_total", purged)
        await store.purge_device_events(ctx.db, ctx.clock.now())
        await acks.purge(ctx.clock.now())

    task = asyncio.create_task(run_every(ctx.clock, PURGE_INTERVAL, housekeeping), name="retention")
    yield
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _close_sockets(app: web.Application) -> None:
    for ws in list(app[HUB].sockets):
        await ws.close(code=1001, message=b"appliance shutting down")


async def _refuse(
    ws: web.WebSocketResponse, ctx, serial: str | None, code: str, message: str, *, device: DeviceId | None = None
) -> web.WebSocketResponse:
    """Refuse a camera with an error and close. The refusal is logged under the serial the
    camera claims; it is kept as the camera's ``last_refusal`` only when the camera proved who it
    is (``device``: the system whose CA signed its certificate, and its serial), so a forged hello
    cannot change a real camera's record. Whether a camera is online is the business of its own
    session alone."""
    now = ctx.clock.now()
    if device is not None or serial is not None:  # a socket that never named a camera leaves no row (item 10)
        await store.record_event(
            ctx.db, device.serial if device else serial, now, code, message, device.system_id if device else None
        )
    if device is not None:
        await store.record_refusal(
            ctx.db, device.system_id, device.serial, {"code": code, "message": message, "at": now}, now
        )
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
    await ws.send_str(
        m.encode(m.Challenge(nonce=base64.urlsafe_b64encode(nonce).decode().rstrip("="), server_time=ctx.clock.now()))
    )
    try:
        msg = await ws.receive(timeout=ctx.config.handshake_timeout)
    except TimeoutError:
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
    systems = await cloud_systems(ctx.db)
    now = ctx.clock.now()
    try:
        verified = pki.verify_device(
            hello.certificate,
            {i: s["device_ca_pem"] for i, s in systems.items()},
            m.CHALLENGE_PREFIX + nonce,
            signature,
            now,
        )
    except pki.CertificateRefused as exc:
        return await _refuse(
            ws,
            ctx,
            hello.serial,
            exc.code,
            str(exc),
            device=DeviceId(*exc.device) if exc.authentic and exc.device else None,
        )
    if verified.serial != hello.serial:
        return await _refuse(
            ws,
            ctx,
            hello.serial,
            "certificate_refused",
            f"the certificate names camera {verified.serial}, not {hello.serial}",
        )
    system = systems[verified.issuer_id]
    device = DeviceId(system["id"], verified.serial)
    if not await system_camera_registered(ctx.db, device.system_id, device.serial):
        return await _refuse(
            ws,
            ctx,
            device.serial,
            "certificate_refused",
            f"camera {device.serial} is not registered in the system whose device CA signed its certificate",
            device=device,
        )
    blocked = await blocked_camera_host(ctx.db, system["region"])
    if blocked is not None:  # T2 row 5, T5: the lab blocks a host name this camera needs
        return await _refuse(
            ws,
            ctx,
            device.serial,
            "service_unreachable",
            f"the camera cannot reach {blocked}:443 (blocked host name, T5)",
            device=device,
        )
    session = DeviceSession(device, system["org_id"], verified.not_after, ws)
    previous = registry.sessions.get(device)
    if previous is not None:
        await previous.ws.close(code=4409, message=b"replaced by a newer connection")
    registry.sessions[device] = session
    await store.record_online(ctx.db, device.system_id, device.serial, session.not_after, now)
    await store.record_event(ctx.db, device.serial, now, "connected", "certificate accepted", device.system_id)
    licence = await licence_message(ctx.db, session.org_id, now)
    await ws.send_str(
        m.encode(
            m.Welcome(
                serial=device.serial,
                system_id=device.system_id,
                not_after=session.not_after,
                server_time=now,
                licence_valid=licence.valid,
                licence_until=licence.until,
            )
        )
    )
    session.welcomed = True
    try:
        await registry.camera_acks.deliver(device, ctx.clock.now())  # acknowledged while it was away (D6)
        await _serve(ws, ctx, session, registry)
    finally:
        if registry.sessions.get(device) is session:
            del registry.sessions[device]
            await store.record_offline(ctx.db, device.system_id, device.serial, ctx.clock.now())
    return ws


_CAMERA_MESSAGES = (
    m.State,
    m.Ping,
    m.StreamStart,
    m.StreamStop,
    m.RemoteStartResult,
    m.Log,
    wire_positions.TrackStart,
    wire_positions.TrackStop,
    wire_health.Health,
    HelpRequest,
)


# Messages whose meaning depends on the chunks sent before them (a stream's last sequence number);
# the others (state, health, pings) do not wait for the disk.
_AFTER_THE_CHUNKS = (m.StreamStop, wire_positions.TrackStop)


async def _serve(ws: web.WebSocketResponse, ctx, session: DeviceSession, registry: HubRegistry) -> None:
    try:
        await _read(ws, ctx, session, registry)
    except ConnectionResetError:  # the camera or the appliance went away mid-answer (shutdown)
        log.debug("device %s: connection closed while answering", session.serial)


async def _read(ws: web.WebSocketResponse, ctx, session: DeviceSession, registry: HubRegistry) -> None:
    async def failed(exc: BaseException) -> None:
        await ws.close(code=WSCloseCode.INTERNAL_ERROR, message=b"the hub could not store a chunk")

    pipeline = ChunkPipeline(session.serial, failed)
    try:
        await _read_messages(ws, ctx, session, registry, pipeline)
    finally:
        await pipeline.close()


async def _read_messages(
    ws: web.WebSocketResponse, ctx, session: DeviceSession, registry: HubRegistry, pipeline: ChunkPipeline
) -> None:
    streams = registry.live_streams
    async for msg in ws:
        now = ctx.clock.now()
        if now > session.not_after:
            await pipeline.settle()
            await _expire(ctx, streams, session, now)
            return
        if msg.type == WSMsgType.TEXT:
            try:
                message = m.decode(msg.data, _CAMERA_MESSAGES)
            except m.ProtocolError as exc:
                await ws.send_str(m.encode(m.Error(code=exc.code, message=str(exc))))
                continue
            if isinstance(message, _AFTER_THE_CHUNKS):
                await pipeline.settle()  # the chunks before a stop are stored and answered first
            await _on_message(ws, ctx, session, registry, message, now)
        elif msg.type == WSMsgType.BINARY:
            await pipeline.put(await _chunk_job(ws, ctx, session, registry, msg.data, now))
        elif msg.type == WSMsgType.ERROR:
            log.info("device %s socket error: %s", session.serial, ws.exception())
            return


async def _chunk_job(
    ws: web.WebSocketResponse, ctx, session: DeviceSession, registry: HubRegistry, frame: bytes, now: float
) -> Job:
    """Check a chunk (a stream's goes to its live viewers now) and what remains to be done."""

    async def refused(exc: ChunkRejected) -> None:
        ctx.count("chunks_refused_total")
        await ws.send_str(
            m.encode(m.ChunkRefused(code=exc.code, message=exc.message, stream_id=exc.stream_id, seq=exc.seq))
        )

    async def answer(c: object) -> None:
        assert isinstance(c, wire_chunk.Chunk)
        ctx.count("chunks_stored_total")
        ctx.count("chunk_bytes_total", len(frame))
        await ws.send_str(m.encode(m.ChunkAck(stream_id=c.stream_id, seq=c.seq)))
        if c.kind == wire_chunk.KIND_POSITION:
            registry.live_positions.on_position(session.org_id, session.device, c, frame)

    positions = registry.live_positions
    if positions.owns(frame):
        return Job(lambda: positions.store_chunk(frame, session.device, ctx.config.max_chunk, now), answer, refused)
    try:
        admitted = await registry.live_streams.admit_chunk(frame, session.device, ctx.config.max_chunk, now)
    except ChunkRejected as exc:
        rejection = exc

        async def refuse_in_turn() -> object:
            raise rejection

        return Job(refuse_in_turn, answer, refused)
    return Job(lambda: registry.live_streams.persist_chunk(admitted, now), answer, refused)


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
        if DeviceId(live.meta.get("system_id", ""), live.meta.get("serial", "")) == session.device:
            await streams.end_stream(stream_id, session.device, "certificate_expired", None, now)
    await store.record_offline(ctx.db, session.device.system_id, session.device.serial)
    await _refuse(
        session.ws,
        ctx,
        session.serial,
        "certificate_expired",
        "the certificate expired: the camera has not been docked for more than six days (D1)",
        device=session.device,
    )


async def expire_sessions(ctx, registry: HubRegistry) -> int:
    """Drop every connected camera whose certificate lab time has passed (after a time jump)."""
    now = ctx.clock.now()
    expired = [s for s in list(registry.sessions.values()) if now > s.not_after and not s.ws.closed]
    for session in expired:
        await _expire(ctx, registry.live_streams, session, now)
    return len(expired)


async def _on_message(ws, ctx, session: DeviceSession, registry: HubRegistry, message, now: float) -> None:
    streams = registry.live_streams
    if isinstance(message, m.State):
        state = without_locations(message.state)
        session.state = state
        await store.record_state(ctx.db, session.device.system_id, session.device.serial, state, now)
        if not session.reconciled:  # a fresh connection: the camera's streams are the ones it has
            session.reconciled = True
            await streams.reconcile_camera(session.device, session.streams | {state.get("stream_id")} - {None})
    elif isinstance(message, wire_health.Health):  # issue 16 item 5: the last report and the last contact
        await store.record_health(ctx.db, session.device.system_id, session.device.serial, m.encode(message), now)
    elif isinstance(message, m.StreamStart):
        await _start_stream(ws, ctx, session, streams, message, now)
    elif isinstance(message, m.StreamStop):
        if message.stream_id is not None:
            await end_from_camera(ws, streams.end_stream, message.stream_id, session.device, message, now)
    elif isinstance(message, m.RemoteStartResult):
        pending = registry.remote_results.get(message.request_id)
        if pending is not None and pending[0] == session.device:  # only the camera that was asked answers
            registry.remote_results.pop(message.request_id)
            if not pending[1].done():
                pending[1].set_result(message)
    elif isinstance(message, (wire_positions.TrackStart, wire_positions.TrackStop)):
        await on_track_message(ws, ctx, session, registry.live_positions, message, now)
    elif isinstance(message, HelpRequest) and registry.help is not None:
        try:
            await registry.help.request(message, session.org_id, session.device, now)
        except HelpError as exc:
            await ws.send_str(m.encode(m.Error(code=exc.code, message=exc.message, ref=message.help_id)))
    elif isinstance(message, m.Log):
        await store.record_event(
            ctx.db, session.serial, now, f"camera:{message.code}", message.message, session.cloud_system_id
        )


async def _start_stream(
    ws, ctx, session: DeviceSession, streams: StreamHub, message: m.StreamStart, now: float
) -> None:
    """D3, D4: open a stream, unless the organization's licence has expired (S15, T2)."""
    try:
        if not message.resume and not await licence_valid(ctx.db, session.org_id, now):
            await store.record_event(
                ctx.db,
                session.serial,
                now,
                "licence_expired",
                "stream refused: the licence has expired",
                session.cloud_system_id,
            )
            raise ChunkRejected("licence_expired", "the organization's licence has expired (S15)")
        upload_key, region = await upload_target(ctx.db, session.cloud_system_id, message.upload_key)
        next_seq = await streams.open_stream(
            stream_id=message.stream_id,
            org_id=session.org_id,
            device=session.device,
            user_id=message.user_id,
            user_name=message.user_name,
            reason=message.reason,
            request_id=message.request_id,
            region=region,
            mime=message.mime,
            wrapped_key=message.wrapped_key,
            upload_key=upload_key,
            started_at=message.started_at,
            now=now,
            resume=message.resume,
        )
    except ChunkRejected as exc:
        await ws.send_str(m.encode(m.StreamRefused(stream_id=message.stream_id, code=exc.code, message=exc.message)))
        return
    session.streams.add(message.stream_id)
    await ws.send_str(m.encode(m.StreamAccepted(stream_id=message.stream_id, next_seq=next_seq)))
    if streams.wants_low_latency(message.stream_id):  # viewers waited through a reconnection
        await ws.send_str(m.encode(m.ViewerLatency(stream_id=message.stream_id, low=True)))


async def positions_ctx(app):
    """Cleanup context (after the stream hub's): the position hub, its stream follower and its
    retention job."""
    ctx = app[APPLIANCE]
    registry = app[HUB]
    assert registry.streams is not None
    hub = PositionHub(ctx.db, registry.streams.evidence, registry.streams)
    await quarantine.sweep(ctx.db, "location_tracks", ctx.clock.now())  # a bad stored row never stops a restart
    await hub.load()
    registry.positions = hub

    async def retention() -> None:
        purged = await hub.purge(ctx.clock.now())
        if purged:
            log.info("retention: purged %d positions older than 24 h", purged)

    tasks = [
        asyncio.create_task(run_every(ctx.clock, PURGE_INTERVAL, retention), name="positions retention"),
        asyncio.create_task(hub.follow_streams(), name="positions follow streams"),
    ]
    yield
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
