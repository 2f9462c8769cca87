"""The fleets' control link and the cameras' physical actions (L1, L2): ``GET /api/lab/fleet``
(a fleet's WebSocket), ``GET /api/lab/events`` (the Lab panel's live feed), ``GET /api/lab/cameras``
and ``POST /api/lab/cameras/{serial}/actions``."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from aiohttp import WSMsgType, web

from bwlab.wire import fleet_link
from bwlab.wire.messages import ProtocolError

from ...context import APPLIANCE
from ...http import LAB, access, json_response, read_body
from ..fleet import FLEET
from ..network import LAB_NETWORK

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

ACTION_TIMEOUT = 20.0


@dataclass(frozen=True)
class CameraAction(fleet_link.CameraAction):
    """A physical action on a camera: its buttons, its dock (the fleet link's actions but the
    frame log, which ``GET /api/lab/cameras/{serial}/pcap`` asks for)."""

    action: str = field(metadata={"choices": tuple(a for a in fleet_link.ACTIONS if a != "frames")})


@routes.get("/fleet")
@access(LAB)
async def fleet_socket(request: web.Request) -> web.WebSocketResponse:
    """A fleet process connects here, says which cameras it runs, reports their state, and
    carries out the actions the Lab panel and the CLI ask for."""
    link = request.config_dict[FLEET]
    ctx = request.config_dict[APPLIANCE]
    network = request.config_dict[LAB_NETWORK]
    ws = web.WebSocketResponse(heartbeat=20.0, max_msg_size=64 * 1024 * 1024)  # frame logs for pcaps
    await ws.prepare(request)
    outbox = link.attach(ws)
    link.all.add(ws)
    link.send(ws, fleet_link.Clock(offset=ctx.clock.offset))
    link.send(ws, network.faults_message())
    writer = asyncio.create_task(link.pump(ws, outbox), name="fleet link writer")
    mine: set[str] = set()
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                message = fleet_link.decode(msg.data, fleet_link.FROM_FLEET)
            except ProtocolError as exc:
                log.warning("fleet link: a message is ignored: %s", exc)
                continue
            if isinstance(message, fleet_link.Register):
                for serial in message.serials[: fleet_link.MAX_SERIALS]:
                    link.sockets[serial] = ws
                    mine.add(serial)
                network.declare(ws, message.world)  # its APs, cells, SIM cards: what faults may change
            elif isinstance(message, fleet_link.State):
                link.states[message.serial] = message.state
                await link.broadcast(message, to_fleets=False)
            elif isinstance(message, fleet_link.Result):
                future = link.pending.pop(str(message.id), None)
                if future is not None and not future.done():
                    future.set_result(message)
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        network.forget(ws)
        for serial in mine:
            if link.sockets.get(serial) is ws:
                del link.sockets[serial]
    return ws


@routes.get("/events")
@access(LAB)
async def lab_events(request: web.Request) -> web.WebSocketResponse:
    """The Lab panel's live feed: every camera's physical state as it changes."""
    link = request.config_dict[FLEET]
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    outbox = link.attach(ws)  # what changes while the snapshot is written is queued behind it
    link.listeners.add(ws)
    for serial, state in list(link.states.items()):
        await ws.send_str(fleet_link.encode(fleet_link.State(serial=serial, state=state)))
    writer = asyncio.create_task(link.pump(ws, outbox), name="lab events writer")
    try:
        async for _ in ws:
            pass
    finally:
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
    return ws


@routes.get("/cameras")
@access(LAB)
async def lab_cameras(request: web.Request) -> web.Response:
    link = request.config_dict[FLEET]
    return json_response(
        {
            "cameras": [
                {"serial": s, "running": s in link.sockets, "state": link.states.get(s)} for s in sorted(link.states)
            ]
        }
    )


@routes.post("/cameras/{serial}/actions")
@access(LAB)
async def camera_action(request: web.Request) -> web.Response:
    """Press a camera's button, dock or undock it: the fleet running it does it."""
    link = request.config_dict[FLEET]
    body = await read_body(request, CameraAction)
    serial = request.match_info["serial"].upper()
    result = await link.ask(serial, body, ACTION_TIMEOUT)
    return json_response(
        {
            "serial": serial,
            "state": result.state,
            "stats": result.stats,
            "press": result.press,
            "speaker": result.speaker,
        }
    )
