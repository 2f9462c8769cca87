"""The lab's own API (/api/lab): the state of the whole lab, the lab clock and time travel (L2),
the fleets' control link and the cameras' physical actions. The lab network's API (NTP, faults,
troubleshooting pages, diagnosis, pcap) is in ``network.py``.

Everything here needs the lab token: it is the trainers' and the fleet's door to the physical
world, which no cloud account or Manager administrator has.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import weakref
from dataclasses import dataclass, field, fields, replace
from typing import Any

from aiohttp import WSMsgType, web

from bwlab.wire import fleet_link
from bwlab.wire.messages import ProtocolError

from ..auth import LAB_COOKIE, set_cookie
from ..context import APPLIANCE
from ..controller import store as controller_store
from ..errors import Conflict, Unauthenticated
from ..fanout import FeedEnded, Subscriber, TooSlow
from ..http import LAB, PUBLIC, access, json_response, read_body
from ..hub import store as hub_store
from ..hub.registry import HUB
from ..throttle import throttled
from . import store as lab_store
from .network import LAB_NETWORK, setup_network
from .network import routes as network_routes
from .settings import routes as settings_routes
from .site import routes as site_routes

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

MAX_TRAVEL = 400 * 86400


@dataclass(frozen=True)
class Travel:
    seconds: float = field(metadata={"min": 0, "max": MAX_TRAVEL})


@dataclass(frozen=True)
class LabLogin:
    token: str = field(metadata={"max_len": 200})


def setup_lab(app: web.Application) -> None:
    lab = web.Application()
    lab.add_routes(routes)
    lab.add_routes(site_routes)  # the map's site plan (D9, L4)
    lab.add_routes(settings_routes)  # what the trainer allows (docs/security.md)
    lab.add_routes(network_routes)  # NTP, faults, troubleshooting, diagnosis, pcap (S1, T1-T4, L2-L4)
    app[FLEET] = FleetLink()
    setup_network(app, app[FLEET], travel=lambda seconds: travel_lab_time(app, seconds))
    app.add_subapp("/api/lab", lab)

    async def close_fleet_sockets(app: web.Application) -> None:
        link = app[FLEET]
        for ws in list(link.all) + list(link.listeners):
            await ws.close(code=1001, message=b"appliance shutting down")

    app.on_shutdown.append(close_fleet_sockets)


@routes.post("/login")
@access(PUBLIC)
async def login(request: web.Request) -> web.Response:
    """The Lab panel signs in with the lab token and gets a cookie."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, LabLogin)

    async def check():
        return True if secrets.compare_digest(body.token.encode(), ctx.lab_token.encode()) else None

    await throttled(request, None, check, Unauthenticated("wrong lab token", code="bad_credentials"))
    response = json_response({"lab": True})
    set_cookie(response, LAB_COOKIE, ctx.lab_token)
    return response


@routes.get("/time")
@access(LAB)
async def get_time(request: web.Request) -> web.Response:
    """Lab time, the travel offset, and the lab's NTP server (S1: fleets sync their cameras to it)."""
    clock = request.config_dict[APPLIANCE].clock
    return json_response({"lab_time": clock.now(), "offset": clock.offset,
                          "ntp": request.config_dict[LAB_NETWORK].ntp_info()})


async def travel_lab_time(app: Any, seconds: float) -> float:
    """Move lab time forward, keep the offset across restarts, and tell every fleet (L2)."""
    ctx = app[APPLIANCE]
    if seconds < 0:
        raise ValueError("lab time only travels forward")
    # kept first, moved after: a travel that cannot be kept (a full disk) changes nothing
    await lab_store.save_clock_offset(ctx.db, ctx.clock.offset + seconds)
    offset = ctx.clock.travel(seconds)
    await app[FLEET].travelled(offset)
    return offset


@routes.post("/time/travel")
@access(LAB)
async def travel(request: web.Request) -> web.Response:
    """L2: move lab time forward; every rule that reads the clock sees it at once."""
    body = await read_body(request, Travel)
    offset = await travel_lab_time(request.config_dict, body.seconds)
    return json_response({"lab_time": request.config_dict[APPLIANCE].clock.now(), "offset": offset})


@routes.get("/status")
@access(LAB)
async def status(request: web.Request) -> web.Response:
    """The running lab at a glance: systems and their connection, cameras with model, dock
    state, certificate expiry and stream state (what ``bwlab status`` prints)."""
    ctx = request.config_dict[APPLIANCE]
    now = ctx.clock.now()
    systems = await controller_store.systems_with_connection(ctx.controller_db)
    cameras = await controller_store.cameras_for_status(ctx.controller_db)
    hub = await hub_store.device_states(ctx.db)  # by (system, serial)
    streams = request.config_dict[HUB].streams
    live = {(s.meta.get("system_id"), s.meta.get("serial")) for s in streams.live.values()} if streams is not None else set()
    fleet_states = request.config_dict[FLEET].states
    out_systems = []
    for s, conn in systems:
        out_systems.append({
            "id": s["id"], "name": s["name"], "connected": conn.connected,
            "connection_state": conn.state, "cloud_system_id": conn.cloud_system_id,
            "organization": conn.org_name, "region": conn.region,
            "cameras": [],
        })
    by_id = {s["id"]: s for s in out_systems}
    for c in cameras:
        device = (by_id[c["system_id"]]["cloud_system_id"], c["serial"])
        seen = hub.get(device)
        state = json.loads(seen["state"]) if seen and seen["state"] else {}
        by_id[c["system_id"]]["cameras"].append({
            "serial": c["serial"], "model": c["model"], "camera_user": c["user_name"],
            "docked": c["dock_id"] is not None, "dock": c["dock_name"], "bay": c["bay"],
            "cert_not_after": c["cert_not_after"],
            "cert_valid": c["cert_not_after"] is not None and now < c["cert_not_after"],
            "online": bool(seen and seen["online"]),
            "stream": _stream_state(device in live, fleet_states.get(c["serial"]) or state),
            "recording": (fleet_states.get(c["serial"]) or state).get("recording"),
            "last_refusal": json.loads(seen["last_refusal"]) if seen and seen["last_refusal"] else None,
        })
    return json_response({"lab_time": now, "clock_offset": ctx.clock.offset, "url": ctx.config.url,
                          "systems": out_systems})


def _stream_state(hub_live: bool, camera_state: dict) -> str | None:
    """``live`` only while the device hub holds the camera's stream open; otherwise what the
    camera says of its stream (connecting, error) — never a ``live`` the hub has already ended
    (certificate expiry, a restart), which a camera cut off from the hub may still report."""
    if hub_live:
        return "live"
    reported = camera_state.get("streaming")
    return None if reported == "live" else reported


# ---- the fleet: camera processes that connect here to be driven by the Lab panel and the CLI ----


CLOCK_TIMEOUT = 10.0  # the longest a travel waits for a fleet to take the new lab time
OUTBOX = 1024  # messages a fleet or a Lab panel may fall behind before it is cut off (it reconnects)


class FleetLink:
    """The fleets connected now, which camera each one runs, and the cameras' physical state.

    Every message to a socket goes through its own bounded outbox (``appliance.fanout``) and a
    task that writes it: a broadcast never waits for a socket, so one slow fleet or Lab panel
    stalls no other; one that falls ``OUTBOX`` messages behind is closed (4408) and reconnects."""

    def __init__(self) -> None:
        self.sockets: dict[str, web.WebSocketResponse] = {}  # serial → the fleet socket running it
        self.states: dict[str, dict] = {}
        self.pending: dict[str, "asyncio.Future[fleet_link.Result]"] = {}
        self.all: "weakref.WeakSet[web.WebSocketResponse]" = weakref.WeakSet()
        self.listeners: "weakref.WeakSet[web.WebSocketResponse]" = weakref.WeakSet()
        self.outboxes: "weakref.WeakKeyDictionary[web.WebSocketResponse, Subscriber[fleet_link.Message]]" = \
            weakref.WeakKeyDictionary()
        self.dropped = 0  # messages lost to sockets that were cut off

    def attach(self, ws: web.WebSocketResponse) -> Subscriber[fleet_link.Message]:
        """Give ``ws`` its outbox (before anything is sent to it through ``send``)."""
        outbox: Subscriber[fleet_link.Message] = Subscriber(OUTBOX)
        self.outboxes[ws] = outbox
        return outbox

    def send(self, ws: web.WebSocketResponse, message: fleet_link.Message) -> bool:
        """Queue ``message`` for ``ws`` without waiting; False when it is closed or cut off."""
        outbox = self.outboxes.get(ws)
        if outbox is None or ws.closed:
            return False
        before = outbox.dropped
        queued = outbox.offer(message)
        self.dropped += outbox.dropped - before
        return queued

    @staticmethod
    async def pump(ws: web.WebSocketResponse, outbox: Subscriber[fleet_link.Message]) -> None:
        """Write the outbox to the socket, in order, until it closes (run as the socket's task)."""
        try:
            while not ws.closed:
                await ws.send_str(fleet_link.encode(await outbox.get()))
        except TooSlow:
            await ws.close(code=4408, message=b"too slow; reconnect")
        except (ConnectionError, FeedEnded):
            pass

    async def ask(self, serial: str, action: fleet_link.CameraAction, timeout: float) -> fleet_link.Result:
        """Have the fleet running ``serial`` carry out ``action`` and return its result;
        ``Conflict`` when no fleet runs the camera, it does not answer, or it refuses."""
        ws = self.sockets.get(serial)
        if ws is None or ws.closed:
            raise Conflict(f"no running fleet has camera {serial}; start one with `bwlab fleet`", code="camera_not_running")
        action_id = secrets.token_hex(8)
        future: asyncio.Future[fleet_link.Result] = asyncio.get_running_loop().create_future()
        self.pending[action_id] = future
        self.send(ws, fleet_link.Action(**{f.name: getattr(action, f.name) for f in fields(fleet_link.CameraAction)},
                                  id=action_id, serial=serial))
        try:
            result = await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise Conflict(f"camera {serial} did not answer within {timeout:.0f} s", code="camera_timeout") from None
        finally:
            self.pending.pop(action_id, None)
        if not result.ok:
            raise Conflict(result.error or "the camera refused", code=result.code or "action_failed")
        return result

    async def travelled(self, offset: float, timeout: float = CLOCK_TIMEOUT) -> None:
        """Tell every fleet the new lab time and wait (at most ``timeout``) until each has taken
        it and renewed its docked cameras (D1): when a travel returns, the cameras live at the new
        time, so a dock, an undock or a check that follows never meets a fleet still in the past
        (whose dock would hand a camera a controller time days off its own clock)."""
        message = fleet_link.Clock(offset=offset)
        waits: dict[str, asyncio.Future[fleet_link.Result]] = {}
        for ws in list(self.all):
            if ws.closed:
                continue
            clock_id = secrets.token_hex(8)
            waits[clock_id] = self.pending[clock_id] = asyncio.get_running_loop().create_future()
            if not self.send(ws, replace(message, id=clock_id)):
                waits.pop(clock_id).cancel()
                self.pending.pop(clock_id, None)
        try:
            if waits:
                await asyncio.wait(waits.values(), timeout=timeout)
        finally:
            for clock_id in waits:
                self.pending.pop(clock_id, None)
        await self.broadcast(message, to_fleets=False)

    async def broadcast(self, message: fleet_link.Message, *, to_fleets: bool = True, to_listeners: bool = True) -> None:
        """Queue ``message`` for every fleet and/or Lab panel; waits for none of them."""
        targets = (list(self.all) if to_fleets else []) + (list(self.listeners) if to_listeners else [])
        for ws in targets:
            self.send(ws, message)


FLEET = web.AppKey("fleet", FleetLink)
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
                for serial in message.serials[:fleet_link.MAX_SERIALS]:
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
    return json_response({"cameras": [
        {"serial": s, "running": s in link.sockets, "state": link.states.get(s)} for s in sorted(link.states)]})


@routes.post("/cameras/{serial}/actions")
@access(LAB)
async def camera_action(request: web.Request) -> web.Response:
    """Press a camera's button, dock or undock it: the fleet running it does it."""
    link = request.config_dict[FLEET]
    body = await read_body(request, CameraAction)
    serial = request.match_info["serial"].upper()
    result = await link.ask(serial, body, ACTION_TIMEOUT)
    return json_response({"serial": serial, "state": result.state, "stats": result.stats, "press": result.press})
