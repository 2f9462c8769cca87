"""Settings > Camera: Wi-Fi networks (S8 option 1)."""

from __future__ import annotations

from aiohttp import web

from ...errors import Conflict, NotFound
from ...http import MANAGER, access, json_response, read_body
from ...ids import new_id
from .. import store
from ..provisioning import WifiCredential
from .request import API, db, system_id

routes = web.RouteTableDef()


@routes.get(API + "/wifi-networks")
@access(MANAGER)
async def list_wifi(request: web.Request) -> web.Response:
    rows = await store.wifi_networks(db(request), system_id(request))
    return json_response({"wifi_networks": [dict(r) for r in rows]})


@routes.post(API + "/wifi-networks")
@access(MANAGER)
async def add_wifi(request: web.Request) -> web.Response:
    body = await read_body(request, WifiCredential)
    sid = system_id(request)
    if await store.wifi_exists(db(request), sid, body.ssid):
        raise Conflict(f"a network named {body.ssid!r} exists already", code="exists")
    net_id = new_id("net")
    await store.add_wifi(db(request), net_id, sid, body.ssid, body.password)
    return json_response({"id": net_id, "ssid": body.ssid}, status=201)


@routes.delete(API + "/wifi-networks/{network_id}")
@access(MANAGER)
async def delete_wifi(request: web.Request) -> web.Response:
    sid = system_id(request)
    row = await store.wifi_by_ref(db(request), sid, request.match_info["network_id"])
    if row is None:
        raise NotFound("no such Wi-Fi network")
    profile = await store.profile_using_ssid(db(request), sid, row["ssid"])
    if profile is not None:
        raise Conflict(f"the network is assigned to profile {profile!r}; unassign it first", code="in_use")
    await store.delete_wifi(db(request), sid, row["ssid"])
    return json_response({"deleted": row["ssid"]})
