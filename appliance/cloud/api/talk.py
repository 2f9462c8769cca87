"""Talk-back (issue 16 item 3): ``/api/cloud/orgs/{org_id}/streams/{stream_id}/talk``.

A WebSocket of Live's stream view (and of ``bwlab talk``): it tells who holds the floor of the
stream's camera (``talk_floor``, on connect and on every change, so every viewer sees who talks);
``talk_take`` asks for the floor, ``talk_audio`` relays one sealed Opus packet to the camera while
the socket holds it, ``talk_release`` (or closing) ends the talk. The hub relays ciphertext: the
talk key derives from the stream's content key, which only the camera and holders of the system
private key know (docs/e2e-envelope.md §13). Every member of the organization may talk, as every
member may view and acknowledge (S14).
"""

from __future__ import annotations

import logging

from aiohttp import WSMsgType, web

from bwlab.wire import messages as m
from bwlab.wire import talk as wire_talk

from ...auth import ACCOUNT_KEY
from ...context import APPLIANCE
from ...devices import DEVICE_HUB, DeviceId
from ...errors import Conflict
from ...http import ORG_MEMBER, access
from .. import audit
from ..socket_limits import counted_socket
from ..talk import TALK, Talk, TalkFloors
from .streams import ORG, _stream_meta

log = logging.getLogger(__name__)

routes = web.RouteTableDef()


def _live(request: web.Request, stream_id: str) -> bool:
    return stream_id in request.config_dict[DEVICE_HUB].live_streams.live


async def _send(ws: web.WebSocketResponse, message: object) -> None:
    if not ws.closed:
        try:
            await ws.send_str(m.encode(message))
        except ConnectionError:
            pass


async def _announce(floors: TalkFloors, device: DeviceId, stream_id: str) -> None:
    """Every talk socket of the camera learns who holds its floor now."""
    talk = floors.holder(device)
    for ws in list(floors.watchers.get(device, ())):
        await _send(
            ws,
            wire_talk.TalkFloor(
                stream_id=stream_id, talker=talk.talker if talk else None, mine=talk is not None and talk.owner is ws
            ),
        )


async def _to_camera(request: web.Request, device: DeviceId, message: object) -> bool:
    session = request.config_dict[DEVICE_HUB].sessions.get(device)
    if session is None or session.ws.closed:
        return False
    try:
        await session.ws.send_str(m.encode(message))
    except ConnectionError:
        return False
    return True


# the talk under way on this socket, for the audit trail: the stream's metadata and when it began
TALK_STREAM = web.RequestKey("talk_stream", dict)
TALK_SINCE = web.RequestKey("talk_since", float)


async def _end(
    request: web.Request, floors: TalkFloors, ws: web.WebSocketResponse, device: DeviceId, reason: str
) -> Talk | None:
    talk = floors.release(device, ws)
    if talk is not None:
        since = request.pop(TALK_SINCE, None)
        if since is not None:  # issue 16 item 4: who talked to which camera, from when to when
            await audit.record(
                request,
                audit.TALKED,
                stream=request[TALK_STREAM],
                details={"from": since, "to": request.config_dict[APPLIANCE].clock.now()},
            )
        await _to_camera(
            request, device, wire_talk.TalkStop(stream_id=talk.stream_id, talk_id=talk.talk_id, reason=reason)
        )
        await _announce(floors, device, talk.stream_id)
    return talk


@routes.get(ORG + "/streams/{stream_id}/talk")
@access(ORG_MEMBER)
@counted_socket  # at most MAX_PER_ACCOUNT per account (docs/security.md)
async def talk_socket(request: web.Request) -> web.WebSocketResponse:
    meta = await _stream_meta(request)
    if not meta["live"]:
        raise Conflict("the stream has ended: there is no camera to talk to", code="stream_ended")
    ctx = request.config_dict[APPLIANCE]
    floors = request.config_dict[TALK]
    account = request[ACCOUNT_KEY]
    device = DeviceId(meta["system_id"], meta["serial"])
    stream_id = meta["id"]
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=m.MAX_TEXT_FRAME)
    request[TALK_STREAM] = meta
    await ws.prepare(request)
    request.config_dict[DEVICE_HUB].track_socket(ws)
    floors.watch(device, ws)
    try:
        current = floors.holder(device)
        await _send(ws, wire_talk.TalkFloor(stream_id=stream_id, talker=current.talker if current else None))
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                await _send(ws, m.Error(code="bad_message", message="talk frames are JSON text"))
                continue
            try:
                message = m.decode(msg.data, wire_talk.TALKER_MESSAGES)
            except m.ProtocolError as exc:
                await _send(ws, m.Error(code=exc.code, message=str(exc)))
                continue
            if not isinstance(message, wire_talk.TalkRelease) and not _live(request, stream_id):
                await _end(request, floors, ws, device, "stream_ended")  # talk-back goes through the live stream
                await _send(
                    ws, m.Error(code="stream_ended", message="the stream has ended: there is no camera to talk to")
                )
                break
            if isinstance(message, wire_talk.TalkTake):
                await _take(request, floors, ws, device, stream_id, account.name, message)
            elif isinstance(message, wire_talk.TalkAudio):
                talk = floors.holder(device)
                if talk is None or talk.owner is not ws:
                    await _send(ws, m.Error(code="floor_not_held", message="take the floor before talking"))
                    continue
                packet = wire_talk.TalkPacket(
                    stream_id=stream_id,
                    talk_id=talk.talk_id,
                    seq=message.seq,
                    data=message.data,
                    captured_at=message.captured_at,
                )
                if await _to_camera(request, device, packet):
                    ctx.count("talk_packets_relayed_total")
                else:
                    await _end(request, floors, ws, device, "camera_offline")
                    await _send(ws, m.Error(code="camera_offline", message="the camera is not connected now"))
            elif isinstance(message, wire_talk.TalkRelease):
                await _end(request, floors, ws, device, "released")
    finally:
        await _end(request, floors, ws, device, "talker_left")
        floors.unwatch(device, ws)
    return ws


async def _take(
    request: web.Request,
    floors: TalkFloors,
    ws: web.WebSocketResponse,
    device: DeviceId,
    stream_id: str,
    talker: str,
    message: wire_talk.TalkTake,
) -> None:
    previous = floors.holder(device)
    talk = floors.take(device, ws, talker, stream_id, message.talk_id)
    if talk is None:
        assert previous is not None
        await _send(ws, m.Error(code="floor_busy", message=f"{previous.talker} is talking to this camera"))
        return
    if previous is not None:  # the same talker starts a new talk: end the old one on the camera
        await _to_camera(
            request, device, wire_talk.TalkStop(stream_id=stream_id, talk_id=previous.talk_id, reason="new_talk")
        )
    if not await _to_camera(
        request, device, wire_talk.TalkStart(stream_id=stream_id, talk_id=talk.talk_id, operator=talker)
    ):
        floors.release(device, ws)
        await _send(ws, m.Error(code="camera_offline", message="the camera is not connected now"))
        return
    request[TALK_SINCE] = request.config_dict[APPLIANCE].clock.now()
    await _announce(floors, device, stream_id)
