"""The running lab at a glance (``GET /api/lab/status``, what ``bwlab status`` prints)."""

from __future__ import annotations

import json

from aiohttp import web

from bwlab.wire import health as wire_health

from ...context import APPLIANCE
from ...controller import store as controller_store
from ...devices import DEVICE_HUB
from ...http import LAB, access, json_response
from ...hub import store as hub_store
from ..fleet import FLEET

routes = web.RouteTableDef()


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
    streams = request.config_dict[DEVICE_HUB].live_streams
    live = {(s.meta.get("system_id"), s.meta.get("serial")) for s in streams.live.values()}
    fleet_states = request.config_dict[FLEET].states
    out_systems = []
    for s, conn in systems:
        out_systems.append(
            {
                "id": s["id"],
                "name": s["name"],
                "connected": conn.connected,
                "connection_state": conn.state,
                "cloud_system_id": conn.cloud_system_id,
                "organization": conn.org_name,
                "region": conn.region,
                "cameras": [],
            }
        )
    by_id = {s["id"]: s for s in out_systems}
    for c in cameras:
        device = (by_id[c["system_id"]]["cloud_system_id"], c["serial"])
        seen = hub.get(device)
        state = json.loads(seen["state"]) if seen and seen["state"] else {}
        by_id[c["system_id"]]["cameras"].append(
            {
                "serial": c["serial"],
                "model": c["model"],
                "camera_user": c["user_name"],
                "docked": c["dock_id"] is not None,
                "dock": c["dock_name"],
                "bay": c["bay"],
                "cert_not_after": c["cert_not_after"],
                "cert_valid": c["cert_not_after"] is not None and now < c["cert_not_after"],
                "online": bool(seen and seen["online"]),
                "stream": _stream_state(device in live, fleet_states.get(c["serial"]) or state),
                "recording": (fleet_states.get(c["serial"]) or state).get("recording"),
                "last_refusal": json.loads(seen["last_refusal"]) if seen and seen["last_refusal"] else None,
                "health": wire_health.summary(seen["health"], seen["last_seen_at"])
                if seen
                else None,  # issue 16 item 5
            }
        )
    return json_response(
        {"lab_time": now, "clock_offset": ctx.clock.offset, "url": ctx.config.url, "systems": out_systems}
    )


def _stream_state(hub_live: bool, camera_state: dict) -> str | None:
    """``live`` only while the device hub holds the camera's stream open; otherwise what the
    camera says of its stream (connecting, error) — never a ``live`` the hub has already ended
    (certificate expiry, a restart), which a camera cut off from the hub may still report."""
    if hub_live:
        return "live"
    reported = camera_state.get("streaming")
    return None if reported == "live" else reported
