"""The web client's stream API (/api/cloud/orgs/{org_id}/…): Active streams, live view,
recordings, acknowledge, remote start (D3, D4, D6, D8, S14, S17).

All roles of the organization (user, operator, admin) may view, acknowledge, play recordings
and start a stream remotely (S14; the manual gives remote start to "the SOC operator" without
a role, see docs/decisions.md). What leaves here is metadata in clear and ciphertext frames;
the browser decrypts.
"""

from __future__ import annotations

import asyncio
import json
import secrets

from aiohttp import WSMsgType, web

from bwlab.wire import health as wire_health
from bwlab.wire import messages as m

from ...auth import ACCOUNT_KEY
from ...context import APPLIANCE
from ...devices import DEVICE_HUB, DeviceId
from ...errors import Conflict, InvalidInput, NotFound
from ...fanout import FeedEnded, Subscriber, TooSlow
from ...http import ORG_MEMBER, access, json_response
from ...hub import store as hub_store
from .. import audit
from .. import store as cloud_store
from ..socket_limits import counted_socket

routes = web.RouteTableDef()

REMOTE_START_TIMEOUT = 10.0
ORG = "/orgs/{org_id}"


def _streams(request: web.Request):
    return request.config_dict[DEVICE_HUB].live_streams


async def _stream_meta(request: web.Request) -> dict:
    meta = await _streams(request).metadata(request.match_info["stream_id"])
    if not meta or meta["org_id"] != request.match_info["org_id"]:
        raise NotFound("no such stream in this organization")
    return meta


@routes.get(ORG + "/streams")
@access(ORG_MEMBER)
async def list_streams(request: web.Request) -> web.Response:
    """Active streams (live) and recordings (ended, kept 24 h of lab time, D8)."""
    ctx = request.config_dict[APPLIANCE]
    which = request.query.get("state", "all")
    if which not in ("all", "live", "recorded"):
        raise web.HTTPBadRequest(reason="state: expected all, live or recorded")
    ids = await hub_store.org_stream_ids(ctx.db, request.match_info["org_id"], which)
    streams = [await _streams(request).metadata(stream_id) for stream_id in ids]
    return json_response({"streams": streams, "server_time": ctx.clock.now()})


@routes.get(ORG + "/streams/{stream_id}")
@access(ORG_MEMBER)
async def get_stream(request: web.Request) -> web.Response:
    return json_response(await _stream_meta(request))


@routes.get(ORG + "/streams/{stream_id}/live")
@access(ORG_MEMBER)
@counted_socket  # at most MAX_PER_ACCOUNT per account (docs/security.md)
@audit.watched(audit.STREAM_VIEWED, _stream_meta)
async def live(request: web.Request) -> web.WebSocketResponse:
    """The live view: stream metadata, then the init segment and the current GOP, a
    ``live_edge`` marker, then every chunk as it lands, as ciphertext frames (bwlab.wire.chunk).
    Frames before the marker are catch-up, not live: latency is measured after it. A viewer that falls behind by
    more than the queue holds is disconnected with code 4408 and may rejoin at the live edge.
    ``latency=low``: the viewer plays in the low-latency view, and the camera is asked to send its
    media in small chunks while such a viewer watches (``viewer_latency``, issue 16 item 6)."""
    latency = request.query.get("latency", "normal")
    if latency not in ("normal", "low"):
        raise InvalidInput("latency: expected normal or low", path="latency")
    meta = await _stream_meta(request)
    hub = _streams(request)
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    request.config_dict[DEVICE_HUB].track_socket(ws)
    await ws.send_json({"type": "stream", "stream": meta, "server_time": request.config_dict[APPLIANCE].clock.now()})
    sub = hub.subscribe(meta["id"], low_latency=latency == "low")
    if sub is None:
        await ws.send_json({"type": "ended", "stream_id": meta["id"]})
        await ws.close()
        return ws
    queue, snapshot = sub
    reader = asyncio.create_task(_drain(ws), name=f"viewer reader {meta['id']}")
    try:
        for frame in snapshot:
            await ws.send_bytes(frame)
        await ws.send_json({"type": "live_edge", "stream_id": meta["id"]})
        while not ws.closed:
            frame = await _next(queue, reader)
            if frame is _CLOSED:
                break
            await ws.send_bytes(frame)
    except FeedEnded:
        await ws.send_json({"type": "ended", "stream_id": meta["id"]})
    except TooSlow:
        await ws.close(code=4408, message=b"viewer too slow; rejoin")
    finally:
        hub.unsubscribe(meta["id"], queue)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await ws.close()
    return ws


_CLOSED = object()


async def _next(queue: Subscriber, reader: asyncio.Task):
    """The subscriber's next item, or ``_CLOSED`` once the client's side of the socket is done
    (``TooSlow``/``FeedEnded`` from the subscriber pass through)."""
    getter = asyncio.create_task(queue.get())
    done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
    if getter not in done:
        getter.cancel()
        return _CLOSED
    return getter.result()


async def _drain(ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        if msg.type == WSMsgType.ERROR:
            return


@routes.get(ORG + "/streams/{stream_id}/recording")
@access(ORG_MEMBER)
@counted_socket  # at most MAX_PER_ACCOUNT per account (docs/security.md)
@audit.watched(audit.RECORDING_DOWNLOADED, _stream_meta)
async def recording(request: web.Request) -> web.WebSocketResponse:
    """Play a recording (D8): metadata, then every stored frame in order, then ``end``."""
    meta = await _stream_meta(request)
    hub = _streams(request)
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    await ws.send_json({"type": "stream", "stream": meta, "server_time": request.config_dict[APPLIANCE].clock.now()})
    after = -1
    while not ws.closed:
        frames = await hub.chunk_frames(meta["id"], after, 200)
        if not frames:
            break
        for frame in frames:
            await ws.send_bytes(frame)
        after = int.from_bytes(frames[-1][8:16], "big")
    await ws.send_json({"type": "end", "stream_id": meta["id"]})
    await ws.close()
    return ws


@routes.post(ORG + "/streams/{stream_id}/acknowledge")
@access(ORG_MEMBER)
async def acknowledge(request: web.Request) -> web.Response:
    """D6: the operator acknowledges; the camera vibrates — now if it is connected, else when it
    comes back (``camera_notified`` says which; appliance/hub/acknowledgements.py)."""
    meta = await _stream_meta(request)
    if not meta["live"]:
        raise Conflict("the stream has ended", code="stream_ended")
    ctx = request.config_dict[APPLIANCE]
    account = request[ACCOUNT_KEY]
    now = ctx.clock.now()
    await _streams(request).acknowledge(meta["id"], account.name, now)
    notified = await request.config_dict[DEVICE_HUB].camera_acks.send(
        DeviceId(meta["system_id"], meta["serial"]), "stream", meta["id"], account.name, now
    )
    await audit.record(request, audit.ACKNOWLEDGED, stream=meta)
    return json_response({"acknowledged": meta["id"], "by": account.name, "camera_notified": notified})


@routes.get(ORG + "/camera-users")
@access(ORG_MEMBER)
async def camera_users(request: web.Request) -> web.Response:
    """The camera users of the organization's systems (as their controllers sent them, and any
    whose camera reached the hub), with what each camera does now and whether a remote start
    (D4) is possible, and why not."""
    ctx = request.config_dict[APPLIANCE]
    org_id = request.match_info["org_id"]
    registry = request.config_dict[DEVICE_HUB]
    systems = [s["id"] for s in await cloud_store.org_systems(ctx.db, org_id)]
    rows = await hub_store.systems_device_states(ctx.db, systems)
    synced = await cloud_store.synced_camera_users(ctx.db, org_id)
    users: dict[str, dict] = {}
    for u in synced.values():
        camera = u["cameras"][0] if u["cameras"] else {}
        users[u["id"]] = _listed(
            u["id"], u["name"], camera.get("serial"), camera.get("model"), {}, online=False, reason=_offline_refusal(u)
        )
    for r in rows:
        state = json.loads(r["state"] or "{}")
        user = state.get("user") or {}
        if not user.get("id"):
            continue
        online = DeviceId(r["cloud_system_id"], r["serial"]) in registry.sessions
        listed, current = synced.get(user["id"]), users.get(user["id"])
        if not online:
            if current is not None and current["online"]:
                continue  # the camera user's connected camera tells more than an idle one
            if listed is not None and r["serial"] not in {c["serial"] for c in listed["cameras"]}:
                continue  # a camera no longer theirs: the controller's list knows better
        profile = state.get("profile") or {}
        if online:
            reason = _refusal(
                bool(profile.get("streaming")),
                profile.get("remote_activation"),
                online=True,
                recording=bool(state.get("recording")),
                live=state.get("streaming") == "live",
            )
        else:
            reason = _offline_refusal(listed) if listed is not None else "camera_offline"
        users[user["id"]] = _listed(
            user["id"],
            (listed or user).get("name"),
            r["serial"],
            state.get("model"),
            state,
            online=online,
            reason=reason,
        )
        users[user["id"]]["health"] = wire_health.summary(r["health"], r["last_seen_at"])  # issue 16 item 5
    return json_response({"camera_users": sorted(users.values(), key=lambda u: u["name"] or "")})


def _listed(
    user_id: str,
    name: str | None,
    serial: str | None,
    model: str | None,
    state: dict,
    *,
    online: bool,
    reason: str | None,
) -> dict:
    """One camera user as Live lists them: their camera, what it does now, and whether (or why
    not) a remote start is possible."""
    return {
        "id": user_id,
        "name": name,
        "serial": serial,
        "model": model,
        "online": online,
        "recording": state.get("recording"),
        "streaming": state.get("streaming"),
        "stream_id": state.get("stream_id"),
        "remote_start": reason is None,
        "remote_start_reason": reason,
        "stream_quality": state.get("stream_quality") if state.get("streaming") == "live" else None,
    }


def _refusal(
    streaming: bool, remote: str | None, *, online: bool, recording: bool = False, live: bool = False
) -> str | None:
    """Why a remote start (D4) cannot happen, by the profile (S7) and the camera; None if it can."""
    if not streaming:
        return "streaming_disabled"
    if remote is None:
        return "remote_activation_disabled"
    if not online:
        return "camera_offline"
    if remote == "while_recording" and not recording:
        return "not_recording"
    if live:
        return "already_streaming"
    return None


def _offline_refusal(listed: dict) -> str | None:
    """Why a camera user the controller listed, whose camera is not connected, cannot be started
    (never None: an offline camera cannot be started)."""
    if not listed["cameras"]:
        return "no_camera"
    return _refusal(listed["streaming"], listed["remote_activation"], online=False)


_OFFLINE_REASONS = {
    "camera_offline": "the camera user's camera is not connected (docked, out of network, or not provisioned)",
    "no_camera": "no camera is assigned to this camera user in the Manager",
    "streaming_disabled": "streaming is off in the camera user's profile (S7), so the camera does not react",
    "remote_activation_disabled": "remote stream activation is off in the camera user's profile (S7)",
}


@routes.post(ORG + "/camera-users/{user_id}/start")
@access(ORG_MEMBER)
async def remote_start(request: web.Request) -> web.Response:
    """D4: Streams → camera user → Start stream. The camera decides by its profile (S7)."""
    ctx = request.config_dict[APPLIANCE]
    registry = request.config_dict[DEVICE_HUB]
    org_id, user_id = request.match_info["org_id"], request.match_info["user_id"]
    account = request[ACCOUNT_KEY]
    session = registry.by_user(org_id, user_id)
    if session is None:  # refused before any camera hears of it: nothing is recorded
        listed = (await cloud_store.synced_camera_users(ctx.db, org_id)).get(user_id)
        reason = (_offline_refusal(listed) if listed else None) or "camera_offline"
        raise Conflict(_OFFLINE_REASONS[reason], code=reason)
    request_id = secrets.token_hex(8)
    await cloud_store.add_remote_start(
        ctx.db, request_id, org_id, user_id, session.serial, account.name, ctx.clock.now()
    )
    future: asyncio.Future = asyncio.get_running_loop().create_future()
    registry.remote_results[request_id] = (session.device, future)
    await session.ws.send_str(m.encode(m.RemoteStart(request_id=request_id, operator=account.name)))
    try:
        result = await asyncio.wait_for(future, REMOTE_START_TIMEOUT)
    except TimeoutError:
        raise Conflict("the camera did not answer the remote start", code="camera_timeout") from None
    finally:
        registry.remote_results.pop(request_id, None)
    await cloud_store.remote_start_answered(ctx.db, request_id, result.ok, result.reason)
    if not result.ok:
        raise Conflict(f"the camera refused the remote start: {result.reason}", code=result.reason or "refused")
    await audit.record(
        request,
        audit.REMOTE_STARTED,
        camera={
            "serial": session.serial,
            "user_id": user_id,
            "user_name": (session.state.get("user") or {}).get("name"),
        },
    )
    return json_response({"request_id": request_id, "started": True, "reason": result.reason})


@routes.get(ORG + "/events")
@access(ORG_MEMBER)
@counted_socket  # at most MAX_PER_ACCOUNT per account (docs/security.md)
async def events(request: web.Request) -> web.WebSocketResponse:
    """Active streams, live: stream_started / stream_ended / stream_acknowledged events, and help
    requests: help_requested / help_acknowledged (issue 16, appliance/hub/help.py)."""
    hub = _streams(request)
    org_id = request.match_info["org_id"]
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    request.config_dict[DEVICE_HUB].track_socket(ws)
    queue = hub.changes.subscribe()
    reader = asyncio.create_task(_drain(ws), name="events reader")
    try:
        await ws.send_json({"type": "hello", "server_time": request.config_dict[APPLIANCE].clock.now()})
        while not ws.closed:
            event = await _next(queue, reader)
            if event is _CLOSED:
                break
            if (event.get("stream") or event.get("help") or {}).get("org_id") == org_id:  # help: issue 16
                await ws.send_json(event)
    except TooSlow:
        await ws.close(code=4408, message=b"listener too slow; rejoin")
    finally:
        hub.changes.unsubscribe(queue)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    return ws
