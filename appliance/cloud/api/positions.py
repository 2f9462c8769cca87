"""The web client's map API (/api/cloud/orgs/{org_id}/…): live positions, location tracks and
the site plan (SPEC D9, S11, S17, L4).

``GET …/positions`` (WebSocket) is the organization-wide live feed the map subscribes to:

1. ``{"type": "hello", "server_time", "window"}``;
2. for each camera still reporting, the ``container`` it reports through (stream or location
   track: camera, camera user, and the wrapped content key, docs/e2e-envelope.md §5) followed by
   its position chunk frames of the last ``window`` seconds (binary, bwlab.wire.chunk, kind 3);
3. ``{"type": "live_edge"}``;
4. live: a ``container`` message whenever a camera starts reporting through a new container,
   every position chunk frame as it lands, and ``{"type": "closed", "id", "serial"}`` when a
   container ends (docked, recording stopped; a camera switching from a track to a stream gets
   the new container right after).

The server sends ciphertext only: the browser unwraps each container's key with the system key
from the link with key and opens every position. A map that falls behind by more than the
queue holds is closed with code 4408 and reconnects.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from ...context import APPLIANCE
from ...devices import DEVICE_HUB, FEED_WINDOW
from ...errors import NotFound
from ...fanout import TooSlow
from ...http import ORG_MEMBER, access, json_response
from ...lab import store as lab_store
from ..socket_limits import counted_socket
from .streams import _CLOSED, _drain, _next

routes = web.RouteTableDef()

ORG = "/orgs/{org_id}"
TRAIL_SECONDS = 25  # D9: trails of the last 20 to 30 seconds


@routes.get(ORG + "/positions")
@access(ORG_MEMBER)
@counted_socket  # at most MAX_PER_ACCOUNT per account (docs/security.md)
async def positions_feed(request: web.Request) -> web.WebSocketResponse:
    """D9: the live positions of the organization's camera users, sealed (see the module doc)."""
    registry = request.config_dict[DEVICE_HUB]
    hub = registry.live_positions
    org_id = request.match_info["org_id"]
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    registry.track_socket(ws)
    queue, snapshot = hub.subscribe(org_id)
    reader = asyncio.create_task(_drain(ws), name=f"positions reader {org_id}")
    try:
        await ws.send_json(
            {"type": "hello", "server_time": request.config_dict[APPLIANCE].clock.now(), "window": FEED_WINDOW}
        )
        for item in snapshot:
            await _send(ws, item)
        await ws.send_json({"type": "live_edge"})
        while not ws.closed:
            item = await _next(queue, reader)
            if item is _CLOSED:
                break
            await _send(ws, item)
    except TooSlow:
        await ws.close(code=4408, message=b"map too slow; rejoin")
    finally:
        hub.unsubscribe(org_id, queue)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        await ws.close()
    return ws


async def _send(ws: web.WebSocketResponse, item) -> None:
    if isinstance(item, bytes):
        await ws.send_bytes(item)
    else:
        await ws.send_json(item)


@routes.get(ORG + "/location-tracks")
@access(ORG_MEMBER)
async def location_tracks(request: web.Request) -> web.Response:
    """Location tracks (S11 positions reported outside a stream), kept 24 h: metadata in clear."""
    hub = request.config_dict[DEVICE_HUB].live_positions
    live_only = request.query.get("state") == "live"
    return json_response({"tracks": await hub.track_metadata(request.match_info["org_id"], live_only=live_only)})


@routes.get(ORG + "/location-tracks/{track_id}")
@access(ORG_MEMBER)
@counted_socket  # at most MAX_PER_ACCOUNT per account (docs/security.md)
async def location_track(request: web.Request) -> web.WebSocketResponse:
    """A location track's positions: its metadata (with the wrapped key), every sealed position, ``end``."""
    hub = request.config_dict[DEVICE_HUB].live_positions
    tracks = await hub.track_metadata(request.match_info["org_id"])
    meta = next((t for t in tracks if t["id"] == request.match_info["track_id"]), None)
    if meta is None:
        raise NotFound("no such location track in this organization")
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    await ws.send_json({"type": "track", "track": meta})
    for frame in await hub.track_frames(meta["id"]):
        await ws.send_bytes(frame)
    await ws.send_json({"type": "end", "track_id": meta["id"]})
    await ws.close()
    return ws


@routes.get(ORG + "/map")
@access(ORG_MEMBER)
async def map_config(request: web.Request) -> web.Response:
    """The map's basemap: the lab's site plan (streets, buildings, access points with coverage,
    band and channel) and the tile server, if one is configured (L4)."""
    plan = await lab_store.site_plan(request.config_dict[APPLIANCE].db)
    if plan is None:
        plan = {"site": None, "access_points": []}
    site = plan.get("site") or {}
    return json_response(
        {
            "site": plan.get("site"),
            "access_points": plan.get("access_points", []),
            "tile_url": site.get("tile_url"),
            "trail_seconds": TRAIL_SECONDS,
            "window": FEED_WINDOW,
        }
    )
