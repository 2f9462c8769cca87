"""The lab's own API (/api/lab): the state of the whole lab, the lab clock and time travel (L2),
the fleets' control link and the cameras' physical actions. The lab network's API (NTP, faults,
troubleshooting pages, diagnosis, pcap) is in ``network.py``.

Everything here needs the lab token: it is the trainers' and the fleet's door to the physical
world, which no cloud account or Manager administrator has.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import weakref
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bwlab import schema
from bwlab.wire import health as wire_health
from bwlab.wire import jsontext

from ..auth import LAB_COOKIE, set_cookie
from ..context import APPLIANCE
from ..errors import Conflict, Unauthenticated
from ..http import LAB, PUBLIC, access, json_response, read_body
from ..hub.routes import HUB
from ..throttle import throttled
from .network import LAB_NETWORK, setup_network
from .network import routes as network_routes
from .settings import routes as settings_routes
from .site import routes as site_routes

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
    await ctx.db.execute(
        "INSERT INTO lab_state (key, value) VALUES ('clock_offset', ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (repr(ctx.clock.offset + seconds),))
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
    systems = await ctx.controller_db.fetchall("SELECT id, name, connection FROM ctl_systems ORDER BY created_at")
    cameras = await ctx.controller_db.fetchall(
        "SELECT c.*, u.name AS user_name, d.name AS dock_name "
        "FROM ctl_cameras c LEFT JOIN ctl_camera_users u ON u.id = COALESCE(c.docked_user_id, c.camera_user_id) "
        "LEFT JOIN ctl_docks d ON d.id = c.dock_id ORDER BY c.system_id, c.serial")
    hub = {(r["cloud_system_id"], r["serial"]): r for r in await ctx.db.fetchall(
        "SELECT cloud_system_id, serial, online, state, last_refusal, health, last_seen_at FROM device_state")}
    streams = request.config_dict[HUB].streams
    live = {(s.meta.get("system_id"), s.meta.get("serial")) for s in streams.live.values()} if streams is not None else set()
    fleet_states = request.config_dict[FLEET].states
    out_systems = []
    for s in systems:
        conn = json.loads(s["connection"])
        out_systems.append({
            "id": s["id"], "name": s["name"], "connected": conn.get("state") == "connected",
            "connection_state": conn.get("state"), "cloud_system_id": conn.get("cloud_system_id"),
            "organization": conn.get("org_name"), "region": conn.get("region"),
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
            "health": wire_health.summary(seen["health"], seen["last_seen_at"]) if seen else None,  # issue 16 item 5
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


class FleetLink:
    """The fleets connected now, which camera each one runs, and the cameras' physical state."""

    def __init__(self) -> None:
        self.sockets: dict[str, web.WebSocketResponse] = {}  # serial → the fleet socket running it
        self.states: dict[str, dict] = {}
        self.pending: dict[str, "asyncio.Future[dict]"] = {}
        self.all: "weakref.WeakSet[web.WebSocketResponse]" = weakref.WeakSet()
        self.listeners: "weakref.WeakSet[web.WebSocketResponse]" = weakref.WeakSet()

    async def ask(self, serial: str, body: dict, timeout: float) -> dict:
        """Have the fleet running ``serial`` carry out ``body`` (an action) and return its result;
        ``Conflict`` when no fleet runs the camera, it does not answer, or it refuses."""
        ws = self.sockets.get(serial)
        if ws is None or ws.closed:
            raise Conflict(f"no running fleet has camera {serial}; start one with `bwlab fleet`", code="camera_not_running")
        action_id = secrets.token_hex(8)
        future: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
        self.pending[action_id] = future
        await ws.send_json({"type": "action", "id": action_id, "serial": serial, **body})
        try:
            result = await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            raise Conflict(f"camera {serial} did not answer within {timeout:.0f} s", code="camera_timeout") from None
        finally:
            self.pending.pop(action_id, None)
        if not result.get("ok"):
            raise Conflict(result.get("error") or "the camera refused", code=result.get("code") or "action_failed")
        return result

    async def travelled(self, offset: float, timeout: float = CLOCK_TIMEOUT) -> None:
        """Tell every fleet the new lab time and wait (at most ``timeout``) until each has taken
        it and renewed its docked cameras (D1): when a travel returns, the cameras live at the new
        time, so a dock, an undock or a check that follows never meets a fleet still in the past
        (whose dock would hand a camera a controller time days off its own clock)."""
        message = {"type": "clock", "offset": offset}
        waits: dict[str, asyncio.Future[dict]] = {}
        for ws in list(self.all):
            if ws.closed:
                continue
            clock_id = secrets.token_hex(8)
            waits[clock_id] = self.pending[clock_id] = asyncio.get_running_loop().create_future()
            try:
                await ws.send_json({**message, "id": clock_id})
            except ConnectionError:
                waits.pop(clock_id).cancel()
        try:
            if waits:
                await asyncio.wait(waits.values(), timeout=timeout)
        finally:
            for clock_id in waits:
                self.pending.pop(clock_id, None)
        await self.broadcast(message, to_fleets=False)

    async def broadcast(self, message: dict, *, to_fleets: bool = True, to_listeners: bool = True) -> None:
        targets = (list(self.all) if to_fleets else []) + (list(self.listeners) if to_listeners else [])
        for ws in targets:
            if not ws.closed:
                try:
                    await ws.send_json(message)
                except ConnectionError:
                    pass


FLEET = web.AppKey("fleet", FleetLink)
ACTION_TIMEOUT = 20.0


@dataclass(frozen=True)
class CameraAction:
    """A physical action on a camera: its buttons, its dock."""

    action: str = field(metadata={"choices": ("press", "dock", "undock", "network", "skew", "stats", "gps", "move",
                                              "bookmark", "category")})
    button: str | None = field(default=None, metadata={"choices": ("record", "function", "top")})
    gesture: str = field(default="press", metadata={"choices": ("press", "double", "long")})
    dock: str | None = field(default=None, metadata={"max_len": 80})
    bay: int | None = field(default=None, metadata={"min": 1, "max": 8})
    camera_user: str | None = field(default=None, metadata={"max_len": 80})
    up: bool | None = None
    mode: str | None = field(default=None, metadata={"choices": ("WLAN", "LTE")})
    seconds: float | None = field(default=None, metadata={"min": -10 * 86400, "max": 10 * 86400})
    fix: bool | None = None  # action "gps": the GPS gets (true) or loses (false) its fix (D9)
    position: list[float] | None = field(default=None, metadata={"max_items": 2})  # action "move": [x, y] m
    text: str | None = field(default=None, metadata={"max_len": 1024})  # action "bookmark" (issue 13)
    tags: str | None = field(default=None, metadata={"max_len": 256})
    category_id: str | None = field(default=None, metadata={"max_len": 64})  # action "category"
    category_name: str | None = field(default=None, metadata={"max_len": 64})

    def __post_init__(self):
        if self.action == "move" and (self.position is None or len(self.position) != 2):
            raise ValueError("position: required for a move ([x, y] in metres on the site; seconds: walk time)")
        if self.action == "skew" and self.seconds is None:
            raise ValueError("seconds: required for a clock skew (the camera clock's offset from lab time)")
        if self.action == "gps" and self.fix is None:
            raise ValueError("fix: required for gps (true: the GPS has a fix, false: it lost it)")
        if self.action == "category" and (not self.category_id or not self.category_name):
            raise ValueError("category_id and category_name: required for a category (issue 13)")
        if self.action == "press" and self.button is None:
            raise ValueError("button: required for a press (record, function or top)")


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
    link.all.add(ws)
    await ws.send_json({"type": "clock", "offset": ctx.clock.offset})
    await ws.send_json(network.faults_message())
    mine: set[str] = set()
    try:
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            try:
                data = jsontext.loads(msg.data)
                kind = data.get("type")
            except (jsontext.JSONTextError, AttributeError):
                continue
            if kind == "register":
                for serial in data.get("serials", [])[:1000]:
                    link.sockets[str(serial)] = ws
                    mine.add(str(serial))
                network.declare(ws, data.get("world"))  # its APs, cells, SIM cards: what faults may change
            elif kind == "state" and isinstance(data.get("state"), dict):
                serial = str(data.get("serial"))
                link.states[serial] = data["state"]
                await link.broadcast({"type": "state", "serial": serial, "state": data["state"]}, to_fleets=False)
            elif kind == "result":
                future = link.pending.pop(str(data.get("id")), None)
                if future is not None and not future.done():
                    future.set_result(data)
    finally:
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
    link.listeners.add(ws)
    for serial, state in list(link.states.items()):
        await ws.send_json({"type": "state", "serial": serial, "state": state})
    async for _ in ws:
        pass
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
    result = await link.ask(serial, schema.as_json(body), ACTION_TIMEOUT)
    return json_response({"serial": serial, "state": result.get("state"), "stats": result.get("stats"),
                          "press": result.get("press")})
