"""The lab's own API (/api/lab): the state of the whole lab, the lab clock and time travel (L2).

Everything here needs the lab token: it is the trainers' and the fleet's door to the physical
world, which no cloud account or Manager administrator has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from aiohttp import web

from ..auth import LAB_COOKIE, set_cookie
from ..context import APPLIANCE
from ..errors import Unauthenticated
from ..http import LAB, PUBLIC, access, json_response, read_body

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
    app.add_subapp("/api/lab", lab)


@routes.post("/login")
@access(PUBLIC)
async def login(request: web.Request) -> web.Response:
    """The Lab panel signs in with the lab token and gets a cookie."""
    import secrets

    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, LabLogin)
    if not secrets.compare_digest(body.token, ctx.lab_token):
        raise Unauthenticated("wrong lab token", code="bad_credentials")
    response = json_response({"lab": True})
    set_cookie(response, LAB_COOKIE, ctx.lab_token)
    return response


@routes.get("/time")
@access(LAB)
async def get_time(request: web.Request) -> web.Response:
    clock = request.config_dict[APPLIANCE].clock
    return json_response({"lab_time": clock.now(), "offset": clock.offset})


@routes.post("/time/travel")
@access(LAB)
async def travel(request: web.Request) -> web.Response:
    """L2: move lab time forward; every rule that reads the clock sees it at once."""
    ctx = request.config_dict[APPLIANCE]
    body = await read_body(request, Travel)
    offset = ctx.clock.travel(body.seconds)
    await ctx.db.execute(
        "INSERT INTO lab_state (key, value) VALUES ('clock_offset', ?) "
        "ON CONFLICT(key) DO UPDATE SET value = excluded.value", (repr(offset),))
    return json_response({"lab_time": ctx.clock.now(), "offset": offset})


@routes.get("/status")
@access(LAB)
async def status(request: web.Request) -> web.Response:
    """The running lab at a glance: systems and their connection, cameras with model, dock
    state, certificate expiry and stream state (what ``bwlab status`` prints)."""
    ctx = request.config_dict[APPLIANCE]
    now = ctx.clock.now()
    systems = await ctx.db.fetchall("SELECT id, name, connection FROM ctl_systems ORDER BY created_at")
    cameras = await ctx.db.fetchall(
        "SELECT c.*, u.name AS user_name, d.name AS dock_name, s.online, s.state, s.last_refusal "
        "FROM ctl_cameras c LEFT JOIN ctl_camera_users u ON u.id = COALESCE(c.docked_user_id, c.camera_user_id) "
        "LEFT JOIN ctl_docks d ON d.id = c.dock_id LEFT JOIN device_state s ON s.serial = c.serial "
        "ORDER BY c.system_id, c.serial")
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
        state = json.loads(c["state"]) if c["state"] else {}
        by_id[c["system_id"]]["cameras"].append({
            "serial": c["serial"], "model": c["model"], "camera_user": c["user_name"],
            "docked": c["dock_id"] is not None, "dock": c["dock_name"], "bay": c["bay"],
            "cert_not_after": c["cert_not_after"],
            "cert_valid": c["cert_not_after"] is not None and now < c["cert_not_after"],
            "online": bool(c["online"]),
            "stream": state.get("streaming"),
            "recording": state.get("recording"),
            "last_refusal": json.loads(c["last_refusal"]) if c["last_refusal"] else None,
        })
    return json_response({"lab_time": now, "clock_offset": ctx.clock.offset, "url": ctx.config.url,
                          "systems": out_systems})
